/*
 * The C ABI contract of the current API (oauth2/v0), checked from C against the loopback test
 * server. Run by tests/c_abi.rs, which starts the server, passes it through the environment
 * (CONCUR_TEST_*, read in main) and, after this program, checks the server's log for what
 * must not have reached it (the untrusted geolocation's listener, the "never-" scenarios of the
 * bad-argument calls) and what must have (the correlation id set in the options).
 * Prints one line per failed check and ends with "N passed, N failed".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "concur_native.h"
#include "support.h"

static const char *base_url, *second_url, *ca_file, *client_id, *client_secret, *login_id,
    *password, *eu_username, *eu_password, *locked_username, *company_id, *request_token, *otp_code,
    *callback_url, *consumer_key, *tag, *other_login, *other_password;
static int https_port, evil_port;

/* ---- outputs with sentinels past every capacity ---- */

#define ROOM TOKEN_ROOM

/* ---- every error text seen, to prove no secret is ever in one ---- */

#define MAX_ERRORS 128
static char errors_seen[MAX_ERRORS][ROOM];
static int n_errors;
static char error[ROOM + 16];

static void remember_error(void) {
    if (error[0] != '\0' && n_errors < MAX_ERRORS) {
        strncpy(errors_seen[n_errors], error, ROOM - 1);
        errors_seen[n_errors][ROOM - 1] = '\0';
        n_errors++;
    }
}

/* ---- clients ---- */

static concur_client *client_at(const char *url, int retries, const char *correlation_id) {
    concur_options options;
    concur_options_init(&options);
    options.base_url = url;
    options.ca_file = ca_file;
    options.timeout_ms = 10000;
    options.retries = retries;
    options.correlation_id = correlation_id;
    concur_client *client = NULL;
    concur_status status = concur_client_new(&options, &client, error, sizeof error);
    if (status != CONCUR_OK) {
        printf("not ok: a client for %s: %s\n", url, error);
        exit(3);
    }
    return client;
}

static char url_buffer[8][512];
static int url_next;
static const char *scenario(const char *name) {
    char *b = url_buffer[url_next++ % 8];
    snprintf(b, 512, "%s/s/%s", base_url, name);
    return b;
}

static concur_status token(const concur_client *client, const concur_oauth2_grant *grant,
                           const char *host, struct token_out *t, struct details_out *e) {
    prepare_token(t, ROOM);
    if (e) prepare_details(e);
    memset(error, SENTINEL, sizeof error);
    concur_status status = concur_client_oauth2_token(client, client_id, client_secret, grant, host,
                                                      &t->out, e ? &e->d : NULL, error, ROOM);
    CHECK(untouched_after(error, ROOM, sizeof error), "nothing past the error buffer");
    for (int i = 0; i < NFIELDS; i++)
        CHECK(untouched_after(t->field[i], ROOM, sizeof t->field[i]), "nothing past field %d", i);
    remember_error();
    return status;
}

static concur_oauth2_grant password_grant(const char *user, const char *pw) {
    concur_oauth2_grant g;
    concur_oauth2_grant_init(&g);
    g.kind = CONCUR_GRANT_PASSWORD;
    g.username = user;
    g.password = pw;
    return g;
}

static concur_oauth2_grant refresh_grant(const char *refresh_token) {
    concur_oauth2_grant g;
    concur_oauth2_grant_init(&g);
    g.kind = CONCUR_GRANT_REFRESH_TOKEN;
    g.refresh_token = refresh_token;
    return g;
}

static int64_t now(void) { return (int64_t)time(NULL); }

/* The failure's class, code, OAuth error, and that the outputs were emptied. */
static void expect_refusal(concur_status status, struct token_out *t, struct details_out *e,
                           concur_status want, int64_t code, const char *oauth_error,
                           unsigned http_status, const char *what) {
    CHECK(status == want, "%s: status %s: %s", what, concur_native_status_name(status), error);
    CHECK(all_empty(t), "%s: outputs emptied", what);
    CHECK(t->out.http_status == http_status, "%s: out http_status %u", what, t->out.http_status);
    CHECK(e->d.http_status == http_status, "%s: details http_status %u", what, e->d.http_status);
    CHECK(e->d.has_concur_code == 1 && e->d.concur_code == code, "%s: code %d %lld", what,
          e->d.has_concur_code, (long long)e->d.concur_code);
    CHECK(strcmp(e->oauth_error, oauth_error) == 0 && e->d.oauth_error.len == strlen(oauth_error),
          "%s: oauth_error '%s'", what, e->oauth_error);
    CHECK(e->d.correlation_id.len > 0 && strlen(e->correlation_id) == e->d.correlation_id.len,
          "%s: correlation id '%s'", what, e->correlation_id);
    CHECK(untouched_after(e->oauth_error, SMALL, sizeof e->oauth_error), "%s: details bounds", what);
}

/* ---- the grants ---- */

