/*
 * The C ABI contract, checked from C against the loopback test server.
 * Run by tests/c_abi.rs, which starts the server and passes it through the environment:
 * CONCUR_TEST_BASE_URL, CONCUR_TEST_PLAIN_URL, CONCUR_TEST_CLOSED_URL, CONCUR_TEST_CA_FILE,
 * CONCUR_TEST_CONSUMER_KEY, CONCUR_TEST_LOGIN_ID, CONCUR_TEST_PASSWORD, CONCUR_TEST_CLIENT_SECRET,
 * CONCUR_TEST_CALLBACK_URL and CONCUR_TEST_CALLBACK_STATE (a Web-flow callback the harness
 * obtained from the server's Login.aspx), CONCUR_TEST_OTHER_LOGIN_ID, CONCUR_TEST_OTHER_PASSWORD.
 * Prints one line per check and ends with "N passed, N failed".
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "concur_native.h"
#include "support.h"

static const char *base_url, *plain_url, *closed_url, *ca_file, *consumer_key, *login_id, *password;
static const char *client_secret, *approved_callback, *approved_state, *other_login, *other_password;

/* Four buffers with sentinels after their capacity, to catch any write past it. */
#define ROOM 512
struct outputs {
    char token[ROOM + 16], refresh[ROOM + 16], expiration[ROOM + 16], instance[ROOM + 16];
    char error[ROOM + 16];
    concur_token_buffers out;
};

static void prepare(struct outputs *o, size_t token_cap) {
    memset(o, SENTINEL, sizeof *o);
    o->out.token.data = o->token;
    o->out.token.capacity = token_cap;
    o->out.refresh_token.data = o->refresh;
    o->out.refresh_token.capacity = ROOM;
    o->out.expiration_date.data = o->expiration;
    o->out.expiration_date.capacity = ROOM;
    o->out.instance_url.data = o->instance;
    o->out.instance_url.capacity = ROOM;
    o->out.token.len = o->out.refresh_token.len = 12345;
    o->out.expires_at = 777;
    o->out.http_status = 777;
}


static concur_status call(struct outputs *o, const char *key, const char *login, const char *pw,
                          const concur_options *options) {
    return concur_native_token(key, login, pw, options, &o->out, o->error, ROOM);
}

static concur_options options_for(const char *url) {
    concur_options options;
    memset(&options, 0, sizeof options);
    options.base_url = url;
    options.ca_file = ca_file;
    options.timeout_ms = 10000;
    return options;
}

static char scenario_buffer[1024];
static concur_options scenario(const char *name) {
    snprintf(scenario_buffer, sizeof scenario_buffer, "%s/s/%s", base_url, name);
    return options_for(scenario_buffer);
}

static void test_success(void) {
    struct outputs o;
    concur_options options = options_for(base_url);
    prepare(&o, ROOM);
    concur_status status = call(&o, consumer_key, login_id, password, &options);
    CHECK(status == CONCUR_OK, "status %u: %s", (unsigned)status, o.error);
    CHECK(o.error[0] == '\0', "error buffer emptied on success");
    CHECK(o.out.token.len > 0 && o.out.token.len == strlen(o.token), "token len %zu", o.out.token.len);
    CHECK(o.out.refresh_token.len == strlen(o.refresh) && o.out.refresh_token.len > 0, "refresh");
    CHECK(o.out.expiration_date.len == strlen(o.expiration), "expiration len");
    CHECK(strncmp(o.instance, "https://127.0.0.1:", 18) == 0, "instance %s", o.instance);
    CHECK(o.out.expires_at > (int64_t)time(NULL) + 300 * 86400, "expires_at %lld", (long long)o.out.expires_at);
    CHECK(o.out.http_status == 0, "http_status %u", o.out.http_status);
    CHECK(untouched_after(o.token, o.out.token.len + 1, sizeof o.token), "no write past the NUL");

    /* NULL password means an empty one. */
    prepare(&o, ROOM);
    status = call(&o, consumer_key, "nopassword@example.com", NULL, &options);
    CHECK(status == CONCUR_OK, "NULL password: status %u: %s", (unsigned)status, o.error);

    /* Plain HTTP to loopback is accepted. */
    concur_options plain = options_for(plain_url);
    prepare(&o, ROOM);
    status = call(&o, consumer_key, login_id, password, &plain);
    CHECK(status == CONCUR_OK, "plain loopback: %s", o.error);

    /* Fields not wanted: (NULL, 0) skips them but still reports their length. */
    prepare(&o, ROOM);
    o.out.refresh_token.data = NULL;
    o.out.refresh_token.capacity = 0;
    o.out.instance_url.data = NULL;
    o.out.instance_url.capacity = 0;
    status = call(&o, consumer_key, login_id, password, &options);
    CHECK(status == CONCUR_OK, "skipped fields: %s", o.error);
    CHECK(o.out.refresh_token.len > 0 && o.out.instance_url.len > 0, "skipped lengths reported");

    /* A NULL error buffer is fine. */
    prepare(&o, ROOM);
    status = concur_native_token(consumer_key, login_id, password, &options, &o.out, NULL, 0);
    CHECK(status == CONCUR_OK, "NULL error buffer");
}

