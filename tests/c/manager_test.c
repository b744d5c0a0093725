/*
 * The token manager's C ABI (concur_token_manager_*), checked from C against the loopback test
 * server. Run by tests/c_abi.rs, which starts the server (and a redis-server), passes them
 * through the environment (CONCUR_TEST_*, read in main) and, after this program, counts in the
 * server's log the token requests of each case: every case's client sends its own correlation
 * id, "m-<tag>-<case>", so the harness can tell a token served from memory or from a store (no
 * request) from one refreshed, and see that bad arguments sent nothing ("m-<tag>-never").
 * Prints one line per failed check and ends with "N passed, N failed".
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "concur_native.h"
#include "support.h"

static const char *base_url, *ca_file, *client_id, *client_secret, *login_id, *password,
    *company_id, *request_token, *tag, *dir, *redis_url;

/* ---- outputs with sentinels past every capacity ---- */

#define ROOM TOKEN_ROOM

/* ---- error texts, checked for secrets ---- */

static char seeded_refresh[ROOM];

static void no_secret_in(const char *text, const char *what) {
    CHECK(strstr(text, client_secret) == NULL, "%s: the client secret in '%s'", what, text);
    CHECK(strstr(text, password) == NULL, "%s: the password in '%s'", what, text);
    CHECK(seeded_refresh[0] == '\0' || strstr(text, seeded_refresh) == NULL,
          "%s: a refresh token in '%s'", what, text);
}

/* ---- clients and managers ---- */

static char correlation[64][128];
static int correlation_next;

/* A client whose requests carry "m-<tag>-<name>", for the harness's count. */
static concur_client *client_for(const char *name) {
    char *id = correlation[correlation_next++ % 64];
    snprintf(id, 128, "m-%s-%s", tag, name);
    concur_options options;
    concur_options_init(&options);
    options.base_url = base_url;
    options.ca_file = ca_file;
    options.timeout_ms = 20000;
    options.correlation_id = id;
    concur_client *client = NULL;
    char error[512];
    if (concur_client_new(&options, &client, error, sizeof error) != CONCUR_OK) {
        printf("not ok: a client for %s: %s\n", name, error);
        exit(3);
    }
    return client;
}

/* A fresh refresh token (and its geolocation) from a password grant. */
static void seed(char *refresh_token, char *geolocation) {
    concur_client *client = client_for("seed");
    concur_oauth2_grant grant;
    concur_oauth2_grant_init(&grant);
    grant.kind = CONCUR_GRANT_PASSWORD;
    grant.username = login_id;
    grant.password = password;
    struct token_out t;
    prepare_token(&t, ROOM);
    char error[512];
    concur_status status = concur_client_oauth2_token(client, client_id, client_secret, &grant,
                                                      NULL, &t.out, NULL, error, sizeof error);
    if (status != CONCUR_OK) {
        printf("not ok: seeding a refresh token: %s\n", error);
        exit(3);
    }
    strcpy(refresh_token, t.field[2]);
    strcpy(geolocation, t.field[4]);
    strcpy(seeded_refresh, t.field[2]);
    concur_client_free(client);
}

static concur_token_manager_options refresh_options(const char *refresh_token,
                                                    const char *geolocation) {
    concur_token_manager_options o;
    concur_token_manager_options_init(&o);
    o.client_id = client_id;
    o.client_secret = client_secret;
    o.start = CONCUR_MANAGER_START_REFRESH_TOKEN;
    o.refresh_token = refresh_token;
    o.geolocation = geolocation;
    return o;
}

static concur_token_manager *manager_for(const concur_client *client,
                                         const concur_token_manager_options *o) {
    concur_token_manager *m = NULL;
    char error[512];
    concur_status status = concur_token_manager_new(client, o, &m, error, sizeof error);
    CHECK(status == CONCUR_OK && m != NULL, "a manager: %s: %s", concur_native_status_name(status),
          error);
    if (m == NULL) exit(3);
    return m;
}

static char last_error[ROOM + 16];