static void test_password_and_rotation(void) {
    concur_client *client = client_at(base_url, 0, NULL);
    struct token_out t;
    struct details_out e;
    concur_oauth2_grant g = password_grant(login_id, password);
    g.code = (const char *)1; /* a field the kind does not use is never read */
    concur_status status = token(client, &g, NULL, &t, &e);
    CHECK(status == CONCUR_OK, "password grant: %s", error);
    CHECK(error[0] == '\0', "error emptied on success");
    CHECK(t.out.access_token.len > 0 && t.out.access_token.len == strlen(t.field[0]), "access token");
    CHECK(strcmp(t.field[1], "Bearer") == 0, "token type '%s'", t.field[1]);
    CHECK(t.out.refresh_token.len > 0, "a refresh token");
    CHECK(strstr(t.field[3], "openid") != NULL, "scope '%s'", t.field[3]);
    CHECK(strcmp(t.field[4], base_url) == 0, "geolocation '%s'", t.field[4]);
    CHECK(t.out.id_token.len > 0, "an id_token");
    CHECK(t.out.subject.len == 36, "subject '%s'", t.field[6]);
    CHECK(strcmp(t.field[7], "user") == 0, "principal type '%s'", t.field[7]);
    CHECK(t.out.correlation_id.len > 0, "a correlation id");
    CHECK(strcmp(t.field[8], e.correlation_id) == 0, "details correlation id '%s' vs '%s'",
          e.correlation_id, t.field[8]);
    CHECK(e.d.http_status == 0 && e.d.has_concur_code == 0 && e.d.concur_code == 0 &&
              e.d.oauth_error.len == 0 && e.oauth_error[0] == '\0' && e.d.geolocation.len == 0,
          "details emptied on success");
    /* expires_in arrives as the string "3600". */
    CHECK(t.out.expires_at >= now() + 3500 && t.out.expires_at <= now() + 3700, "expires_at %lld",
          (long long)t.out.expires_at);
    CHECK(t.out.refresh_expires_at > now() + 100 * 86400, "refresh_expires_at %lld",
          (long long)t.out.refresh_expires_at);
    CHECK(t.out.http_status == 0, "http_status 0 on success");

    /* Refresh in place: the grant reads the refresh token held in out->refresh_token. */
    char old_refresh[ROOM], geolocation[ROOM];
    strcpy(old_refresh, t.field[2]);
    strcpy(geolocation, t.field[4]);
    struct token_out r;
    prepare_token(&r, ROOM);
    memcpy(r.field[2], old_refresh, strlen(old_refresh) + 1);
    concur_oauth2_grant rg = refresh_grant(r.field[2]);
    concur_status s2 = concur_client_oauth2_token(client, client_id, client_secret, &rg, geolocation,
                                                  &r.out, NULL, error, ROOM);
    remember_error();
    CHECK(s2 == CONCUR_OK, "refresh in place: %s", error);
    CHECK(r.out.refresh_token.len > 0 && strcmp(r.field[2], old_refresh) != 0,
          "the refresh token rotated");
    CHECK(strcmp(r.field[4], geolocation) == 0, "geolocation kept '%s'", r.field[4]);

    /* The old refresh token is spent: code 108. */
    concur_oauth2_grant old = refresh_grant(old_refresh);
    status = token(client, &old, geolocation, &t, &e);
    expect_refusal(status, &t, &e, CONCUR_ERR_UNAUTHORIZED, 108, "invalid_grant", 400,
                   "old refresh token");

    /* The new one works, once more. */
    char rotated[ROOM];
    strcpy(rotated, r.field[2]);
    concur_oauth2_grant again = refresh_grant(rotated);
    status = token(client, &again, geolocation, &t, NULL);
    CHECK(status == CONCUR_OK, "the rotated refresh token works: %s", error);
    concur_client_free(client);
}

