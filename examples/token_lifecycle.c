/*
 * A token's life with a reusable client: the Native Flow, a refresh, the Web flow's code
 * exchange, and revocation.
 *
 *   CONCUR_CONSUMER_KEY=... CONCUR_LOGIN_ID=... CONCUR_PASSWORD=... CONCUR_CLIENT_SECRET=... \
 *   [CONCUR_CALLBACK_URL=... CONCUR_CALLBACK_STATE=...] ./token_lifecycle
 *
 * Secrets come from the environment. CONCUR_CALLBACK_URL is the URL Concur sent a user's
 * browser back to after the Login page printed here (an App Center listener's URL works too,
 * without a state). CONCUR_BASE_URL and CONCUR_CA_FILE are optional.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "concur_native.h"

struct token {
    char token[CONCUR_NATIVE_RECOMMENDED_CAPACITY], refresh[CONCUR_NATIVE_RECOMMENDED_CAPACITY];
    char expiration[128], instance[1024];
    concur_token_buffers out;
};

static concur_token_buffers *buffers(struct token *t) {
    concur_token_buffers out = {
        {t->token, sizeof t->token, 0},
        {t->refresh, sizeof t->refresh, 0},
        {t->expiration, sizeof t->expiration, 0},
        {t->instance, sizeof t->instance, 0},
        0,
        0,
    };
    t->out = out;
    return &t->out;
}

static int fail(const char *step, concur_status status, const char *error) {
    fprintf(stderr, "%s: %s: %s\n", step, concur_native_status_name(status), error);
    return 1;
}

int main(void) {
    const char *key = getenv("CONCUR_CONSUMER_KEY"), *login = getenv("CONCUR_LOGIN_ID");
    const char *secret = getenv("CONCUR_CLIENT_SECRET");
    if (key == NULL || login == NULL || secret == NULL) {
        fprintf(stderr, "set CONCUR_CONSUMER_KEY, CONCUR_LOGIN_ID, CONCUR_PASSWORD, CONCUR_CLIENT_SECRET\n");
        return 2;
    }
    concur_options options;
    memset(&options, 0, sizeof options);
    options.base_url = getenv("CONCUR_BASE_URL");
    options.ca_file = getenv("CONCUR_CA_FILE");

    char error[CONCUR_NATIVE_ERROR_CAPACITY];
    concur_client *client = NULL;
    concur_status status = concur_client_new(&options, &client, error, sizeof error);
    if (status != CONCUR_OK) return fail("client", status, error);

    static struct token first, refreshed, exchanged;
    int rc = 0;
    status = concur_client_native_token(client, key, login, getenv("CONCUR_PASSWORD"), buffers(&first), error,
                                        sizeof error);
    if (status != CONCUR_OK) {
        rc = fail("native", status, error);
        goto done;
    }
    printf("Native token:    %s (expires %s)\n", first.token, first.expiration);

    /* Refresh at the instance URL the answer named (this client's base works here too). */
    status = concur_client_refresh_token(client, key, secret, first.refresh, buffers(&refreshed), error,
                                         sizeof error);
    if (status != CONCUR_OK) {
        rc = fail("refresh", status, error);
        goto done;
    }
    printf("Refreshed token: %s (same refresh token: %s)\n", refreshed.token,
           strcmp(refreshed.refresh, first.refresh) == 0 ? "yes" : "no");

    /* The Web flow: where to send a user, then the code their browser brings back. */
    char url[2048], state[128];
    concur_buffer url_out = {url, sizeof url, 0}, state_out = {state, sizeof state, 0};
    status = concur_authorization_url(options.base_url, key, "EXPRPT,LIST", "https://partner.example/callback",
                                      NULL, &url_out, &state_out, error, sizeof error);
    if (status != CONCUR_OK) {
        rc = fail("authorization url", status, error);
        goto done;
    }
    printf("Web flow:        send the user to %s\n", url);
    const char *callback = getenv("CONCUR_CALLBACK_URL");
    if (callback != NULL) {
        char code[1024];
        concur_buffer code_out = {code, sizeof code, 0};
        status = concur_parse_callback(callback, getenv("CONCUR_CALLBACK_STATE"), &code_out, error, sizeof error);
        if (status == CONCUR_OK)
            status = concur_client_exchange_code(client, key, secret, code, buffers(&exchanged), error,
                                                 sizeof error);
        if (status != CONCUR_OK) {
            rc = fail("code exchange", status, error);
            goto done;
        }
        printf("Exchanged code:  %s\n", exchanged.token);
    }

    /* Revocation needs a Web Services Administrator's token: the first one, if the user is. */
    status = concur_client_revoke_token(client, first.token, refreshed.token, error, sizeof error);
    printf("Revoke:          %s%s%s\n", concur_native_status_name(status), status == CONCUR_OK ? "" : ": ",
           error);

done:
    concur_client_free(client);
    return rc;
}