static void test_buffer_edges(void) {
    struct outputs o;
    concur_options options = options_for(base_url);
    prepare(&o, ROOM);
    CHECK(call(&o, consumer_key, login_id, password, &options) == CONCUR_OK, "%s", o.error);
    size_t need = o.out.token.len; /* token lengths are constant on the test server */
    size_t need_refresh = o.out.refresh_token.len;

    /* Exact fit: need + 1 bytes. */
    prepare(&o, need + 1);
    concur_status status = call(&o, consumer_key, login_id, password, &options);
    CHECK(status == CONCUR_OK, "exact fit: %s", o.error);
    CHECK(strlen(o.token) == need && o.token[need] == '\0', "exact fit is NUL-terminated");
    CHECK(untouched_after(o.token, need + 1, sizeof o.token), "exact fit: nothing past capacity");

    /* One short: need bytes. */
    prepare(&o, need);
    status = call(&o, consumer_key, login_id, password, &options);
    CHECK(status == CONCUR_ERR_BUFFER_TOO_SMALL, "one short: status %u", (unsigned)status);
    CHECK(o.out.token.len == need, "one short: len %zu, need %zu", o.out.token.len, need);
    CHECK(o.out.refresh_token.len == need_refresh, "every len is set");
    CHECK(o.token[0] == '\0', "one short: token buffer emptied");
    CHECK(o.refresh[0] == '\0' && o.expiration[0] == '\0' && o.instance[0] == '\0',
          "one short: no other field holds part of the token");
    CHECK(untouched_after(o.token, 1, sizeof o.token), "one short: only the NUL was written");
    CHECK(strstr(o.error, "token needs") != NULL, "message says which: %s", o.error);
    CHECK(o.out.expires_at == 0, "no expiry on failure");

    /* Capacity 0 with a buffer: too small, and not a byte written. */
    prepare(&o, 0);
    status = call(&o, consumer_key, login_id, password, &options);
    CHECK(status == CONCUR_ERR_BUFFER_TOO_SMALL, "capacity 0: status %u", (unsigned)status);
    CHECK(o.out.token.len == need, "capacity 0: len %zu", o.out.token.len);
    CHECK(untouched_after(o.token, 0, sizeof o.token), "capacity 0: nothing written");

    /* NULL data with a capacity is refused before any request. */
    prepare(&o, ROOM);
    o.out.expiration_date.data = NULL;
    status = call(&o, consumer_key, login_id, password, &options);
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT, "NULL data: status %u", (unsigned)status);

    /* The error buffer: truncated, NUL-terminated, never past capacity. */
    char small[8 + 8];
    memset(small, SENTINEL, sizeof small);
    prepare(&o, ROOM);
    status = concur_native_token(consumer_key, login_id, "wrong", &options, &o.out, small, 8);
    CHECK(status == CONCUR_ERR_UNAUTHORIZED, "status %u", (unsigned)status);
    CHECK(strlen(small) == 7, "truncated to 7 + NUL: %zu", strlen(small));
    CHECK(untouched_after(small, 8, sizeof small), "error buffer: nothing past capacity");
    memset(small, SENTINEL, sizeof small);
    status = concur_native_token(consumer_key, login_id, "wrong", &options, &o.out, small, 1);
    CHECK(small[0] == '\0' && untouched_after(small, 1, sizeof small), "capacity 1: just the NUL");
    memset(small, SENTINEL, sizeof small);
    status = concur_native_token(consumer_key, login_id, "wrong", &options, &o.out, small, 0);
    CHECK(untouched_after(small, 0, sizeof small), "capacity 0: nothing");
}