/* One access_token call into fresh sentinel-guarded outputs. */
static concur_status get(const concur_token_manager *m, struct token_out *t,
                         struct details_out *e) {
    prepare_token(t, ROOM);
    if (e) prepare_details(e);
    memset(last_error, SENTINEL, sizeof last_error);
    concur_status status =
        concur_token_manager_access_token(m, &t->out, e ? &e->d : NULL, last_error, ROOM);
    CHECK(untouched_after(last_error, ROOM, sizeof last_error), "nothing past the error buffer");
    for (int i = 0; i < NFIELDS; i++)
        CHECK(untouched_after(t->field[i], ROOM, sizeof t->field[i]), "nothing past field %d", i);
    if (status != CONCUR_OK) no_secret_in(last_error, "error text");
    return status;
}

static concur_status get_ok(const concur_token_manager *m, struct token_out *t, const char *what) {
    concur_status status = get(m, t, NULL);
    CHECK(status == CONCUR_OK, "%s: %s: %s", what, concur_native_status_name(status), last_error);
    CHECK(t->out.access_token.len > 0 && strlen(t->field[0]) == t->out.access_token.len,
          "%s: an access token", what);
    return status;
}

static int64_t now(void) { return (int64_t)time(NULL); }

/* ---- the cases ---- */

/* A token cached in memory is served with no request (the harness counts one refresh for
 * "cached"), by a manager that keeps working after its client is freed; invalidate (an API
 * call answered 401) makes the next call refresh, although the store still holds the token as
 * valid, and the new token is then served from memory. */
static void test_cached(void) {
    char refresh[ROOM], geolocation[ROOM];
    seed(refresh, geolocation);
    concur_client *client = client_for("cached");
    concur_token_manager_options o = refresh_options(refresh, geolocation);
    concur_token_manager *m = manager_for(client, &o);
    concur_client_free(client);
    struct token_out first, t;
    get_ok(m, &first, "first");
    CHECK(strcmp(first.field[1], "Bearer") == 0, "token_type '%s'", first.field[1]);
    CHECK(strcmp(first.field[4], base_url) == 0, "geolocation '%s'", first.field[4]);
    CHECK(first.out.refresh_token.len > 0 && strcmp(first.field[2], refresh) != 0,
          "the rotated refresh token is handed out");
    /* +3601: time() reads a coarse clock that can still show the second before the one the
     * library (clock_gettime) stamped the answer with (failed once in a CI-like run). */
    CHECK(first.out.expires_at > now() + 3000 && first.out.expires_at <= now() + 3601,
          "expires_at %lld", (long long)first.out.expires_at);
    CHECK(first.out.http_status == 0, "http_status %u", first.out.http_status);
    int same = 1;
    for (int i = 0; i < 50; i++) {
        get(m, &t, NULL);
        same &= strcmp(t.field[0], first.field[0]) == 0;
    }
    CHECK(same, "50 calls: the same cached token");
    concur_token_manager_invalidate(m);
    get_ok(m, &t, "after invalidate");
    CHECK(strcmp(t.field[0], first.field[0]) != 0, "a new token after invalidate");
    struct token_out again;
    get_ok(m, &again, "after the refresh");
    CHECK(strcmp(again.field[0], t.field[0]) == 0, "the new token, from memory");
    concur_token_manager_free(m);
}

/* A margin above the token's lifetime: every call refreshes, each with the refresh token the
 * one before rotated in (the server refuses a rotated-away one with 108). */
static void test_margin(void) {
    char refresh[ROOM], geolocation[ROOM];
    seed(refresh, geolocation);
    concur_client *client = client_for("margin");
    concur_token_manager_options o = refresh_options(refresh, geolocation);
    o.margin_seconds = 3700;
    concur_token_manager *m = manager_for(client, &o);
    struct token_out t[3];
    for (int i = 0; i < 3; i++) get_ok(m, &t[i], "a refresh at the margin");
    CHECK(strcmp(t[0].field[0], t[1].field[0]) != 0 && strcmp(t[1].field[0], t[2].field[0]) != 0,
          "three different access tokens");
    CHECK(strcmp(t[0].field[2], t[1].field[2]) != 0 && strcmp(t[1].field[2], t[2].field[2]) != 0,
          "three different refresh tokens: rotation followed");
    concur_token_manager_free(m);
    concur_client_free(client);
}

/* ---- many threads at once: one refresh ---- */

#define THREADS 16

struct herd {
    const concur_token_manager *m;
    pthread_barrier_t *barrier;
    char token[ROOM];
    concur_status status;
};