static void test_other_grants(void) {
    concur_client *client = client_at(base_url, 0, NULL);
    struct token_out t;
    struct details_out e;

    concur_oauth2_grant company;
    concur_oauth2_grant_init(&company);
    company.kind = CONCUR_GRANT_COMPANY;
    company.company_id = company_id;
    company.request_token = request_token;
    CHECK(token(client, &company, NULL, &t, &e) == CONCUR_OK, "company grant: %s", error);
    CHECK(strcmp(t.field[7], "company") == 0, "principal type '%s'", t.field[7]);
    CHECK(strcmp(t.field[6], company_id) == 0, "subject '%s'", t.field[6]);
    CHECK(t.out.refresh_token.len > 0, "a company refresh token");

    concur_oauth2_grant app;
    concur_oauth2_grant_init(&app);
    app.kind = CONCUR_GRANT_CLIENT_CREDENTIALS;
    app.username = (const char *)1; /* never read */
    CHECK(token(client, &app, NULL, &t, &e) == CONCUR_OK, "client_credentials: %s", error);
    CHECK(t.out.access_token.len > 0, "an application token");
    CHECK(t.out.refresh_token.len == 0 && t.field[2][0] == '\0', "no refresh token");
    CHECK(t.out.id_token.len == 0, "no id_token");

    /* Authorization code, from the callback the harness got from the server's authorize page. */
    char code[256], geolocation[256];
    concur_buffer code_out = {code, sizeof code, 0}, geo_out = {geolocation, sizeof geolocation, 0};
    concur_status status = concur_parse_oauth2_callback(callback_url, "wrong-state", &code_out,
                                                        &geo_out, &e.d, error, ROOM);
    remember_error();
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT && code_out.len == 0, "a forged state: %s", error);
    prepare_details(&e);
    status = concur_parse_oauth2_callback(callback_url, "o2state", &code_out, &geo_out, &e.d, error,
                                          ROOM);
    CHECK(status == CONCUR_OK, "callback: %s", error);
    CHECK(code_out.len > 0 && strcmp(geolocation, base_url) == 0, "code, geolocation '%s'",
          geolocation);
    CHECK(e.d.has_concur_code == 0 && e.d.correlation_id.len == 0, "callback details empty");

    concur_oauth2_grant ac;
    concur_oauth2_grant_init(&ac);
    ac.kind = CONCUR_GRANT_AUTHORIZATION_CODE;
    ac.code = code;
    ac.redirect_uri = "https://partner.example/other";
    status = token(client, &ac, geolocation, &t, &e);
    expect_refusal(status, &t, &e, CONCUR_ERR_UNAUTHORIZED, 104, "invalid_grant", 400,
                   "redirect_uri mismatch");
    ac.redirect_uri = "https://partner.example/cb";
    CHECK(token(client, &ac, geolocation, &t, &e) == CONCUR_OK, "authorization_code: %s", error);
    CHECK(strcmp(t.field[7], "user") == 0 && t.out.refresh_token.len > 0, "a user's token");
    char access[ROOM];
    strcpy(access, t.field[0]);
    status = token(client, &ac, geolocation, &t, &e);
    expect_refusal(status, &t, &e, CONCUR_ERR_UNAUTHORIZED, 103, "invalid_request", 400,
                   "a code used twice");

    /* A refusal in the callback carries Concur's code. */
    status = concur_parse_oauth2_callback(
        "https://partner.example/cb?error_code=14&error_description=Locked&state=s", "s",
        &code_out, NULL, &e.d, error, ROOM);
    remember_error();
    CHECK(status == CONCUR_ERR_UNAUTHORIZED && e.d.has_concur_code == 1 && e.d.concur_code == 14,
          "callback refusal: %s", error);

    /* One-time password: sent, then traded. */
    char email[128];
    snprintf(email, sizeof email, "otp.%s@example.com", tag);
    prepare_details(&e);
    status = concur_client_oauth2_send_otp(client, client_id, client_secret, email, "Otto",
                                           "Example Corp", NULL, NULL, &e.d, error, ROOM);
    remember_error();
    CHECK(status == CONCUR_OK, "send_otp: %s", error);
    CHECK(e.d.has_concur_code == 0 && e.d.http_status == 0, "send_otp details empty");
    concur_oauth2_grant og;
    concur_oauth2_grant_init(&og);
    og.kind = CONCUR_GRANT_OTP;
    og.email = email;
    og.otp = otp_code;
    CHECK(token(client, &og, NULL, &t, &e) == CONCUR_OK, "otp grant: %s", error);
    CHECK(t.out.access_token.len > 0 && strcmp(t.field[7], "user") == 0, "an otp token");

    /* Revocation: the user's connections go, and with them every refresh token. */
    /* Another user than the other tests', so that runs side by side do not meet. */
    concur_oauth2_grant pg = password_grant(other_login, other_password);
    CHECK(token(client, &pg, NULL, &t, &e) == CONCUR_OK, "password grant: %s", error);
    char refresh[ROOM];
    strcpy(refresh, t.field[2]);
    strcpy(access, t.field[0]);
    prepare_details(&e);
    status = concur_client_oauth2_revoke_connections(client, access, NULL, &e.d, error, ROOM);
    remember_error();
    CHECK(status == CONCUR_OK, "revoke: %s", error);
    concur_oauth2_grant rg = refresh_grant(refresh);
    status = token(client, &rg, NULL, &t, &e);
    expect_refusal(status, &t, &e, CONCUR_ERR_UNAUTHORIZED, 108, "invalid_grant", 400,
                   "a revoked refresh token");
    prepare_details(&e);
    status = concur_client_oauth2_revoke_connections(client, "not-a-token", NULL, &e.d, error, ROOM);
    remember_error();
    CHECK(status == CONCUR_ERR_UNAUTHORIZED && e.d.http_status == 401 && e.d.has_concur_code == 0,
          "revoke with a bad token: %s", error);
    CHECK(strcmp(e.oauth_error, "invalid_token") == 0, "oauth_error '%s'", e.oauth_error);

    concur_client_free(client);
}

static void test_migration(void) {
    concur_client *client = client_at(base_url, 0, NULL);
    /* A legacy refresh token, from the Native Flow. */
    char legacy_token[ROOM], legacy_refresh[ROOM];
    concur_token_buffers legacy;
    memset(&legacy, 0, sizeof legacy);
    legacy.token.data = legacy_token;
    legacy.token.capacity = sizeof legacy_token;
    legacy.refresh_token.data = legacy_refresh;
    legacy.refresh_token.capacity = sizeof legacy_refresh;
    concur_status status = concur_client_native_token(client, consumer_key, login_id, password,
                                                      &legacy, error, ROOM);
    CHECK(status == CONCUR_OK, "native token: %s", error);

    struct token_out t;
    struct details_out e;
    concur_oauth2_grant app;
    concur_oauth2_grant_init(&app);
    app.kind = CONCUR_GRANT_CLIENT_CREDENTIALS;
    CHECK(token(client, &app, NULL, &t, NULL) == CONCUR_OK, "app token: %s", error);
    char app_token[ROOM], exchanged[ROOM];
    strcpy(app_token, t.field[0]);

    concur_buffer out = {exchanged, sizeof exchanged, 0};
    prepare_details(&e);
    status = concur_client_exchange_legacy_refresh_token(client, app_token, consumer_key,
                                                         legacy_refresh, client_secret, 0, NULL,
                                                         &out, &e.d, error, ROOM);
    remember_error();
    CHECK(status == CONCUR_OK, "migration: %s", error);
    CHECK(out.len > 0 && strlen(exchanged) == out.len, "a new refresh token");
    CHECK(e.d.correlation_id.len > 0, "the migration's correlation id");
    concur_oauth2_grant rg = refresh_grant(exchanged);
    CHECK(token(client, &rg, NULL, &t, NULL) == CONCUR_OK, "refresh with it: %s", error);

    prepare_details(&e);
    status = concur_client_exchange_legacy_refresh_token(client, app_token, consumer_key,
                                                         "not-a-legacy-token", client_secret, 0,
                                                         NULL, &out, &e.d, error, ROOM);
    remember_error();
    CHECK(status == CONCUR_ERR_UNAUTHORIZED && out.len == 0 && exchanged[0] == '\0',
          "a bad legacy token: %s", error);
    CHECK(strcmp(e.oauth_error, "INVALIDTOKEN") == 0 && e.d.http_status == 400, "word code '%s'",
          e.oauth_error);
    concur_client_free(client);
}