static void expect_invalid(const char *what, const char *key, const char *login, const char *pw,
                           const concur_options *options) {
    struct outputs o;
    prepare(&o, ROOM);
    concur_status status = call(&o, key, login, pw, options);
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT, "%s: status %u", what, (unsigned)status);
    CHECK(strncmp(o.error, "invalid argument", 16) == 0, "%s: message %s", what, o.error);
    CHECK(o.token[0] == '\0' && o.out.token.len == 0, "%s: outputs emptied", what);
    CHECK(o.out.expires_at == 0 && o.out.http_status == 0, "%s: numbers zeroed", what);
}

static void test_bad_arguments(void) {
    concur_options options = options_for(base_url);
    expect_invalid("NULL key", NULL, login_id, password, &options);
    expect_invalid("NULL login", consumer_key, NULL, password, &options);
    expect_invalid("empty key", "", login_id, password, &options);
    expect_invalid("empty login", consumer_key, "", password, &options);
    expect_invalid("login with ':'", consumer_key, "a:b", password, &options);
    expect_invalid("invalid UTF-8 login", consumer_key, "user\xff\xfe", password, &options);
    expect_invalid("invalid UTF-8 password", consumer_key, login_id, "\xc3\x28", &options);
    expect_invalid("invalid UTF-8 key", "\x80key", login_id, password, &options);

    concur_options http = options;
    http.base_url = "http://www.concursolutions.com";
    expect_invalid("http to a public host", consumer_key, login_id, password, &http);
    concur_options bad_url = options;
    bad_url.base_url = "not a url";
    expect_invalid("malformed base URL", consumer_key, login_id, password, &bad_url);
    concur_options long_timeout = options;
    long_timeout.timeout_ms = 3600001;
    expect_invalid("timeout above an hour", consumer_key, login_id, password, &long_timeout);
    concur_options missing_ca = options;
    missing_ca.ca_file = "/nonexistent/ca.pem";
    expect_invalid("missing CA file", consumer_key, login_id, password, &missing_ca);
    concur_options bad_utf8_option = options;
    bad_utf8_option.proxy = "\xff";
    expect_invalid("invalid UTF-8 option", consumer_key, login_id, password, &bad_utf8_option);

    /* NULL options means the defaults; an empty key is refused before they matter, so this
       sends nothing to the real host. */
    expect_invalid("NULL options, empty key", "", login_id, password, NULL);

    char error[ROOM];
    concur_status status =
        concur_native_token(consumer_key, login_id, password, &options, NULL, error, sizeof error);
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT, "NULL out: status %u", (unsigned)status);
    CHECK(strstr(error, "out is NULL") != NULL, "NULL out: %s", error);
}

