/*
 * Prints a Concur access token obtained with the Native Flow.
 *
 *   CONCUR_CONSUMER_KEY=... CONCUR_LOGIN_ID=... CONCUR_PASSWORD=... ./native_token
 *
 * The password comes from the environment, never from the command line (where `ps` would
 * show it). CONCUR_BASE_URL and CONCUR_CA_FILE are optional (a regional host, a test server).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "concur_native.h"

int main(void) {
    const char *consumer_key = getenv("CONCUR_CONSUMER_KEY");
    const char *login_id = getenv("CONCUR_LOGIN_ID");
    const char *password = getenv("CONCUR_PASSWORD"); /* may be unset: no password */
    if (consumer_key == NULL || login_id == NULL) {
        fprintf(stderr, "set CONCUR_CONSUMER_KEY, CONCUR_LOGIN_ID and CONCUR_PASSWORD\n");
        return 2;
    }

    concur_options options;
    memset(&options, 0, sizeof options); /* every 0 / NULL field takes its default */
    options.base_url = getenv("CONCUR_BASE_URL");
    options.ca_file = getenv("CONCUR_CA_FILE");
    options.user_agent_suffix = "native_token.c";

    static char token[CONCUR_NATIVE_RECOMMENDED_CAPACITY];
    static char refresh_token[CONCUR_NATIVE_RECOMMENDED_CAPACITY];
    static char expiration_date[128];
    static char instance_url[1024];
    char error[CONCUR_NATIVE_ERROR_CAPACITY];
    concur_token_buffers out = {
        {token, sizeof token, 0},
        {refresh_token, sizeof refresh_token, 0},
        {expiration_date, sizeof expiration_date, 0},
        {instance_url, sizeof instance_url, 0},
        0,
        0,
    };

    concur_status status =
        concur_native_token(consumer_key, login_id, password, &options, &out, error, sizeof error);
    if (status != CONCUR_OK) {
        fprintf(stderr, "%s: %s\n", concur_native_status_name(status), error);
        return 1;
    }
    printf("Token:           %s\n", token);
    printf("Refresh token:   %s\n", out.refresh_token.len ? refresh_token : "(none)");
    printf("Expiration date: %s (Unix %lld)\n", expiration_date, (long long)out.expires_at);
    printf("Instance URL:    %s\n", out.instance_url.len ? instance_url : "(none)");
    printf("Use it as:       Authorization: OAuth %s\n", token);
    return 0;
}