/* ---- errors ---- */

static void test_error_codes(void) {
    concur_client *client = client_at(base_url, 0, NULL);
    struct token_out t;
    struct details_out e;

    concur_oauth2_grant wrong = password_grant(login_id, "definitely-wrong");
    concur_status status = token(client, &wrong, NULL, &t, &e);
    expect_refusal(status, &t, &e, CONCUR_ERR_UNAUTHORIZED, 5, "invalid_grant", 400,
                   "wrong password");
    CHECK(strstr(error, "code 5") != NULL, "the text names the code: %s", error);

    concur_oauth2_grant locked = password_grant(locked_username, "whatever");
    status = token(client, &locked, NULL, &t, &e);
    expect_refusal(status, &t, &e, CONCUR_ERR_UNAUTHORIZED, 14, "invalid_grant", 400, "locked");

    /* A wrong client secret: code 64, HTTP 401. */
    concur_oauth2_grant pg = password_grant(login_id, password);
    prepare_token(&t, ROOM);
    prepare_details(&e);
    status = concur_client_oauth2_token(client, client_id, "wrong-secret", &pg, NULL, &t.out, &e.d,
                                        error, ROOM);
    remember_error();
    expect_refusal(status, &t, &e, CONCUR_ERR_UNAUTHORIZED, 64, "invalid_client", 401,
                   "wrong client secret");

    /* 120 (credtype invalid): not a refusal of credentials, an HTTP status error. */
    concur_client *c120 = client_at(scenario("error-120"), 0, NULL);
    status = token(c120, &pg, NULL, &t, &e);
    expect_refusal(status, &t, &e, CONCUR_ERR_HTTP_STATUS, 120, "invalid_request", 400, "code 120");
    concur_client_free(c120);

    /* Code 16, followed once: data centre 2 issues the EU user's token. */
    concur_oauth2_grant eu = password_grant(eu_username, eu_password);
    status = token(client, &eu, NULL, &t, &e);
    CHECK(status == CONCUR_OK, "code 16 followed: %s", error);
    CHECK(strcmp(t.field[4], second_url) == 0, "geolocation '%s' is data centre 2", t.field[4]);
    char eu_refresh[ROOM];
    strcpy(eu_refresh, t.field[2]);
    /* A refresh sent to data centre 1 is followed to data centre 2 too. */
    concur_oauth2_grant eur = refresh_grant(eu_refresh);
    CHECK(token(client, &eur, NULL, &t, &e) == CONCUR_OK, "refresh followed: %s", error);

    /* A second 16 is not followed: data centre 1 names itself, then names data centre 2. */
    char name[64];
    snprintf(name, sizeof name, "geo16-https-%d", https_port);
    concur_client *twice = client_at(scenario(name), 0, NULL);
    status = token(twice, &eu, NULL, &t, &e);
    expect_refusal(status, &t, &e, CONCUR_ERR_HTTP_STATUS, 16, "invalid_request", 400,
                   "a second code 16");
    CHECK(strcmp(e.geolocation, second_url) == 0 && e.d.geolocation.len == strlen(second_url),
          "the geolocation of code 16: '%s'", e.geolocation);
    CHECK(strstr(error, "again") != NULL, "says why: %s", error);
    concur_client_free(twice);

    /* An untrusted geolocation (plain HTTP, from an https call) gets nothing. */
    snprintf(name, sizeof name, "geo16-http-%d", evil_port);
    concur_client *evil = client_at(scenario(name), 0, NULL);
    status = token(evil, &pg, NULL, &t, &e);
    CHECK(status == CONCUR_ERR_PROTOCOL, "untrusted 16: %s", error);
    CHECK(strstr(error, "does not trust") != NULL, "says so: %s", error);
    CHECK(all_empty(&t) && e.d.correlation_id.len > 0, "empty outputs, a correlation id");
    concur_client_free(evil);
    snprintf(name, sizeof name, "geo-token-http-%d", evil_port);
    evil = client_at(scenario(name), 0, NULL);
    status = token(evil, &pg, NULL, &t, &e);
    CHECK(status == CONCUR_ERR_PROTOCOL && all_empty(&t), "a token naming an untrusted host: %s",
          error);
    concur_client_free(evil);

    /* expires_in as a JSON number. */
    concur_client *number = client_at(scenario("expires-number"), 0, NULL);
    CHECK(token(number, &pg, NULL, &t, &e) == CONCUR_OK, "expires-number: %s", error);
    CHECK(t.out.expires_at >= now() + 3500 && t.out.expires_at <= now() + 3700, "expires_at %lld",
          (long long)t.out.expires_at);
    concur_client_free(number);
    concur_client_free(client);
}