static void expect_status(const char *what, concur_status expected, unsigned http_status,
                          const char *login, const char *pw, const concur_options *options,
                          const char *message_part) {
    struct outputs o;
    prepare(&o, ROOM);
    concur_status status = call(&o, consumer_key, login, pw, options);
    CHECK(status == expected, "%s: status %s, expected %s: %s", what, concur_native_status_name(status),
          concur_native_status_name(expected), o.error);
    CHECK(o.out.http_status == http_status, "%s: http_status %u", what, o.out.http_status);
    CHECK(o.token[0] == '\0' && o.out.token.len == 0, "%s: no token", what);
    CHECK(message_part == NULL || strstr(o.error, message_part) != NULL, "%s: message %s", what, o.error);
    CHECK(pw == NULL || pw[0] == '\0' || strstr(o.error, pw) == NULL, "%s: password in message", what);
}

static void test_error_classes(void) {
    concur_options options = options_for(base_url);
    expect_status("wrong password", CONCUR_ERR_UNAUTHORIZED, 401, login_id, "hunter2-wrong", &options,
                  "Invalid login ID or password.");
    expect_status("error id", CONCUR_ERR_UNAUTHORIZED, 401, login_id, "hunter2-wrong", &options,
                  "ERR-401-0001");
    concur_options s = scenario("status-503");
    expect_status("503", CONCUR_ERR_HTTP_STATUS, 503, login_id, password, &s, "HTTP 503");
    s = scenario("empty-503"); /* no error document to quote: the status alone */
    expect_status("empty 503", CONCUR_ERR_HTTP_STATUS, 503, login_id, password, &s, "HTTP 503");
    s = scenario("reset-mid-body");
    expect_status("reset", CONCUR_ERR_PROTOCOL, 200, login_id, password, &s, "closed");
    s = scenario("gzip-truncated");
    expect_status("truncated gzip", CONCUR_ERR_PROTOCOL, 200, login_id, password, &s, "compressed");
    s = scenario("redirect-9");
    expect_status("redirect", CONCUR_ERR_HTTP_STATUS, 302, login_id, password, &s, "redirect");
    s = scenario("html");
    expect_status("html", CONCUR_ERR_PROTOCOL, 200, login_id, password, &s, "HTML");
    s = scenario("huge");
    expect_status("huge", CONCUR_ERR_PROTOCOL, 200, login_id, password, &s, "64 KiB");
    s = scenario("slow-headers-3000");
    s.timeout_ms = 300;
    expect_status("slow", CONCUR_ERR_TIMEOUT, 0, login_id, password, &s, NULL);
    concur_options closed = options_for(closed_url);
    expect_status("refused", CONCUR_ERR_CONNECT, 0, login_id, password, &closed, NULL);
    concur_options untrusted = options_for(base_url);
    untrusted.ca_file = NULL;
    expect_status("untrusted", CONCUR_ERR_TLS, 0, login_id, password, &untrusted, "certificate");
}

static void *thread_body(void *arg) {
    int *ok = arg;
    concur_options options = options_for(base_url);
    for (int i = 0; i < 5; i++) {
        struct outputs o;
        prepare(&o, ROOM);
        if (call(&o, consumer_key, login_id, password, &options) == CONCUR_OK) (*ok)++;
    }
    return NULL;
}

static void test_threads(void) {
    pthread_t threads[8];
    int ok[8] = {0};
    for (int i = 0; i < 8; i++) pthread_create(&threads[i], NULL, thread_body, &ok[i]);
    int total = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(threads[i], NULL);
        total += ok[i];
    }
    CHECK(total == 40, "8 threads x 5 calls: %d succeeded", total);
}

static concur_client *shared_client;

static void *client_thread(void *arg) {
    int *ok = arg;
    for (int i = 0; i < 5; i++) {
        struct outputs o;
        prepare(&o, ROOM);
        if (concur_client_native_token(shared_client, consumer_key, login_id, password, &o.out, o.error,
                                       ROOM) == CONCUR_OK)
            (*ok)++;
    }
    return NULL;
}

