/*
 * The token vault from C: an App Center partner keeps every company's connection alive.
 *
 *   CONCUR_OAUTH2_CLIENT_ID, CONCUR_OAUTH2_CLIENT_SECRET   the application
 *   CONCUR_COMPANY_ID, CONCUR_REQUEST_TOKEN                 a company to onboard (App Center)
 *   CONCUR_VAULT_STORE    where the connections live (default memory:; sqlite:///path needs the
 *                         library built with --features sqlite)
 *   CONCUR_BASE_URL, CONCUR_CA_FILE                         optional (a test server)
 *
 * Onboards the company unless the vault knows it already (a second run finds it in the store),
 * prints its access token, lists every connection, then runs the daily keep-alive sweep.
 *
 *   cc -std=c99 token_vault.c -lconcur_native -o token_vault && ./token_vault
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "concur_native.h"

static const char *need(const char *name) {
    const char *value = getenv(name);
    if (value == NULL || value[0] == '\0') {
        fprintf(stderr, "set %s\n", name);
        exit(2);
    }
    return value;
}

/* Called once per connection, in ID order: no token is read, only the record. */
static int32_t print_connection(void *user, const concur_connection_info *info) {
    static const char *states[] = {"?", "active", "expiring", "failing", "dead"};
    (void)user;
    printf("  %-36s %-8s refresh token expires at %lld\n", info->id,
           info->state <= 4 ? states[info->state] : "?", (long long)info->refresh_expires_at);
    return 0; /* go on */
}

/* Called after the sweep for each connection it could not keep. */
static void print_lost(void *user, const concur_keep_alive_entry *entry) {
    (void)user;
    if (entry->outcome == CONCUR_KEEP_ALIVE_DEAD)
        printf("  dead: %s (Concur code %lld): onboard it again\n", entry->id,
               (long long)entry->concur_code);
    else
        printf("  failed for now: %s: %s\n", entry->id, entry->message);
}

int main(void) {
    const char *company_id = need("CONCUR_COMPANY_ID");
    char error[CONCUR_NATIVE_ERROR_CAPACITY];

    concur_options options;
    concur_options_init(&options);
    options.base_url = getenv("CONCUR_BASE_URL");
    options.ca_file = getenv("CONCUR_CA_FILE");
    concur_client *client = NULL;
    if (concur_client_new(&options, &client, error, sizeof error) != CONCUR_OK) {
        fprintf(stderr, "client: %s\n", error);
        return 1;
    }

    concur_token_vault_options vault_options;
    concur_token_vault_options_init(&vault_options);
    vault_options.client_id = need("CONCUR_OAUTH2_CLIENT_ID");
    vault_options.client_secret = need("CONCUR_OAUTH2_CLIENT_SECRET");
    vault_options.store = getenv("CONCUR_VAULT_STORE"); /* NULL: memory */
    concur_token_vault *vault = NULL;
    concur_status status = concur_token_vault_new(client, &vault_options, &vault, error,
                                                  sizeof error);
    concur_client_free(client); /* the vault keeps its own reference */
    if (status != CONCUR_OK) {
        fprintf(stderr, "vault: %s: %s\n", concur_native_status_name(status), error);
        return 1;
    }

    char access_token[CONCUR_NATIVE_RECOMMENDED_CAPACITY];
    concur_oauth2_token_buffers out;
    concur_oauth2_token_buffers_init(&out);
    out.access_token.data = access_token;
    out.access_token.capacity = sizeof access_token;

    /* The company's ID names its connection. Known already? Then its token; else onboard it. */
    status = concur_token_vault_access_token(vault, company_id, &out, NULL, error, sizeof error);
    if (status == CONCUR_ERR_UNKNOWN_CONNECTION) {
        concur_vault_start start;
        concur_vault_start_init(&start);
        start.kind = CONCUR_VAULT_START_COMPANY;
        start.company_id = company_id;
        start.request_token = need("CONCUR_REQUEST_TOKEN");
        status = concur_token_vault_add(vault, company_id, &start, 0, &out, NULL, error,
                                        sizeof error);
        printf("Onboarded:    %s\n", company_id);
    } else {
        printf("Known:        %s\n", company_id);
    }
    if (status != CONCUR_OK) {
        fprintf(stderr, "token: %s: %s\n", concur_native_status_name(status), error);
        concur_token_vault_free(vault);
        return 1;
    }
    printf("Access token: %s\n", access_token);

    size_t count = 0;
    printf("Connections:\n");
    status = concur_token_vault_connections(vault, print_connection, NULL, &count, error,
                                            sizeof error);
    printf("  (%zu)\n", count);

    /* The daily cron: renew every refresh token expiring within 30 days, 8 at a time. */
    concur_keep_alive_report report;
    concur_keep_alive_report_init(&report);
    status = concur_token_vault_keep_alive(vault, 30 * 86400, 8, &report, print_lost, NULL, error,
                                           sizeof error);
    if (status == CONCUR_OK)
        printf("Keep-alive:   checked %llu, refreshed %llu, fresh %llu, dead %llu, failed %llu\n",
               (unsigned long long)report.checked, (unsigned long long)report.refreshed,
               (unsigned long long)report.fresh, (unsigned long long)report.dead,
               (unsigned long long)report.failed);
    else
        fprintf(stderr, "keep-alive: %s\n", error);
    concur_token_vault_free(vault);
    return status == CONCUR_OK ? 0 : 1;
}