static void *herd_member(void *arg) {
    struct herd *h = arg;
    struct token_out *t = malloc(sizeof *t);
    if (t == NULL) return NULL;
    prepare_token(t, ROOM);
    char error[512];
    pthread_barrier_wait(h->barrier);
    h->status = concur_token_manager_access_token(h->m, &t->out, NULL, error, sizeof error);
    strcpy(h->token, t->field[0]);
    free(t);
    return NULL;
}

static void test_threads(void) {
    char refresh[ROOM], geolocation[ROOM];
    seed(refresh, geolocation);
    concur_client *client = client_for("threads");
    concur_token_manager_options o = refresh_options(refresh, geolocation);
    concur_token_manager *m = manager_for(client, &o);
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, THREADS);
    static struct herd herd[THREADS];
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        herd[i].m = m;
        herd[i].barrier = &barrier;
        herd[i].status = CONCUR_ERR_INTERNAL;
        pthread_create(&threads[i], NULL, herd_member, &herd[i]);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&barrier);
    int all_ok = 1, all_same = 1;
    for (int i = 0; i < THREADS; i++) {
        all_ok &= herd[i].status == CONCUR_OK && herd[i].token[0] != '\0';
        all_same &= strcmp(herd[i].token, herd[0].token) == 0;
    }
    CHECK(all_ok, "%d threads got a token", THREADS);
    CHECK(all_same, "%d threads got the same token", THREADS);
    concur_token_manager_free(m);
    concur_client_free(client);
}

/* Two managers on one file: the second reads the first's token and sends nothing. */
static void test_file_store(void) {
    char refresh[ROOM], geolocation[ROOM], path[1024];
    seed(refresh, geolocation);
    snprintf(path, sizeof path, "%s/token-%s.json", dir, tag);
    concur_client *a = client_for("file-a"), *b = client_for("file-b");
    concur_token_manager_options o = refresh_options(refresh, geolocation);
    o.store = path;
    concur_token_manager *ma = manager_for(a, &o), *mb = manager_for(b, &o);
    struct token_out ta, tb;
    get_ok(ma, &ta, "the first manager");
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "the file exists, mode 0600");
    get_ok(mb, &tb, "the second manager");
    CHECK(strcmp(ta.field[0], tb.field[0]) == 0, "the second manager has the first's token");
    CHECK(strcmp(ta.field[2], tb.field[2]) == 0, "and its refresh token");
    CHECK(tb.out.expires_at == ta.out.expires_at, "and its expiry");
    concur_token_manager_free(ma);
    concur_token_manager_free(mb);
    concur_client_free(a);
    concur_client_free(b);
}

/* ---- a store of the caller's callbacks ---- */

struct memory {
    char document[8192];
    size_t len;
    int stored;
    int loads, saves;
    int32_t save_answer;  /* what save returns */
    int32_t load_answer;  /* 0: answer truthfully; else return this */
    int ask_room;         /* answer CONCUR_STORE_TOO_SMALL to the next load, asking this much */
    size_t asked, capacity_after_ask;
};

static int32_t memory_load(void *user, char *document, size_t capacity, size_t *len) {
    struct memory *s = user;
    s->loads++;
    if (s->asked != 0 && s->capacity_after_ask == 0) s->capacity_after_ask = capacity;
    if (s->load_answer != 0) return s->load_answer;
    if (!s->stored) return CONCUR_STORE_EMPTY;
    if (s->ask_room != 0) {
        s->asked = capacity + (size_t)s->ask_room;
        s->ask_room = 0;
        *len = s->asked;
        return CONCUR_STORE_TOO_SMALL;
    }
    if (s->len > capacity) {
        *len = s->len;
        return CONCUR_STORE_TOO_SMALL;
    }
    memcpy(document, s->document, s->len);
    *len = s->len;
    return CONCUR_STORE_OK;
}

static int32_t memory_save(void *user, const char *document, size_t len) {
    struct memory *s = user;
    s->saves++;
    if (s->save_answer != 0) return s->save_answer;
    if (len >= sizeof s->document || document[len] != '\0') return 99;
    memcpy(s->document, document, len + 1);
    s->len = len;
    s->stored = 1;
    return 0;
}

static concur_store_callbacks callbacks_over(struct memory *s) {
    concur_store_callbacks c;
    concur_store_callbacks_init(&c);
    c.load = memory_load;
    c.save = memory_save;
    c.user = s;
    return c;
}