static void test_client(void) {
    char error[ROOM];
    concur_options options = options_for(base_url);
    concur_client *client = (concur_client *)&error; /* must be overwritten */
    concur_status status = concur_client_new(&options, &client, error, sizeof error);
    CHECK(status == CONCUR_OK && client != NULL, "client_new: %s", error);

    struct outputs o;
    prepare(&o, ROOM);
    status = concur_client_native_token(client, consumer_key, login_id, password, &o.out, o.error, ROOM);
    CHECK(status == CONCUR_OK, "client native: %s", o.error);
    char first_refresh[ROOM];
    memcpy(first_refresh, o.refresh, ROOM);

    /* Many threads, one client. */
    shared_client = client;
    pthread_t threads[8];
    int ok[8] = {0};
    for (int i = 0; i < 8; i++) pthread_create(&threads[i], NULL, client_thread, &ok[i]);
    int total = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(threads[i], NULL);
        total += ok[i];
    }
    CHECK(total == 40, "8 threads x 5 calls on one client: %d", total);

    /* Refresh keeps the refresh token the answer leaves out. */
    prepare(&o, ROOM);
    status = concur_client_refresh_token(client, consumer_key, client_secret, first_refresh, &o.out, o.error, ROOM);
    CHECK(status == CONCUR_OK, "refresh: %s", o.error);
    CHECK(strcmp(o.refresh, first_refresh) == 0, "refresh token kept: %s", o.refresh);
    CHECK(o.out.expires_at > 0, "refreshed expiry");

    prepare(&o, ROOM);
    status = concur_client_refresh_token(client, consumer_key, "wrong-secret-qq", first_refresh, &o.out, o.error, ROOM);
    CHECK(status == CONCUR_ERR_UNAUTHORIZED && o.out.http_status == 401, "bad secret: %u %s", (unsigned)status, o.error);
    CHECK(strstr(o.error, "wrong-secret-qq") == NULL && strstr(o.error, first_refresh) == NULL, "no secret in %s", o.error);
    prepare(&o, ROOM);
    status = concur_client_refresh_token(client, consumer_key, NULL, first_refresh, &o.out, o.error, ROOM);
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT, "NULL secret");

    /* The code the harness obtained from Login.aspx, through the callback, for a token. */
    char code[ROOM];
    concur_buffer code_buffer = {code, sizeof code, 0};
    status = concur_parse_callback(approved_callback, approved_state, &code_buffer, error, sizeof error);
    CHECK(status == CONCUR_OK && code_buffer.len > 0, "parse callback: %s", error);
    prepare(&o, ROOM);
    status = concur_client_exchange_code(client, consumer_key, client_secret, code, &o.out, o.error, ROOM);
    CHECK(status == CONCUR_OK && o.out.token.len > 0, "exchange: %s", o.error);
    prepare(&o, ROOM);
    status = concur_client_exchange_code(client, consumer_key, client_secret, code, &o.out, o.error, ROOM);
    CHECK(status == CONCUR_ERR_UNAUTHORIZED, "a code is good once: %u", (unsigned)status);

    /* Revocation: the demo user is an administrator. */
    struct outputs admin, victim;
    prepare(&admin, ROOM);
    prepare(&victim, ROOM);
    concur_client_native_token(client, consumer_key, login_id, password, &admin.out, admin.error, ROOM);
    concur_client_native_token(client, consumer_key, other_login, other_password, &victim.out, victim.error, ROOM);
    status = concur_client_revoke_token(client, victim.token, admin.token, error, sizeof error);
    CHECK(status == CONCUR_ERR_UNAUTHORIZED, "a non-admin cannot revoke: %u %s", (unsigned)status, error);
    status = concur_client_revoke_token(client, admin.token, victim.token, error, sizeof error);
    CHECK(status == CONCUR_OK && error[0] == '\0', "revoke: %s", error);
    prepare(&o, ROOM);
    status = concur_client_refresh_token(client, consumer_key, client_secret, victim.refresh, &o.out, o.error, ROOM);
    CHECK(status == CONCUR_ERR_UNAUTHORIZED, "revoked token's refresh fails: %u", (unsigned)status);
    status = concur_client_revoke_user_tokens(client, admin.token, consumer_key, other_login, error, sizeof error);
    CHECK(status == CONCUR_OK, "revoke all: %s", error);
    status = concur_client_revoke_token(NULL, admin.token, victim.token, error, sizeof error);
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT && strstr(error, "client is NULL"), "NULL client: %s", error);

    concur_client_free(client);
    concur_client_free(NULL);

    /* A client with bad options is not made, and the out pointer is NULLed. */
    concur_options bad = options_for("http://example.com");
    client = (concur_client *)&error;
    status = concur_client_new(&bad, &client, error, sizeof error);
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT && client == NULL, "bad options: %u", (unsigned)status);
    status = concur_client_new(&options, NULL, error, sizeof error);
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT, "NULL client_out");
}

