/*
 * The token manager from C: one valid access token for every thread, kept in a file so that
 * the next run (or another process) uses it instead of asking Concur again.
 *
 *   CONCUR_OAUTH2_CLIENT_ID=... CONCUR_OAUTH2_CLIENT_SECRET=... \
 *   CONCUR_USERNAME=... CONCUR_PASSWORD=... CONCUR_TOKEN_FILE=/var/lib/app/concur.json \
 *   ./token_manager
 *
 * The first run makes one password grant and saves the token (mode 0600); later runs read it.
 * Within 5 minutes of its expiry (the window) a call still gets it at once while one refresh
 * runs ahead on the library's thread; below 60 s (the floor) a call waits for a new one. With
 * CONCUR_STORE_KEY set (a key from concur_store_key_generate or `concur-token store-key`) the
 * file is sealed: it holds no token in clear. Each refresh attempt is reported on stderr.
 * CONCUR_BASE_URL and CONCUR_CA_FILE are optional, as in oauth2_password.c. Build with
 * -lconcur_native -lpthread.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
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

static const char *outcome_name(uint32_t outcome) {
    switch (outcome) {
    case CONCUR_REFRESH_OUTCOME_REFRESHED: return "refreshed";
    case CONCUR_REFRESH_OUTCOME_FROM_STORE: return "from_store";
    case CONCUR_REFRESH_OUTCOME_FAILED: return "failed";
    case CONCUR_REFRESH_OUTCOME_DEAD: return "dead";
    default: return "unknown";
    }
}

/* Called on the refreshing thread (a caller's, or the library's for a refresh ahead): copy what
 * you need and return; never call the manager from here. event->summary is the library's own
 * one-line text; this builds a shorter one from the fields. No field holds a secret. */
static void on_refresh(void *user, const concur_refresh_event *event) {
    (void)user;
    char line[512];
    int n = snprintf(line, sizeof line, "refresh %s in %llu ms, expires at %lld, %s",
                     outcome_name(event->outcome), (unsigned long long)event->duration_ms,
                     (long long)event->expires_at, concur_native_status_name(event->status));
    if (n > 0 && (size_t)n < sizeof line && event->has_concur_code)
        n += snprintf(line + n, sizeof line - (size_t)n, ", Concur code %lld",
                      (long long)event->concur_code);
    if (n > 0 && (size_t)n < sizeof line && event->correlation_id != NULL)
        snprintf(line + n, sizeof line - (size_t)n, ", correlation id %s", event->correlation_id);
    fprintf(stderr, "%s\n", line);
}

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
    manager_options.floor_seconds = 60;   /* never hand out a token with less than a minute */
    const char *key = getenv("CONCUR_STORE_KEY"); /* seal the file with it, when set */
    const char *keys[1] = {key};
    if (key != NULL) {
        manager_options.store_keys = keys; /* the first seals; more (older) keys only open */
        manager_options.store_key_count = 1;
    }
    manager_options.on_event = on_refresh;
    manager_options.event_user = NULL;
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
        printf("Kept in:         %s%s\n", token_file, key != NULL ? " (sealed)" : "");
    }
    concur_token_manager_free(manager);
    return rc;
}