static void test_callback_store(void) {
    char refresh[ROOM], geolocation[ROOM];
    seed(refresh, geolocation);
    static struct memory s;
    memset(&s, 0, sizeof s);
    concur_store_callbacks callbacks = callbacks_over(&s);
    concur_client *a = client_for("cb-a"), *b = client_for("cb-b");
    concur_token_manager_options o = refresh_options(refresh, geolocation);
    o.callbacks = &callbacks;
    concur_token_manager *ma = manager_for(a, &o);
    struct token_out ta, tb;
    get_ok(ma, &ta, "a callback store");
    CHECK(s.loads == 1 && s.saves == 1, "one load, one save: %d %d", s.loads, s.saves);
    CHECK(s.stored && strstr(s.document, "\"version\":1") != NULL, "a stored document");
    CHECK(strstr(s.document, ta.field[0]) != NULL && strstr(s.document, ta.field[2]) != NULL,
          "it holds the access and the refresh token");

    /* A second manager reloads the saved document (after asking once for more room). */
    s.ask_room = 100;
    concur_token_manager *mb = manager_for(b, &o);
    get_ok(mb, &tb, "a second manager over the same callbacks");
    CHECK(strcmp(ta.field[0], tb.field[0]) == 0 && strcmp(ta.field[2], tb.field[2]) == 0,
          "it has the saved token");
    CHECK(tb.out.expires_at == ta.out.expires_at, "and its expiry");
    CHECK(s.loads == 3 && s.saves == 1, "a too-small answer, a load, no save: %d %d", s.loads,
          s.saves);
    CHECK(s.asked != 0 && s.capacity_after_ask >= s.asked, "the room asked for was given: %zu %zu",
          s.asked, s.capacity_after_ask);
    concur_token_manager_free(ma);
    concur_token_manager_free(mb);
    concur_client_free(a);
    concur_client_free(b);

    /* A save that fails: CONCUR_ERR_STORE, the token not handed out (it was fetched). */
    char refresh2[ROOM], geolocation2[ROOM];
    seed(refresh2, geolocation2);
    static struct memory f;
    memset(&f, 0, sizeof f);
    f.save_answer = 7;
    concur_store_callbacks failing = callbacks_over(&f);
    concur_client *c = client_for("cb-fail");
    concur_token_manager_options of = refresh_options(refresh2, geolocation2);
    of.callbacks = &failing;
    concur_token_manager *mf = manager_for(c, &of);
    struct token_out tf;
    struct details_out e;
    concur_status status = get(mf, &tf, &e);
    CHECK(status == CONCUR_ERR_STORE, "a failed save: %s: %s", concur_native_status_name(status),
          last_error);
    CHECK(strcmp(concur_native_status_name(status), "CONCUR_ERR_STORE") == 0, "its name");
    CHECK(strstr(last_error, "save callback") != NULL, "the message says so: %s", last_error);
    CHECK(all_empty(&tf), "no token handed out");
    CHECK(f.saves == 1 && !f.stored, "save called once: %d", f.saves);
    CHECK(e.d.has_concur_code == 0 && e.d.http_status == 0, "no Concur code in the details");
    concur_token_manager_free(mf);
    concur_client_free(c);

    /* A load that fails, or returns garbage: CONCUR_ERR_STORE, nothing sent ("cb-load"). */
    concur_client *l = client_for("cb-load");
    const char *garbage = "{\"not\":\"a token\"}";
    for (int round = 0; round < 3; round++) {
        static struct memory g;
        memset(&g, 0, sizeof g);
        if (round == 0) g.load_answer = 42;
        if (round == 1) {
            strcpy(g.document, garbage);
            g.len = strlen(garbage);
            g.stored = 1;
        }
        if (round == 2) {
            g.stored = 1;
            g.ask_room = 70000; /* more than any stored token */
        }
        concur_store_callbacks gc = callbacks_over(&g);
        concur_token_manager_options og = refresh_options(refresh2, geolocation2);
        og.callbacks = &gc;
        concur_token_manager *mg = manager_for(l, &og);
        struct token_out tg;
        status = get(mg, &tg, NULL);
        CHECK(status == CONCUR_ERR_STORE, "a bad load (%d): %s: %s", round,
              concur_native_status_name(status), last_error);
        CHECK(all_empty(&tg) && g.saves == 0, "a bad load (%d): nothing handed out or saved",
              round);
        concur_token_manager_free(mg);
    }
    concur_client_free(l);
}