static void test_web_flow_helpers(void) {
    char url[ROOM + 16], state[ROOM + 16], error[ROOM];
    memset(url, SENTINEL, sizeof url);
    concur_buffer url_buffer = {url, ROOM, 0}, state_buffer = {state, ROOM, 0};
    concur_status status = concur_authorization_url(base_url, consumer_key, "EXPRPT,LIST",
                                                    "https://partner.example/cb", NULL, &url_buffer,
                                                    &state_buffer, error, sizeof error);
    CHECK(status == CONCUR_OK, "authorization url: %s", error);
    CHECK(strstr(url, "/net2/oauth2/Login.aspx?client_id=") != NULL, "url %s", url);
    CHECK(strstr(url, "scope=EXPRPT%2CLIST&redirect_uri=https%3A%2F%2Fpartner.example%2Fcb") != NULL, "url %s", url);
    CHECK(state_buffer.len == 32 && strlen(state) == 32, "generated state %s", state);
    CHECK(url_buffer.len == strlen(url), "url len");

    status = concur_authorization_url(base_url, consumer_key, NULL, "https://partner.example/cb", "fixed",
                                      &url_buffer, &state_buffer, error, sizeof error);
    CHECK(status == CONCUR_OK && strcmp(state, "fixed") == 0, "caller's state kept: %s", state);
    size_t need = url_buffer.len;
    memset(url, SENTINEL, sizeof url);
    url_buffer.capacity = need; /* one short */
    status = concur_authorization_url(base_url, consumer_key, NULL, "https://partner.example/cb", "fixed",
                                      &url_buffer, &state_buffer, error, sizeof error);
    CHECK(status == CONCUR_ERR_BUFFER_TOO_SMALL, "url one short: %u", (unsigned)status);
    CHECK(url[0] == '\0' && state[0] == '\0' && untouched_after(url, 1, sizeof url), "nothing half-written");
    CHECK(state_buffer.len == 5, "state len reported: %zu", state_buffer.len);

    url_buffer.capacity = ROOM;
    status = concur_authorization_url("http://example.com", consumer_key, NULL, "https://p/cb", NULL,
                                      &url_buffer, &state_buffer, error, sizeof error);
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT, "http base refused");

    char code[64];
    concur_buffer code_buffer = {code, sizeof code, 0};
    status = concur_parse_callback("https://p/cb?code=C%2B1&state=s", "s", &code_buffer, error, sizeof error);
    CHECK(status == CONCUR_OK && strcmp(code, "C+1") == 0, "code %s", code);
    status = concur_parse_callback("https://p/cb?code=C1&state=evil", "s", &code_buffer, error, sizeof error);
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT && code[0] == '\0', "forged state");
    status = concur_parse_callback("https://p/cb?error=access_denied&error_description=No", NULL, &code_buffer,
                                   error, sizeof error);
    CHECK(status == CONCUR_ERR_UNAUTHORIZED && strstr(error, "No") != NULL, "denied: %s", error);
    status = concur_parse_callback("https://p/listen?code=xyz", NULL, &code_buffer, error, sizeof error);
    CHECK(status == CONCUR_OK && strcmp(code, "xyz") == 0, "App Center listener");
}

/* Inputs are read before outputs are touched, so in-place calls work (audit #6); output buffers
 * that overlap each other or the error buffer are refused before anything is sent (audit #7). */