static void test_retries_and_correlation(void) {
    struct token_out t;
    struct details_out e;
    concur_oauth2_grant pg = password_grant(login_id, password);
    char name[128];

    /* One 503, then a token: retried by default. */
    snprintf(name, sizeof name, "retry-503-1-0-%s-default", tag);
    concur_client *retrying = client_at(scenario(name), 0, NULL);
    CHECK(token(retrying, &pg, NULL, &t, &e) == CONCUR_OK, "retried: %s", error);
    concur_client_free(retrying);

    /* With retries off, the 503 is the answer. */
    snprintf(name, sizeof name, "retry-503-1-0-%s-none", tag);
    concur_client *once = client_at(scenario(name), CONCUR_RETRIES_NONE, NULL);
    concur_status status = token(once, &pg, NULL, &t, &e);
    CHECK(status == CONCUR_ERR_HTTP_STATUS, "no retry: %s", error);
    CHECK(t.out.http_status == 503 && e.d.http_status == 503 && e.d.has_concur_code == 0,
          "503 in out %u and details %u", t.out.http_status, e.d.http_status);
    CHECK(all_empty(&t), "outputs emptied");
    concur_client_free(once);

    /* The correlation id of the options is sent, and comes back both ways. */
    char id[128];
    snprintf(id, sizeof id, "c-abi-%s", tag);
    concur_client *client = client_at(base_url, 0, id);
    CHECK(token(client, &pg, NULL, &t, &e) == CONCUR_OK, "correlated: %s", error);
    CHECK(strcmp(t.field[8], id) == 0 && strcmp(e.correlation_id, id) == 0,
          "correlation id '%s' / '%s'", t.field[8], e.correlation_id);
    concur_oauth2_grant wrong = password_grant(login_id, "definitely-wrong");
    status = token(client, &wrong, NULL, &t, &e);
    CHECK(status == CONCUR_ERR_UNAUTHORIZED && strcmp(e.correlation_id, id) == 0,
          "on failure: '%s'", e.correlation_id);
    CHECK(strstr(error, id) != NULL, "the error text quotes it: %s", error);
    prepare_details(&e);
    char email[128];
    snprintf(email, sizeof email, "corr.%s@example.com", tag);
    status = concur_client_oauth2_send_otp(client, client_id, client_secret, email, NULL, NULL, NULL,
                                           NULL, &e.d, error, ROOM);
    CHECK(status == CONCUR_OK && strcmp(e.correlation_id, id) == 0, "send_otp: '%s' %s",
          e.correlation_id, error);
    concur_client_free(client);
}

/* ---- buffers, struct sizes, bad arguments ---- */

static void test_buffers(void) {
    concur_client *client = client_at(base_url, 0, NULL);
    struct token_out t;
    struct details_out e;
    concur_oauth2_grant pg = password_grant(login_id, password);

    /* Too small: all or nothing, every len the size needed. */
    prepare_token(&t, ROOM);
    prepare_details(&e);
    t.out.access_token.capacity = 8;
    concur_status status = concur_client_oauth2_token(client, client_id, client_secret, &pg, NULL,
                                                      &t.out, &e.d, error, ROOM);
    remember_error();
    CHECK(status == CONCUR_ERR_BUFFER_TOO_SMALL, "too small: %s", error);
    CHECK(t.out.access_token.len > 8 && t.field[0][0] == '\0', "needed %zu", t.out.access_token.len);
    CHECK(t.out.token_type.len == 6 && t.field[1][0] == '\0', "other lens reported, nothing written");
    CHECK(t.out.expires_at == 0 && untouched_after(t.field[0], 8, sizeof t.field[0]),
          "nothing past capacity");
    CHECK(e.d.correlation_id.len > 0 && e.d.has_concur_code == 0, "the correlation id still comes");
    prepare_token(&t, ROOM);
    t.out.access_token.capacity = t.out.access_token.len = 0;
    t.out.access_token.data = NULL;
    for (int i = 1; i < NFIELDS; i++) field_of(&t.out, i)->capacity = ROOM;
    status = concur_client_oauth2_token(client, client_id, client_secret, &pg, NULL, &t.out, NULL,
                                        error, ROOM);
    CHECK(status == CONCUR_OK && t.out.access_token.len > 0, "a skipped field's len: %s", error);

    /* A details buffer too small keeps its len and stays empty; the status is the call's. */
    concur_oauth2_grant wrong = password_grant(login_id, "definitely-wrong");
    prepare_token(&t, ROOM);
    prepare_details(&e);
    e.d.oauth_error.capacity = 4;
    status = concur_client_oauth2_token(client, client_id, client_secret, &wrong, NULL, &t.out, &e.d,
                                        error, ROOM);
    CHECK(status == CONCUR_ERR_UNAUTHORIZED, "status kept: %s", error);
    CHECK(e.d.oauth_error.len == strlen("invalid_grant") && e.oauth_error[0] == '\0',
          "details len %zu", e.d.oauth_error.len);
    CHECK(e.d.concur_code == 5 && untouched_after(e.oauth_error, 4, sizeof e.oauth_error),
          "the rest of the details");

    /* The authorize URL. */
    char url[1024], state[128];
    concur_buffer url_out = {url, sizeof url, 0}, state_out = {state, sizeof state, 0};
    status = concur_oauth2_authorize_url(client_id, "https://partner.example/cb", "openid EXPRPT",
                                         "s1", base_url, &url_out, &state_out, error, ROOM);
    CHECK(status == CONCUR_OK, "authorize url: %s", error);
    CHECK(strncmp(url, base_url, strlen(base_url)) == 0 &&
              strstr(url, "/oauth2/v0/authorize?client_id=") != NULL &&
              strstr(url, "scope=openid%20EXPRPT") != NULL && strstr(url, "state=s1") != NULL &&
              strstr(url, "response_type=code") != NULL,
          "url %s", url);
    CHECK(strcmp(state, "s1") == 0 && state_out.len == 2, "state '%s'", state);
    status = concur_oauth2_authorize_url(client_id, "https://partner.example/cb", NULL, NULL, NULL,
                                         &url_out, &state_out, error, ROOM);
    CHECK(status == CONCUR_OK && state_out.len == 32, "a random state: %s", error);
    const char *default_url = "https://www-us2.api.concursolutions.com/oauth2/v0/authorize?";
    CHECK(strncmp(url, default_url, strlen(default_url)) == 0 &&
              strstr(url, "scope=") == NULL,
          "default host, no scope: %s", url);
    url_out.capacity = 10;
    status = concur_oauth2_authorize_url(client_id, "https://partner.example/cb", NULL, "s1",
                                         base_url, &url_out, &state_out, error, ROOM);
    CHECK(status == CONCUR_ERR_BUFFER_TOO_SMALL && url_out.len > 10 && state_out.len == 2 &&
              url[0] == '\0' && state[0] == '\0',
          "url too small: %zu", url_out.len);
    concur_client_free(client);
}

