/*
 * concur_options' network fields from C: proxy_env and trust_store, and a struct_size of the
 * first layout (before those fields), which reads them as their defaults.
 * Run by tests/c_abi.rs with: CONCUR_TEST_BASE_URL (the loopback server, whose CA is in the
 * file SSL_CERT_FILE names), CONCUR_TEST_PROXY_ONLY_URL (the server by a name only the proxy in
 * HTTPS_PROXY knows), CONCUR_TEST_CONSUMER_KEY, CONCUR_TEST_LOGIN_ID, CONCUR_TEST_PASSWORD, and
 * argv[1]: "proxy" (HTTPS_PROXY is a recording proxy) or "socks" (HTTPS_PROXY is a SOCKS URL).
 * Prints one line per failed check and ends with "N passed, N failed".
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "concur_native.h"
#include "support.h"

static char error[CONCUR_NATIVE_ERROR_CAPACITY];

/* A Native Flow token with these options; the status. */
static concur_status token(const concur_options *options) {
    char token_text[CONCUR_NATIVE_RECOMMENDED_CAPACITY];
    concur_token_buffers out;
    memset(&out, 0, sizeof out);
    out.token.data = token_text;
    out.token.capacity = sizeof token_text;
    return concur_native_token(env("CONCUR_TEST_CONSUMER_KEY"), env("CONCUR_TEST_LOGIN_ID"),
                               env("CONCUR_TEST_PASSWORD"), options, &out, error, sizeof error);
}

/* Builds (and frees) a client; the status. */
static concur_status client(const concur_options *options) {
    concur_client *c = NULL;
    concur_status status = concur_client_new(options, &c, error, sizeof error);
    concur_client_free(c);
    return status;
}

int main(int argc, char **argv) {
    const char *base = env("CONCUR_TEST_BASE_URL");
    const char *proxy_only = env("CONCUR_TEST_PROXY_ONLY_URL");
    const char *phase = argc > 1 ? argv[1] : "";
    concur_options o;
    concur_status s;

    if (strcmp(phase, "proxy") == 0) {
        /* Trust stores: the test CA is only in the OS store (SSL_CERT_FILE). */
        concur_options_init(&o);
        o.base_url = base;
        s = token(&o);
        CHECK(s == CONCUR_ERR_TLS, "mozilla (default): %s %s", concur_native_status_name(s), error);
        o.trust_store = CONCUR_TRUST_STORE_OS;
        s = token(&o);
        CHECK(s == CONCUR_OK, "os: %s %s", concur_native_status_name(s), error);
        o.trust_store = CONCUR_TRUST_STORE_BOTH;
        s = token(&o);
        CHECK(s == CONCUR_OK, "both: %s %s", concur_native_status_name(s), error);
        o.trust_store = 3;
        s = token(&o);
        CHECK(s == CONCUR_ERR_INVALID_ARGUMENT && strstr(error, "trust_store") != NULL,
              "trust_store 3: %s %s", concur_native_status_name(s), error);
        o.trust_store = CONCUR_TRUST_STORE_MOZILLA;
        o.proxy_env = 2;
        s = token(&o);
        CHECK(s == CONCUR_ERR_INVALID_ARGUMENT && strstr(error, "proxy_env") != NULL,
              "proxy_env 2: %s %s", concur_native_status_name(s), error);

        /* The first layout: the fields after correlation_id are not read, whatever they hold. */
        concur_options_init(&o);
        o.base_url = base;
        o.trust_store = CONCUR_TRUST_STORE_OS;
        o.struct_size = (uint32_t)offsetof(concur_options, proxy_env);
        s = token(&o);
        CHECK(s == CONCUR_ERR_TLS, "first layout reads trust_store as mozilla: %s %s",
              concur_native_status_name(s), error);
        CHECK(sizeof(void *) != 8 || offsetof(concur_options, proxy_env) == 72,
              "the header says the first layout is 72 bytes on 64-bit platforms: %u",
              (unsigned)offsetof(concur_options, proxy_env));
        o.struct_size = (uint32_t)offsetof(concur_options, proxy_env) - 1;
        s = token(&o);
        CHECK(s == CONCUR_ERR_INVALID_ARGUMENT, "smaller than the first layout: %s %s",
              concur_native_status_name(s), error);

        /* The environment's proxy carries the call to a name only it knows (the harness checks
         * the proxy's log for the CONNECT). */
        concur_options_init(&o);
        o.base_url = proxy_only;
        o.trust_store = CONCUR_TRUST_STORE_OS;
        s = token(&o);
        CHECK(s == CONCUR_OK, "through HTTPS_PROXY: %s %s", concur_native_status_name(s), error);
    } else if (strcmp(phase, "socks") == 0) {
        /* A SOCKS proxy in the environment: refused by name, unless the environment is off. */
        concur_options_init(&o);
        o.base_url = proxy_only;
        s = client(&o);
        CHECK(s == CONCUR_ERR_INVALID_ARGUMENT && strstr(error, "HTTPS_PROXY") != NULL &&
                  strstr(error, "SOCKS") != NULL && strstr(error, "Socks-Secret") == NULL,
              "SOCKS from the environment: %s %s", concur_native_status_name(s), error);
        o.proxy_env = CONCUR_PROXY_ENV_IGNORE;
        s = client(&o);
        CHECK(s == CONCUR_OK, "proxy_env IGNORE: %s %s", concur_native_status_name(s), error);
        /* The first layout honours the environment (proxy_env read as 0). */
        o.struct_size = (uint32_t)offsetof(concur_options, proxy_env);
        s = client(&o);
        CHECK(s == CONCUR_ERR_INVALID_ARGUMENT, "first layout honours the environment: %s %s",
              concur_native_status_name(s), error);
    } else {
        fprintf(stderr, "usage: network_test proxy|socks\n");
        return 2;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