static void test_in_place_and_aliasing(void) {
    char error[ROOM];
    concur_options options = options_for(base_url);
    concur_client *client = NULL;
    concur_status status = concur_client_new(&options, &client, error, sizeof error);
    CHECK(status == CONCUR_OK, "client_new: %s", error);

    struct outputs o;
    prepare(&o, ROOM);
    status = concur_client_native_token(client, consumer_key, login_id, password, &o.out, o.error, ROOM);
    CHECK(status == CONCUR_OK && o.out.refresh_token.len > 0, "native: %s", o.error);
    char given[ROOM];
    memcpy(given, o.refresh, ROOM);
    /* Refresh in place: the refresh token given is the one in out->refresh_token, echoed back. */
    status = concur_client_refresh_token(client, consumer_key, client_secret, o.refresh, &o.out, o.error, ROOM);
    CHECK(status == CONCUR_OK, "refresh in place: %s %s", concur_native_status_name(status), o.error);
    CHECK(strcmp(o.refresh, given) == 0 && o.out.refresh_token.len == strlen(given), "refresh token kept: %s", o.refresh);
    CHECK(o.out.token.len > 0 && strlen(o.token) == o.out.token.len, "refreshed token written");

    /* A callback URL parsed into its own buffer. */
    char callback[ROOM];
    snprintf(callback, sizeof callback, "https://p/cb?code=C%%2B1&state=s");
    concur_buffer callback_buffer = {callback, sizeof callback, 0};
    status = concur_parse_callback(callback, "s", &callback_buffer, error, sizeof error);
    CHECK(status == CONCUR_OK && strcmp(callback, "C+1") == 0 && callback_buffer.len == 3,
          "callback in place: %s %s", concur_native_status_name(status), callback);
    /* The expected state in the output buffer works too. */
    char state_in_code[ROOM] = "s";
    concur_buffer state_buffer_in = {state_in_code, sizeof state_in_code, 0};
    status = concur_parse_callback("https://p/cb?code=xyz&state=s", state_in_code, &state_buffer_in, error,
                                   sizeof error);
    CHECK(status == CONCUR_OK && strcmp(state_in_code, "xyz") == 0, "state in place: %s", error);

    /* The Web flow's state given in state_out's own buffer. */
    char url[ROOM], state[64] = "keep-me";
    concur_buffer url_buffer = {url, sizeof url, 0}, state_buffer = {state, sizeof state, 0};
    status = concur_authorization_url(base_url, consumer_key, NULL, "https://p/cb", state, &url_buffer,
                                      &state_buffer, error, sizeof error);
    CHECK(status == CONCUR_OK && strcmp(state, "keep-me") == 0 && strstr(url, "state=keep-me") != NULL,
          "state in place: %s %s", error, url);

    /* Aliasing, against a closed port: had anything been sent, the status would be CONNECT. */
    concur_options closed = options_for(closed_url);
    concur_client *closed_client = NULL;
    status = concur_client_new(&closed, &closed_client, error, sizeof error);
    CHECK(status == CONCUR_OK, "closed client: %s", error);

    prepare(&o, ROOM);
    o.out.refresh_token.data = o.token + 100; /* inside out->token */
    o.out.refresh_token.capacity = 64;
    status = concur_client_native_token(closed_client, consumer_key, login_id, password, &o.out, o.error, ROOM);
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT && strstr(o.error, "overlap") != NULL,
          "overlapping outputs: %s %s", concur_native_status_name(status), o.error);
    CHECK(o.out.token.len == 0 && o.out.refresh_token.len == 0, "overlapping outputs: lens zeroed");

    prepare(&o, ROOM);
    o.out.instance_url.data = o.expiration; /* the same memory as out->expiration_date */
    status = concur_native_token(consumer_key, login_id, password, &closed, &o.out, o.error, ROOM);
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT && strstr(o.error, "out->expiration_date and out->instance_url") != NULL,
          "same data twice: %s %s", concur_native_status_name(status), o.error);

    prepare(&o, ROOM);
    status = concur_client_refresh_token(closed_client, consumer_key, client_secret, given, &o.out, o.token + 10,
                                         64); /* error buffer inside out->token */
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT && strstr(o.token + 10, "overlaps error_message") != NULL,
          "error buffer inside an output: %s %s", concur_native_status_name(status), o.token + 10);

    /* Skipped fields (NULL, 0) overlap nothing. */
    prepare(&o, ROOM);
    o.out.refresh_token.data = NULL;
    o.out.refresh_token.capacity = 0;
    o.out.instance_url.data = NULL;
    o.out.instance_url.capacity = 0;
    status = concur_native_token(consumer_key, login_id, password, &closed, &o.out, o.error, ROOM);
    CHECK(status == CONCUR_ERR_CONNECT, "skipped fields are no overlap: %s %s", concur_native_status_name(status),
          o.error);

    /* One concur_buffer as both url and state_out. */
    concur_buffer shared = {url, sizeof url, 0};
    status = concur_authorization_url(base_url, consumer_key, NULL, "https://p/cb", NULL, &shared, &shared, error,
                                      sizeof error);
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT && strstr(error, "same buffer") != NULL, "url == state_out: %s",
          error);
    /* Two buffers over the same bytes. */
    concur_buffer first = {url, 100, 0}, second = {url + 50, 100, 0};
    status = concur_authorization_url(base_url, consumer_key, NULL, "https://p/cb", NULL, &first, &second, error,
                                      sizeof error);
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT && strstr(error, "overlap") != NULL, "url and state overlap: %s",
          error);
    /* The code buffer inside the error buffer. */
    concur_buffer inside_error = {error + 8, 32, 0};
    status = concur_parse_callback("https://p/cb?code=xyz", NULL, &inside_error, error, sizeof error);
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT && strstr(error, "overlaps error_message") != NULL,
          "code inside the error buffer: %s", error);

    concur_client_free(closed_client);
    concur_client_free(client);
}

