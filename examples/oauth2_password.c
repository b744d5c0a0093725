/*
 * Concur's current Authentication API (oauth2/v0) from C: a password grant, then a refresh
 * that stores the rotated refresh token, as an application keeping a user's tokens would.
 *
 *   CONCUR_OAUTH2_CLIENT_ID=... CONCUR_OAUTH2_CLIENT_SECRET=... \
 *   CONCUR_USERNAME=... CONCUR_PASSWORD=... ./oauth2_password
 *
 * Secrets come from the environment, never from the command line (where `ps` would show
 * them). CONCUR_BASE_URL (one host for every call, e.g. a test server) and CONCUR_CA_FILE are
 * optional; without a base URL, the grant goes to Concur's production host and the refresh to
 * the user's data centre (the token's geolocation).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "concur_native.h"

/* What an application stores for a user: the refresh token and where the user lives. */
struct stored {
    char refresh_token[CONCUR_NATIVE_RECOMMENDED_CAPACITY];
    char geolocation[1024];
};

/* The buffers of one token; fields not listed here are not wanted (NULL, 0). */
struct token {
    char access_token[CONCUR_NATIVE_RECOMMENDED_CAPACITY], refresh_token[CONCUR_NATIVE_RECOMMENDED_CAPACITY];
    char geolocation[1024], scope[1024], subject[64], correlation_id[256];
    concur_oauth2_token_buffers out;
};

static concur_oauth2_token_buffers *buffers(struct token *t) {
    concur_oauth2_token_buffers_init(&t->out); /* zeroes it and sets struct_size */
    t->out.access_token.data = t->access_token;
    t->out.access_token.capacity = sizeof t->access_token;
    t->out.refresh_token.data = t->refresh_token;
    t->out.refresh_token.capacity = sizeof t->refresh_token;
    t->out.geolocation.data = t->geolocation;
    t->out.geolocation.capacity = sizeof t->geolocation;
    t->out.scope.data = t->scope;
    t->out.scope.capacity = sizeof t->scope;
    t->out.subject.data = t->subject;
    t->out.subject.capacity = sizeof t->subject;
    t->out.correlation_id.data = t->correlation_id;
    t->out.correlation_id.capacity = sizeof t->correlation_id;
    return &t->out;
}

/* Explains a failure with what Concur said: its code, OAuth error and correlation id. */
static int fail(const char *step, concur_status status, const char *error,
                const concur_error_details *details) {
    fprintf(stderr, "%s: %s: %s\n", step, concur_native_status_name(status), error);
    if (details->has_concur_code)
        fprintf(stderr, "  Concur code %lld (%s)\n", (long long)details->concur_code,
                details->oauth_error.len ? details->oauth_error.data : "no OAuth error");
    if (details->correlation_id.len)
        fprintf(stderr, "  correlation id %s (quote it to Concur support)\n",
                details->correlation_id.data);
    return 1;
}

int main(void) {
    const char *client_id = getenv("CONCUR_OAUTH2_CLIENT_ID");
    const char *client_secret = getenv("CONCUR_OAUTH2_CLIENT_SECRET");
    const char *username = getenv("CONCUR_USERNAME");
    const char *password = getenv("CONCUR_PASSWORD");
    if (client_id == NULL || client_secret == NULL || username == NULL || password == NULL) {
        fprintf(stderr, "set CONCUR_OAUTH2_CLIENT_ID, CONCUR_OAUTH2_CLIENT_SECRET, "
                        "CONCUR_USERNAME and CONCUR_PASSWORD\n");
        return 2;
    }

    concur_options options;
    concur_options_init(&options); /* every 0 / NULL field takes its default */
    options.base_url = getenv("CONCUR_BASE_URL");
    options.ca_file = getenv("CONCUR_CA_FILE");
    options.user_agent_suffix = "oauth2_password.c";

    char error[CONCUR_NATIVE_ERROR_CAPACITY];
    char oauth_error[64], correlation_id[256];
    concur_error_details details;
    concur_error_details_init(&details);
    details.oauth_error.data = oauth_error;
    details.oauth_error.capacity = sizeof oauth_error;
    details.correlation_id.data = correlation_id;
    details.correlation_id.capacity = sizeof correlation_id;

    concur_client *client = NULL;
    concur_status status = concur_client_new(&options, &client, error, sizeof error);
    if (status != CONCUR_OK) return fail("client", status, error, &details);

    static struct token first, refreshed;
    static struct stored stored;
    int rc = 0;

    /* 1. The password grant. A user of another data centre is followed there (code 16). */
    concur_oauth2_grant grant;
    concur_oauth2_grant_init(&grant);
    grant.kind = CONCUR_GRANT_PASSWORD;
    grant.username = username;
    grant.password = password;
    status = concur_client_oauth2_token(client, client_id, client_secret, &grant, NULL,
                                        buffers(&first), &details, error, sizeof error);
    if (status != CONCUR_OK) {
        rc = fail("password grant", status, error, &details);
        goto done;
    }
    printf("Access token:    %s\n", first.access_token);
    printf("Expires at:      %lld (Unix)\n", (long long)first.out.expires_at);
    printf("Scope:           %s\n", first.scope);
    printf("User (sub):      %s\n", first.subject);
    printf("Geolocation:     %s\n", first.geolocation);
    printf("Correlation id:  %s\n", first.correlation_id);
    /* Store what the next refresh needs. */
    memcpy(stored.refresh_token, first.refresh_token, first.out.refresh_token.len + 1);
    memcpy(stored.geolocation, first.geolocation, first.out.geolocation.len + 1);

    /* 2. The refresh, at the user's data centre. Concur may rotate the refresh token: the one
     *    in the answer replaces the stored one, and the old one may stop working. */
    concur_oauth2_grant refresh;
    concur_oauth2_grant_init(&refresh);
    refresh.kind = CONCUR_GRANT_REFRESH_TOKEN;
    refresh.refresh_token = stored.refresh_token;
    status = concur_client_oauth2_token(client, client_id, client_secret, &refresh,
                                        stored.geolocation, buffers(&refreshed), &details, error,
                                        sizeof error);
    if (status != CONCUR_OK) {
        rc = fail("refresh", status, error, &details);
        goto done;
    }
    int rotated = strcmp(refreshed.refresh_token, stored.refresh_token) != 0;
    memcpy(stored.refresh_token, refreshed.refresh_token, refreshed.out.refresh_token.len + 1);
    memcpy(stored.geolocation, refreshed.geolocation, refreshed.out.geolocation.len + 1);
    printf("Refreshed token: %s\n", refreshed.access_token);
    printf("Refresh token:   %s (stored)\n", rotated ? "rotated" : "unchanged");
    printf("Use it as:       Authorization: Bearer %s\n", refreshed.access_token);

done:
    concur_client_free(client);
    return rc;
}