/* A refresh token Concur calls bad (108): UNAUTHORIZED with the code, and not sent again (the
 * harness counts one refresh for "bad108"). */
static void test_bad_refresh_token(void) {
    concur_client *client = client_for("bad108");
    concur_token_manager_options o = refresh_options("not-a-valid-refresh-token", NULL);
    concur_token_manager *m = manager_for(client, &o);
    for (int i = 0; i < 2; i++) {
        struct token_out t;
        struct details_out e;
        concur_status status = get(m, &t, &e);
        CHECK(status == CONCUR_ERR_UNAUTHORIZED, "call %d: %s: %s", i,
              concur_native_status_name(status), last_error);
        CHECK(e.d.has_concur_code == 1 && e.d.concur_code == 108, "call %d: code %lld", i,
              (long long)e.d.concur_code);
        CHECK(strcmp(e.oauth_error, "invalid_grant") == 0, "call %d: oauth_error '%s'", i,
              e.oauth_error);
        CHECK(all_empty(&t), "call %d: nothing handed out", i);
        CHECK(strstr(last_error, "not-a-valid-refresh-token") == NULL, "call %d: not quoted", i);
    }
    concur_token_manager_free(m);
    concur_client_free(client);
}

/* Client credentials: no refresh token, a new grant whenever the token is inside the margin
 * (the harness counts two client_credentials grants for "cc", no refresh). */
static void test_client_credentials(void) {
    concur_client *client = client_for("cc");
    concur_token_manager_options o;
    concur_token_manager_options_init(&o);
    o.client_id = client_id;
    o.client_secret = client_secret;
    o.start = CONCUR_MANAGER_START_CLIENT_CREDENTIALS;
    o.margin_seconds = 3700;
    concur_token_manager *m = manager_for(client, &o);
    struct token_out a, b;
    get_ok(m, &a, "client credentials");
    get_ok(m, &b, "client credentials renewed");
    CHECK(strcmp(a.field[0], b.field[0]) != 0, "two different tokens");
    CHECK(a.out.refresh_token.len == 0 && b.out.refresh_token.len == 0, "no refresh token");
    concur_token_manager_free(m);
    concur_client_free(client);
}

/* The password and company starts: one grant each, then a refresh token kept. */
static void test_grant_starts(void) {
    concur_client *client = client_for("pw");
    concur_token_manager_options o;
    concur_token_manager_options_init(&o);
    o.client_id = client_id;
    o.client_secret = client_secret;
    o.start = CONCUR_MANAGER_START_PASSWORD;
    o.username = login_id;
    o.password = password;
    concur_token_manager *m = manager_for(client, &o);
    struct token_out t;
    get_ok(m, &t, "a password start");
    CHECK(t.out.refresh_token.len > 0, "a refresh token kept");
    get_ok(m, &t, "a password start, cached");
    concur_token_manager_free(m);
    concur_client_free(client);

    client = client_for("company");
    concur_token_manager_options_init(&o);
    o.client_id = client_id;
    o.client_secret = client_secret;
    o.start = CONCUR_MANAGER_START_COMPANY;
    o.company_id = company_id;
    o.request_token = request_token;
    m = manager_for(client, &o);
    get_ok(m, &t, "a company start");
    CHECK(t.out.refresh_token.len > 0, "a refresh token kept");
    concur_token_manager_free(m);
    concur_client_free(client);
}

/* Outputs too small: BUFFER_TOO_SMALL, nothing written, each len the size needed; the retry
 * with room gets the same (cached) token: one refresh for "small". */
static void test_buffer_too_small(void) {
    char refresh[ROOM], geolocation[ROOM];
    seed(refresh, geolocation);
    concur_client *client = client_for("small");
    concur_token_manager_options o = refresh_options(refresh, geolocation);
    concur_token_manager *m = manager_for(client, &o);
    struct token_out t;
    prepare_token(&t, ROOM);
    t.out.access_token.capacity = 4;
    concur_status status =
        concur_token_manager_access_token(m, &t.out, NULL, last_error, sizeof last_error);
    CHECK(status == CONCUR_ERR_BUFFER_TOO_SMALL, "%s: %s", concur_native_status_name(status),
          last_error);
    CHECK(nothing_written(&t), "nothing written");
    CHECK(untouched_after(t.field[0], 4, sizeof t.field[0]), "nothing past the small buffer");
    size_t needed = t.out.access_token.len, refresh_needed = t.out.refresh_token.len;
    CHECK(needed > 4 && refresh_needed > 0, "the sizes needed: %zu %zu", needed, refresh_needed);
    struct token_out again;
    get_ok(m, &again, "with room");
    CHECK(strlen(again.field[0]) == needed && strlen(again.field[2]) == refresh_needed,
          "the sizes were right");
    concur_token_manager_free(m);
    concur_client_free(client);
}