static void test_struct_sizes(void) {
    concur_client *client = client_at(base_url, 0, NULL);
    struct token_out t;
    struct details_out e;
    concur_oauth2_grant pg = password_grant(login_id, password);

    /* Bigger structs (a newer header) with their unknown fields zero are accepted. */
    struct {
        concur_oauth2_grant g;
        char later[24];
    } big_grant;
    memset(&big_grant, 0, sizeof big_grant);
    big_grant.g = pg;
    big_grant.g.struct_size = (uint32_t)sizeof big_grant;
    CHECK(token(client, &big_grant.g, NULL, &t, &e) == CONCUR_OK, "a bigger grant: %s", error);
    big_grant.later[5] = 1;
    concur_status status = token(client, &big_grant.g, NULL, &t, &e);
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT && strstr(error, "upgrade") != NULL,
          "a later field set: %s", error);

    struct {
        concur_oauth2_token_buffers out;
        concur_buffer later;
    } big_out;
    char access[ROOM];
    concur_oauth2_token_buffers_init(&big_out.out);
    big_out.out.struct_size = (uint32_t)sizeof big_out;
    big_out.out.access_token.data = access;
    big_out.out.access_token.capacity = sizeof access;
    big_out.later.data = (char *)1; /* a field this library does not know: never touched */
    big_out.later.capacity = 77;
    big_out.later.len = 88;
    status = concur_client_oauth2_token(client, client_id, client_secret, &pg, NULL, &big_out.out,
                                        NULL, error, ROOM);
    CHECK(status == CONCUR_OK && big_out.out.access_token.len > 0, "a bigger out: %s", error);
    CHECK(big_out.later.data == (char *)1 && big_out.later.capacity == 77 && big_out.later.len == 88,
          "an unknown output field left alone");

    struct {
        concur_options o;
        char later[16];
    } big_options;
    memset(&big_options, 0, sizeof big_options);
    big_options.o.struct_size = (uint32_t)sizeof big_options;
    big_options.o.base_url = base_url;
    big_options.o.ca_file = ca_file;
    concur_client *c = NULL;
    CHECK(concur_client_new(&big_options.o, &c, error, ROOM) == CONCUR_OK && c != NULL,
          "bigger options: %s", error);
    concur_client_free(c);
    big_options.later[0] = 1;
    CHECK(concur_client_new(&big_options.o, &c, error, ROOM) == CONCUR_ERR_INVALID_ARGUMENT &&
              c == NULL,
          "a later option set: %s", error);

    /* concur_options: 0 is this version's layout; too small is refused. */
    concur_options o;
    memset(&o, 0, sizeof o);
    o.base_url = base_url;
    o.ca_file = ca_file;
    CHECK(concur_client_new(&o, &c, error, ROOM) == CONCUR_OK, "struct_size 0: %s", error);
    concur_client_free(c);
    o.struct_size = 8;
    CHECK(concur_client_new(&o, &c, error, ROOM) == CONCUR_ERR_INVALID_ARGUMENT &&
              strstr(error, "smaller") != NULL,
          "struct_size 8: %s", error);
    o.struct_size = 1u << 30;
    CHECK(concur_client_new(&o, &c, error, ROOM) == CONCUR_ERR_INVALID_ARGUMENT, "implausible: %s",
          error);

    /* The new options are checked. */
    concur_options_init(&o);
    o.base_url = base_url;
    o.ca_file = ca_file;
    o.trusted_hosts = "concur.example.com, other.example";
    CHECK(concur_client_new(&o, &c, error, ROOM) == CONCUR_OK, "trusted hosts: %s", error);
    concur_client_free(c);
    const char *bad_hosts[] = {"bad host", "a,,b", "https://x.example"};
    for (int i = 0; i < 3; i++) {
        o.trusted_hosts = bad_hosts[i];
        CHECK(concur_client_new(&o, &c, error, ROOM) == CONCUR_ERR_INVALID_ARGUMENT,
              "trusted hosts '%s': %s", bad_hosts[i], error);
    }
    o.trusted_hosts = NULL;
    o.retries = -2;
    CHECK(concur_client_new(&o, &c, error, ROOM) == CONCUR_ERR_INVALID_ARGUMENT, "retries -2");
    o.retries = 11;
    CHECK(concur_client_new(&o, &c, error, ROOM) == CONCUR_ERR_INVALID_ARGUMENT, "retries 11");
    o.retries = 0;
    o.correlation_id = "has space";
    CHECK(concur_client_new(&o, &c, error, ROOM) == CONCUR_ERR_INVALID_ARGUMENT, "correlation id");
    concur_client_free(client);
}

