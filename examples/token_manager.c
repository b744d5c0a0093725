/*
 * The token manager from C: one valid access token for every thread, kept in a file so that
 * the next run (or another process) uses it instead of asking Concur again.
 *
 *   CONCUR_OAUTH2_CLIENT_ID=... CONCUR_OAUTH2_CLIENT_SECRET=... \
 *   CONCUR_USERNAME=... CONCUR_PASSWORD=... CONCUR_TOKEN_FILE=/var/lib/app/concur.json \
 *   ./token_manager
 *
 * The first run makes one password grant and saves the token (mode 0600); later runs read it
 * and refresh it when it is about to expire, saving the rotated refresh token each time.
 * CONCUR_BASE_URL and CONCUR_CA_FILE are optional, as in oauth2_password.c. Build with
 * -lconcur_native -lpthread.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "concur_native.h"

#define THREADS 4

struct worker {
    const concur_token_manager *manager;
    concur_status status;
    char access_token[CONCUR_NATIVE_RECOMMENDED_CAPACITY];
    char error[CONCUR_NATIVE_ERROR_CAPACITY];
};

/* What each thread of an application does before an API call: ask the manager. */
static void *work(void *arg) {
    struct worker *w = arg;
    concur_oauth2_token_buffers out;
    concur_oauth2_token_buffers_init(&out); /* every buffer not wanted... */
    out.access_token.data = w->access_token; /* ...but the access token */
    out.access_token.capacity = sizeof w->access_token;
    w->status = concur_token_manager_access_token(w->manager, &out, NULL, w->error,
                                                  sizeof w->error);
    return NULL;
}

int main(void) {
    const char *client_id = getenv("CONCUR_OAUTH2_CLIENT_ID");
    const char *client_secret = getenv("CONCUR_OAUTH2_CLIENT_SECRET");
    const char *username = getenv("CONCUR_USERNAME");
    const char *password = getenv("CONCUR_PASSWORD");
    const char *token_file = getenv("CONCUR_TOKEN_FILE");
    if (client_id == NULL || client_secret == NULL || username == NULL || password == NULL ||
        token_file == NULL) {
        fprintf(stderr, "set CONCUR_OAUTH2_CLIENT_ID, CONCUR_OAUTH2_CLIENT_SECRET, "
                        "CONCUR_USERNAME, CONCUR_PASSWORD and CONCUR_TOKEN_FILE\n");
        return 2;
    }
    char error[CONCUR_NATIVE_ERROR_CAPACITY];

    concur_options options;
    concur_options_init(&options);
    options.base_url = getenv("CONCUR_BASE_URL");
    options.ca_file = getenv("CONCUR_CA_FILE");
    options.user_agent_suffix = "token_manager.c";
    concur_client *client = NULL;
    concur_status status = concur_client_new(&options, &client, error, sizeof error);
    if (status != CONCUR_OK) {
        fprintf(stderr, "client: %s: %s\n", concur_native_status_name(status), error);
        return 1;
    }

    /* Where to start when the file holds no token yet, and where to keep it. */
    concur_token_manager_options manager_options;
    concur_token_manager_options_init(&manager_options);
    manager_options.client_id = client_id;
    manager_options.client_secret = client_secret;
    manager_options.start = CONCUR_MANAGER_START_PASSWORD;
    manager_options.username = username;
    manager_options.password = password;
    manager_options.store = token_file; /* or "redis://host:6379/" with redis_key */
    concur_token_manager *manager = NULL;
    status = concur_token_manager_new(client, &manager_options, &manager, error, sizeof error);
    concur_client_free(client); /* the manager keeps what it needs */
    if (status != CONCUR_OK) {
        fprintf(stderr, "manager: %s: %s\n", concur_native_status_name(status), error);
        return 1;
    }

    /* Many threads at once: at most one request between them. */
    static struct worker workers[THREADS];
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i].manager = manager;
        pthread_create(&threads[i], NULL, work, &workers[i]);
    }
    int rc = 0, same = 1;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        if (workers[i].status != CONCUR_OK) {
            fprintf(stderr, "thread %d: %s: %s\n", i, concur_native_status_name(workers[i].status),
                    workers[i].error);
            rc = 1;
        } else {
            same &= strcmp(workers[i].access_token, workers[0].access_token) == 0;
        }
    }
    if (rc == 0) {
        printf("Access token:    %s\n", workers[0].access_token);
        printf("Threads:         %d, %s\n", THREADS, same ? "one token" : "different tokens");
        printf("Kept in:         %s\n", token_file);
    }
    concur_token_manager_free(manager);
    return rc;
}