static void test_version_and_names(void) {
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", CONCUR_NATIVE_VERSION_MAJOR,
             CONCUR_NATIVE_VERSION_MINOR, CONCUR_NATIVE_VERSION_PATCH);
    CHECK(strcmp(concur_native_version(), expected) == 0, "version %s vs header %s",
          concur_native_version(), expected);
    CHECK(strcmp(concur_native_status_name(CONCUR_OK), "CONCUR_OK") == 0, "name of OK");
    CHECK(strcmp(concur_native_status_name(CONCUR_ERR_BUFFER_TOO_SMALL), "CONCUR_ERR_BUFFER_TOO_SMALL") == 0,
          "name of BUFFER_TOO_SMALL");
    CHECK(strcmp(concur_native_status_name(4242), "CONCUR_UNKNOWN_STATUS") == 0, "unknown status");
}

int main(void) {
    base_url = env("CONCUR_TEST_BASE_URL");
    plain_url = env("CONCUR_TEST_PLAIN_URL");
    closed_url = env("CONCUR_TEST_CLOSED_URL");
    ca_file = env("CONCUR_TEST_CA_FILE");
    consumer_key = env("CONCUR_TEST_CONSUMER_KEY");
    login_id = env("CONCUR_TEST_LOGIN_ID");
    password = env("CONCUR_TEST_PASSWORD");
    client_secret = env("CONCUR_TEST_CLIENT_SECRET");
    approved_callback = env("CONCUR_TEST_CALLBACK_URL");
    approved_state = env("CONCUR_TEST_CALLBACK_STATE");
    other_login = env("CONCUR_TEST_OTHER_LOGIN_ID");
    other_password = env("CONCUR_TEST_OTHER_PASSWORD");

    test_version_and_names();
    test_success();
    test_buffer_edges();
    test_bad_arguments();
    test_error_classes();
    test_threads();
    test_client();
    test_web_flow_helpers();
    test_in_place_and_aliasing();

    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