/* Each bad call goes to a "never-" scenario: tests/c_abi.rs checks none of them reached it. */
static void test_bad_arguments(void) {
    char name[64];
    snprintf(name, sizeof name, "never-%s", tag);
    concur_client *client = client_at(scenario(name), 0, NULL);
    struct token_out t;
    struct details_out e;
    concur_oauth2_grant pg = password_grant(login_id, password);
    concur_status status;

#define REFUSED(call, what)                                                                   \
    do {                                                                                      \
        prepare_token(&t, ROOM);                                                                          \
        prepare_details(&e);                                                                  \
        status = (call);                                                                      \
        remember_error();                                                                     \
        CHECK(status == CONCUR_ERR_INVALID_ARGUMENT, "%s: %s: %s", what,                     \
              concur_native_status_name(status), error);                                     \
        CHECK(strncmp(error, "invalid argument: ", 18) == 0, "%s: message %s", what, error); \
    } while (0)

    REFUSED(concur_client_oauth2_token(NULL, client_id, client_secret, &pg, NULL, &t.out, &e.d,
                                       error, ROOM),
            "NULL client");
    CHECK(all_empty(&t) && e.d.has_concur_code == 0 && e.d.correlation_id.len == 0,
          "outputs and details emptied");
    REFUSED(concur_client_oauth2_token(client, NULL, client_secret, &pg, NULL, &t.out, &e.d, error,
                                       ROOM),
            "NULL client_id");
    REFUSED(concur_client_oauth2_token(client, client_id, NULL, &pg, NULL, &t.out, &e.d, error,
                                       ROOM),
            "NULL client_secret");
    REFUSED(concur_client_oauth2_token(client, client_id, client_secret, NULL, NULL, &t.out, &e.d,
                                       error, ROOM),
            "NULL grant");
    REFUSED(concur_client_oauth2_token(client, client_id, client_secret, &pg, NULL, NULL, &e.d,
                                       error, ROOM),
            "NULL out");
    concur_oauth2_grant g = pg;
    g.struct_size = 0;
    REFUSED(concur_client_oauth2_token(client, client_id, client_secret, &g, NULL, &t.out, &e.d,
                                       error, ROOM),
            "grant struct_size 0");
    CHECK(strstr(error, "struct_size not set") != NULL, "%s", error);
    g = pg;
    g.kind = 0;
    REFUSED(concur_client_oauth2_token(client, client_id, client_secret, &g, NULL, &t.out, &e.d,
                                       error, ROOM),
            "kind 0");
    g.kind = 99;
    REFUSED(concur_client_oauth2_token(client, client_id, client_secret, &g, NULL, &t.out, &e.d,
                                       error, ROOM),
            "kind 99");
    g = pg;
    g.username = NULL;
    REFUSED(concur_client_oauth2_token(client, client_id, client_secret, &g, NULL, &t.out, &e.d,
                                       error, ROOM),
            "NULL username");
    CHECK(strstr(error, "grant->username") != NULL, "%s", error);
    g = pg;
    g.password = "";
    REFUSED(concur_client_oauth2_token(client, client_id, client_secret, &g, NULL, &t.out, &e.d,
                                       error, ROOM),
            "empty password");
    g.password = "caf\xc3(";
    REFUSED(concur_client_oauth2_token(client, client_id, client_secret, &g, NULL, &t.out, &e.d,
                                       error, ROOM),
            "invalid UTF-8");
    concur_oauth2_grant kinds[4];
    for (int i = 0; i < 4; i++) concur_oauth2_grant_init(&kinds[i]);
    kinds[0].kind = CONCUR_GRANT_COMPANY;
    kinds[1].kind = CONCUR_GRANT_REFRESH_TOKEN;
    kinds[2].kind = CONCUR_GRANT_AUTHORIZATION_CODE;
    kinds[3].kind = CONCUR_GRANT_OTP;
    for (int i = 0; i < 4; i++)
        REFUSED(concur_client_oauth2_token(client, client_id, client_secret, &kinds[i], NULL,
                                           &t.out, &e.d, error, ROOM),
                "a grant without its fields");
    REFUSED(concur_client_oauth2_token(client, client_id, client_secret, &pg, "http://example.com",
                                       &t.out, &e.d, error, ROOM),
            "a plain-HTTP host");
    /* Buffers. */
    prepare_token(&t, ROOM);
    t.out.struct_size = 0;
    status = concur_client_oauth2_token(client, client_id, client_secret, &pg, NULL, &t.out, NULL,
                                        error, ROOM);
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT && strstr(error, "out->struct_size") != NULL,
          "out struct_size 0: %s", error);
    prepare_token(&t, ROOM);
    prepare_details(&e);
    e.d.struct_size = 0;
    status = concur_client_oauth2_token(client, client_id, client_secret, &pg, NULL, &t.out, &e.d,
                                        error, ROOM);
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT && strstr(error, "details->struct_size") != NULL,
          "details struct_size 0: %s", error);
    prepare_token(&t, ROOM);
    t.out.scope.data = NULL;
    status = concur_client_oauth2_token(client, client_id, client_secret, &pg, NULL, &t.out, NULL,
                                        error, ROOM);
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT && strstr(error, "out->scope.data is NULL") != NULL,
          "NULL data with a capacity: %s", error);
    prepare_token(&t, ROOM);
    t.out.refresh_token.data = t.field[0] + 10;
    status = concur_client_oauth2_token(client, client_id, client_secret, &pg, NULL, &t.out, NULL,
                                        error, ROOM);
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT &&
              strstr(error, "out->access_token and out->refresh_token overlap") != NULL,
          "overlapping outputs: %s", error);
    prepare_token(&t, ROOM);
    prepare_details(&e);
    e.d.correlation_id.data = t.field[8];
    status = concur_client_oauth2_token(client, client_id, client_secret, &pg, NULL, &t.out, &e.d,
                                        error, ROOM);
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT && strstr(error, "overlap") != NULL,
          "details overlapping an output: %s", error);
    prepare_token(&t, ROOM);
    prepare_details(&e);
    e.d.geolocation.data = error + 4;
    status = concur_client_oauth2_token(client, client_id, client_secret, &pg, NULL, &t.out, &e.d,
                                        error, ROOM);
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT, "details overlapping the error buffer");
    /* The other functions. */
    REFUSED(concur_client_oauth2_send_otp(client, client_id, client_secret, NULL, NULL, NULL, NULL,
                                          NULL, &e.d, error, ROOM),
            "send_otp without email");
    REFUSED(concur_client_oauth2_send_otp(client, client_id, client_secret, "a@example.com",
                                          "line\nbreak", NULL, NULL, NULL, &e.d, error, ROOM),
            "send_otp with a control character");
    REFUSED(concur_client_oauth2_revoke_connections(client, NULL, NULL, &e.d, error, ROOM),
            "revoke without a token");
    REFUSED(concur_client_oauth2_revoke_connections(client, "two words", NULL, &e.d, error, ROOM),
            "revoke with a malformed token");
    char out_data[64];
    concur_buffer out = {out_data, sizeof out_data, 0};
    REFUSED(concur_client_exchange_legacy_refresh_token(client, "app", consumer_key, "old", NULL, 0,
                                                        NULL, &out, &e.d, error, ROOM),
            "migration without a secret");
    REFUSED(concur_client_exchange_legacy_refresh_token(client, "app", consumer_key, "old",
                                                        client_secret, 0, NULL, NULL, &e.d, error,
                                                        ROOM),
            "migration without an output");
    concur_buffer url_out = {out_data, sizeof out_data, 0};
    REFUSED(concur_oauth2_authorize_url(client_id, "https://partner.example/cb", NULL, NULL, NULL,
                                        &url_out, &url_out, error, ROOM),
            "authorize url into one buffer twice");
    REFUSED(concur_oauth2_authorize_url(NULL, "https://partner.example/cb", NULL, NULL, NULL,
                                        &url_out, &out, error, ROOM),
            "authorize url without client id");
    REFUSED(concur_parse_oauth2_callback(NULL, NULL, &out, NULL, &e.d, error, ROOM),
            "callback NULL");
    REFUSED(concur_parse_oauth2_callback("https://partner.example/cb?state=s", "s", &out, NULL,
                                         &e.d, error, ROOM),
            "callback without code");
    /* A NULL error buffer and NULL details are fine. */
    status = concur_client_oauth2_token(client, NULL, client_secret, &pg, NULL, &t.out, NULL, NULL,
                                        0);
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT, "NULL error buffer");
#undef REFUSED
    concur_client_free(client);
}

