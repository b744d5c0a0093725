/*
 * Which token stores a build of the library has, as a C program sees it. The one argument
 * lists the Cargo features the library was built with ("redis", or "none"):
 *
 *   with redis     concur_token_manager_new accepts a redis:// store (nothing is connected
 *                  before the first access_token);
 *   without it     a redis:// or rediss:// store is CONCUR_ERR_NOT_BUILT_IN, the message
 *                  names the feature, and the manager pointer is NULL; a missing key changes
 *                  nothing, since no key would help.
 *
 * The token vault: a memory: store works in every build; sqlite:///, redis:// and postgres://
 * stores without their features are CONCUR_ERR_NOT_BUILT_IN naming the feature (postgres is in
 * neither build this program is run against).
 *
 * Memory and file stores work in every build. Run by tests/c_abi.rs (with redis) and by
 * tests/packaging/c.sh (the default install, without; an install with --features redis, with).
 * No server is needed: nothing is sent. Prints failed checks and "N passed, N failed".
 */
#include <stdio.h>
#include <string.h>

#include "concur_native.h"
#include "support.h"

static concur_status new_manager(concur_client *client, const char *store, const char *key,
                                 concur_token_manager **manager, char *error, size_t capacity) {
    concur_token_manager_options o;
    concur_token_manager_options_init(&o);
    o.client_id = "store-features-client";
    o.client_secret = "store-features-secret";
    o.start = CONCUR_MANAGER_START_CLIENT_CREDENTIALS;
    o.store = store;
    o.redis_key = key;
    *manager = (concur_token_manager *)&o; /* must be reset to NULL on failure */
    return concur_token_manager_new(client, &o, manager, error, capacity);
}

int main(int argc, char **argv) {
    if (argc != 2 || (strcmp(argv[1], "redis") != 0 && strcmp(argv[1], "none") != 0)) {
        fprintf(stderr, "usage: %s redis|none\n", argv[0]);
        return 2;
    }
    int with_redis = strcmp(argv[1], "redis") == 0;
    concur_client *client = NULL;
    char error[CONCUR_NATIVE_ERROR_CAPACITY];
    if (concur_client_new(NULL, &client, error, sizeof error) != CONCUR_OK) {
        printf("not ok: a client: %s\n", error);
        return 3;
    }

    /* Memory and file stores are in every build. */
    concur_token_manager *manager = NULL;
    concur_status status = new_manager(client, NULL, NULL, &manager, error, sizeof error);
    CHECK(status == CONCUR_OK && manager != NULL, "a memory store: %s", error);
    concur_token_manager_free(manager);
    status = new_manager(client, "/nonexistent-dir/token.json", NULL, &manager, error, sizeof error);
    CHECK(status == CONCUR_OK && manager != NULL, "a file store: %s", error);
    concur_token_manager_free(manager);

    /* (rediss:// is refused by the Redis store itself: the redis crate is built without TLS.) */
    const char *urls[] = {"redis://127.0.0.1:6379/0", "rediss://redis.example:6380/"};
    for (size_t i = 0; i < (with_redis ? 1u : 2u); i++) {
        error[0] = '\0';
        status = new_manager(client, urls[i], "concur-native:token", &manager, error, sizeof error);
        if (with_redis) {
            CHECK(status == CONCUR_OK && manager != NULL, "%s with the redis feature: %s: %s", urls[i],
                  concur_native_status_name(status), error);
            concur_token_manager_free(manager);
        } else {
            CHECK(status == CONCUR_ERR_NOT_BUILT_IN, "%s without the redis feature: %s: %s", urls[i],
                  concur_native_status_name(status), error);
            CHECK(manager == NULL, "%s: the manager is not set to NULL", urls[i]);
            CHECK(strcmp(concur_native_status_name(status), "CONCUR_ERR_NOT_BUILT_IN") == 0,
                  "its name: %s", concur_native_status_name(status));
            CHECK(strncmp(error, "not built in: ", 14) == 0 && strstr(error, "\"redis\"") != NULL,
                  "the message names the feature: '%s'", error);
        }
    }
    /* Without the feature, a missing key is not what the caller must fix. */
    status = new_manager(client, urls[0], NULL, &manager, error, sizeof error);
    CHECK(status == (with_redis ? CONCUR_ERR_INVALID_ARGUMENT : CONCUR_ERR_NOT_BUILT_IN),
          "a redis:// store without a key: %s: %s", concur_native_status_name(status), error);
    CHECK(manager == NULL, "no manager without a key");

    /* The vault: memory in every build; the others only with their features. */
    concur_token_vault_options vo;
    concur_token_vault_options_init(&vo);
    vo.client_id = "store-features-client";
    vo.client_secret = "store-features-secret";
    concur_token_vault *vault = NULL;
    status = concur_token_vault_new(client, &vo, &vault, error, sizeof error);
    CHECK(status == CONCUR_OK && vault != NULL, "a memory vault: %s", error);
    concur_token_vault_free(vault);
    vo.store = "memory:";
    status = concur_token_vault_new(client, &vo, &vault, error, sizeof error);
    CHECK(status == CONCUR_OK && vault != NULL, "a memory: vault: %s", error);
    concur_token_vault_free(vault);
    const char *vault_urls[][2] = {{"postgres://nobody@127.0.0.1:1/none", "\"postgres\""},
                                   {"sqlite:///nonexistent-dir/vault.db", "\"sqlite\""},
                                   {"redis://127.0.0.1:1/0", "\"redis\""}};
    for (size_t i = 0; i < (with_redis ? 1u : 3u); i++) {
        vo.store = vault_urls[i][0];
        vault = (concur_token_vault *)&vo; /* must be reset to NULL on failure */
        status = concur_token_vault_new(client, &vo, &vault, error, sizeof error);
        CHECK(status == CONCUR_ERR_NOT_BUILT_IN && vault == NULL &&
                  strstr(error, vault_urls[i][1]) != NULL,
              "a vault over %s without its feature: %s: %s", vault_urls[i][0],
              concur_native_status_name(status), error);
    }

    concur_client_free(client);
    printf("store features (%s): %d passed, %d failed\n", argv[1], passed, failed);
    return failed == 0 ? 0 : 1;
}