/* Bad arguments: INVALID_ARGUMENT, *manager_out NULL, and nothing sent ("never"). */
/* `needle`: a part of the message that says the refusal was for the reason meant. */
static void expect_invalid_new(const concur_client *client, const concur_token_manager_options *o,
                               const char *what, const char *needle) {
    concur_token_manager *m = (concur_token_manager *)&m; /* not NULL: must be reset */
    char error[512];
    concur_status status = concur_token_manager_new(client, o, &m, error, sizeof error);
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT, "%s: %s: %s", what,
          concur_native_status_name(status), error);
    CHECK(m == NULL, "%s: manager_out reset to NULL", what);
    CHECK(strncmp(error, "invalid argument: ", 18) == 0 && strstr(error, needle) != NULL,
          "%s: message '%s' (wanted '%s')", what, error, needle);
    no_secret_in(error, what);
    if (status == CONCUR_OK) concur_token_manager_free(m);
}

static void test_bad_arguments(void) {
    concur_client *client = client_for("never");
    concur_token_manager_options good = refresh_options("a-refresh-token", NULL), o;
    char error[512];

    CHECK(concur_token_manager_new(client, &good, NULL, error, sizeof error) ==
              CONCUR_ERR_INVALID_ARGUMENT,
          "manager_out NULL");
    expect_invalid_new(NULL, &good, "client NULL", "client is NULL");
    expect_invalid_new(client, NULL, "options NULL", "options is NULL");
    o = good; o.struct_size = 0;
    expect_invalid_new(client, &o, "struct_size 0", "struct_size not set");
    o = good; o.struct_size = 8;
    expect_invalid_new(client, &o, "struct_size too small", "smaller");
    o = good; o.struct_size = 100000;
    expect_invalid_new(client, &o, "struct_size implausible", "implausible");
    o = good; o.start = 0;
    expect_invalid_new(client, &o, "start not set", "start not set");
    o = good; o.start = 99;
    expect_invalid_new(client, &o, "start unknown", "start 99 is unknown");
    o = good; o.refresh_token = NULL;
    expect_invalid_new(client, &o, "refresh_token NULL", "options->refresh_token is NULL");
    o = good; o.refresh_token = "";
    expect_invalid_new(client, &o, "refresh_token empty", "refresh token");
    o = good; o.client_id = NULL;
    expect_invalid_new(client, &o, "client_id NULL", "options->client_id is NULL");
    o = good; o.client_secret = NULL;
    expect_invalid_new(client, &o, "client_secret NULL", "options->client_secret is NULL");
    o = good; o.start = CONCUR_MANAGER_START_PASSWORD; o.username = login_id; o.password = NULL;
    expect_invalid_new(client, &o, "password NULL", "options->password is NULL");
    o = good; o.start = CONCUR_MANAGER_START_COMPANY; o.company_id = company_id;
    expect_invalid_new(client, &o, "request_token NULL", "options->request_token is NULL");
    o = good; o.store = "redis://[::1:6379/"; o.redis_key = "k";
    expect_invalid_new(client, &o, "a malformed redis URL", "Redis URL");
    o = good; o.store = "redis://127.0.0.1:notaport/"; o.redis_key = "k";
    expect_invalid_new(client, &o, "a redis URL with a bad port", "Redis URL");
    o = good; o.store = redis_url;
    expect_invalid_new(client, &o, "a redis URL without a key", "redis_key is required");
    o = good; o.store = redis_url; o.redis_key = "";
    expect_invalid_new(client, &o, "an empty redis key", "Redis key");
    o = good; o.redis_key = "k";
    expect_invalid_new(client, &o, "a redis key without a redis store", "without a redis:// store");
    o = good; o.store = "";
    expect_invalid_new(client, &o, "an empty store", "store is empty");
    o = good; o.store = "https://example.com/token";
    expect_invalid_new(client, &o, "a URL that is not redis://", "not a redis://");
    static struct memory unused;
    concur_store_callbacks callbacks = callbacks_over(&unused);
    o = good; o.callbacks = &callbacks; o.store = "/tmp/x";
    expect_invalid_new(client, &o, "callbacks and a store", "both set");
    callbacks.save = NULL;
    o = good; o.callbacks = &callbacks;
    expect_invalid_new(client, &o, "a callback missing", "both a load and a save");
    callbacks = callbacks_over(&unused);
    callbacks.struct_size = 0;
    expect_invalid_new(client, &o, "callbacks->struct_size 0", "callbacks->struct_size not set");
    CHECK(unused.loads == 0 && unused.saves == 0, "no callback called");

    /* access_token's own arguments, on a valid manager: nothing sent either. */
    concur_token_manager *m = manager_for(client, &good);
    struct token_out t;
    prepare_token(&t, ROOM);
    CHECK(concur_token_manager_access_token(NULL, &t.out, NULL, error, sizeof error) ==
              CONCUR_ERR_INVALID_ARGUMENT,
          "manager NULL: %s", error);
    CHECK(all_empty(&t), "manager NULL: outputs emptied");
    CHECK(concur_token_manager_access_token(m, NULL, NULL, error, sizeof error) ==
              CONCUR_ERR_INVALID_ARGUMENT,
          "out NULL");
    prepare_token(&t, ROOM);
    t.out.struct_size = 0;
    CHECK(concur_token_manager_access_token(m, &t.out, NULL, error, sizeof error) ==
              CONCUR_ERR_INVALID_ARGUMENT,
          "out->struct_size 0");
    prepare_token(&t, ROOM);
    t.out.refresh_token.data = t.field[0] + 8;
    CHECK(concur_token_manager_access_token(m, &t.out, NULL, error, sizeof error) ==
              CONCUR_ERR_INVALID_ARGUMENT,
          "overlapping buffers: %s", error);
    prepare_token(&t, ROOM);
    CHECK(concur_token_manager_access_token(m, &t.out, NULL, t.field[0] + 4, 64) ==
              CONCUR_ERR_INVALID_ARGUMENT,
          "a buffer overlapping the error buffer");
    concur_token_manager_invalidate(NULL);
    concur_token_manager_free(NULL);
    concur_token_manager_free(m);
    concur_client_free(client);
}