static void test_secrets_absent(void) {
    const char *secrets[] = {password, client_secret, eu_password, request_token, otp_code,
                             other_password, "definitely-wrong"};
    int leaks = 0;
    for (int i = 0; i < n_errors; i++)
        for (size_t s = 0; s < sizeof secrets / sizeof secrets[0]; s++)
            if (strstr(errors_seen[i], secrets[s]) != NULL) {
                leaks++;
                printf("not ok: a secret in: %s\n", errors_seen[i]);
            }
    CHECK(leaks == 0, "%d error texts quote a secret", leaks);
    CHECK(n_errors > 40, "only %d error texts seen", n_errors);
}

int main(void) {
    base_url = env("CONCUR_TEST_BASE_URL");
    second_url = env("CONCUR_TEST_SECOND_URL");
    ca_file = env("CONCUR_TEST_CA_FILE");
    client_id = env("CONCUR_TEST_OAUTH2_CLIENT_ID");
    client_secret = env("CONCUR_TEST_OAUTH2_CLIENT_SECRET");
    login_id = env("CONCUR_TEST_LOGIN_ID");
    password = env("CONCUR_TEST_PASSWORD");
    eu_username = env("CONCUR_TEST_EU_USERNAME");
    eu_password = env("CONCUR_TEST_EU_PASSWORD");
    locked_username = env("CONCUR_TEST_LOCKED_USERNAME");
    company_id = env("CONCUR_TEST_COMPANY_ID");
    request_token = env("CONCUR_TEST_REQUEST_TOKEN");
    otp_code = env("CONCUR_TEST_OTP");
    callback_url = env("CONCUR_TEST_OAUTH2_CALLBACK_URL");
    consumer_key = env("CONCUR_TEST_CONSUMER_KEY");
    tag = env("CONCUR_TEST_RUN_TAG");
    other_login = env("CONCUR_TEST_OTHER_LOGIN_ID");
    other_password = env("CONCUR_TEST_OTHER_PASSWORD");
    https_port = atoi(env("CONCUR_TEST_HTTPS_PORT"));
    evil_port = atoi(env("CONCUR_TEST_EVIL_PORT"));

    test_password_and_rotation();
    test_other_grants();
    test_migration();
    test_error_codes();
    test_retries_and_correlation();
    test_buffers();
    test_struct_sizes();
    test_bad_arguments();
    test_secrets_absent();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