/* Two managers on one Redis key: the second reads the first's token and sends nothing. */
static void test_redis_store(void) {
    char refresh[ROOM], geolocation[ROOM], key[256];
    seed(refresh, geolocation);
    snprintf(key, sizeof key, "concur-c-test:%s", tag);
    concur_client *a = client_for("redis-a"), *b = client_for("redis-b");
    concur_token_manager_options o = refresh_options(refresh, geolocation);
    o.store = redis_url;
    o.redis_key = key;
    concur_token_manager *ma = manager_for(a, &o), *mb = manager_for(b, &o);
    struct token_out ta, tb;
    get_ok(ma, &ta, "the first Redis manager");
    get_ok(mb, &tb, "the second Redis manager");
    CHECK(strcmp(ta.field[0], tb.field[0]) == 0, "the second has the first's token");
    CHECK(strcmp(ta.field[2], tb.field[2]) == 0, "and its refresh token");
    concur_token_manager_free(ma);
    concur_token_manager_free(mb);
    concur_client_free(a);
    concur_client_free(b);
}

int main(void) {
    base_url = env("CONCUR_TEST_BASE_URL");
    ca_file = env("CONCUR_TEST_CA_FILE");
    client_id = env("CONCUR_TEST_OAUTH2_CLIENT_ID");
    client_secret = env("CONCUR_TEST_OAUTH2_CLIENT_SECRET");
    login_id = env("CONCUR_TEST_LOGIN_ID");
    password = env("CONCUR_TEST_PASSWORD");
    company_id = env("CONCUR_TEST_COMPANY_ID");
    request_token = env("CONCUR_TEST_REQUEST_TOKEN");
    tag = env("CONCUR_TEST_RUN_TAG");
    dir = env("CONCUR_TEST_DIR");
    redis_url = env("CONCUR_TEST_REDIS_URL");

    test_cached();
    test_margin();
    test_threads();
    test_file_store();
    test_callback_store();
    test_bad_refresh_token();
    test_client_credentials();
    test_grant_starts();
    test_buffer_too_small();
    test_bad_arguments();
    test_redis_store();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
