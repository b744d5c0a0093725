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
#include <stddef.h>
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

/* A client of `url` whose requests carry "m-<tag>-<name>", for the harness's count. */
static concur_client *client_at(const char *name, const char *url) {
    char *id = correlation[correlation_next++ % 64];
    snprintf(id, 128, "m-%s-%s", tag, name);
    concur_options options;
    concur_options_init(&options);
    options.base_url = url;
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

static concur_client *client_for(const char *name) { return client_at(name, base_url); }

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

/* A floor above the token's lifetime: every call waits for a refresh, each with the refresh
 * token the one before rotated in (the server refuses a rotated-away one with 108). */
static void test_margin(void) {
    char refresh[ROOM], geolocation[ROOM];
    seed(refresh, geolocation);
    concur_client *client = client_for("margin");
    concur_token_manager_options o = refresh_options(refresh, geolocation);
    o.margin_seconds = 3700;
    o.floor_seconds = 3650;
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

/* ---- refresh events, recorded from whichever thread delivers them ---- */

#define MAX_EVENTS 8

struct recorded {
    uint32_t struct_size, outcome, trigger, status, failures;
    uint64_t duration_ms;
    int64_t at, expires_at, refresh_expires_at, retry_at, concur_code;
    uint16_t http_status;
    int32_t has_concur_code;
    int has_grant, has_correlation_id, has_message, has_summary;
    char grant[32], correlation_id[160], message[1024], summary[1024];
    pthread_t thread;
};

struct recorder {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int count, overlapping, inside;
    struct recorded e[MAX_EVENTS];
};

static void recorder_init(struct recorder *r) {
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->changed, NULL);
}

static void recorder_destroy(struct recorder *r) {
    pthread_cond_destroy(&r->changed);
    pthread_mutex_destroy(&r->lock);
}

static void copy_text(char *to, size_t room, int *has, const char *from) {
    *has = from != NULL;
    snprintf(to, room, "%s", from ? from : "");
}

static void record_event(void *user, const concur_refresh_event *event) {
    struct recorder *r = user;
    pthread_mutex_lock(&r->lock);
    r->overlapping |= r->inside;
    r->inside = 1;
    if (r->count < MAX_EVENTS) {
        struct recorded *e = &r->e[r->count];
        e->struct_size = event->struct_size;
        e->outcome = event->outcome;
        e->trigger = event->trigger;
        e->status = event->status;
        e->failures = event->failures;
        e->duration_ms = event->duration_ms;
        e->at = event->at;
        e->expires_at = event->expires_at;
        e->refresh_expires_at = event->refresh_expires_at;
        e->retry_at = event->retry_at;
        e->http_status = event->http_status;
        e->has_concur_code = event->has_concur_code;
        e->concur_code = event->concur_code;
        copy_text(e->grant, sizeof e->grant, &e->has_grant, event->grant);
        copy_text(e->correlation_id, sizeof e->correlation_id, &e->has_correlation_id,
                  event->correlation_id);
        copy_text(e->message, sizeof e->message, &e->has_message, event->message);
        copy_text(e->summary, sizeof e->summary, &e->has_summary, event->summary);
        e->thread = pthread_self();
    }
    r->count++;
    r->inside = 0;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
}

/* Waits until `n` events arrived: a latch, with 60 s as a safety net only. */
static int wait_events(struct recorder *r, int n) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 60;
    pthread_mutex_lock(&r->lock);
    while (r->count < n && pthread_cond_timedwait(&r->changed, &r->lock, &deadline) == 0) {
    }
    int count = r->count;
    pthread_mutex_unlock(&r->lock);
    return count >= n;
}

static int64_t now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* No secret in any string of an event: the fixed ones, and the tokens `secrets` lists. */
static void no_secret_in_event(const struct recorded *e, const char *const *secrets, int n,
                               const char *what) {
    const char *texts[] = {e->grant, e->correlation_id, e->message, e->summary};
    for (int i = 0; i < 4; i++) {
        no_secret_in(texts[i], what);
        for (int k = 0; k < n; k++)
            CHECK(secrets[k][0] == '\0' || strstr(texts[i], secrets[k]) == NULL,
                  "%s: a token in '%s'", what, texts[i]);
    }
}

/* A success's event holds every field it should, and nothing of a failure. */
static void check_success_event(const struct recorded *e, uint32_t trigger, const char *what) {
    CHECK(e->struct_size == sizeof(concur_refresh_event), "%s: struct_size %u", what,
          e->struct_size);
    CHECK(e->outcome == CONCUR_REFRESH_OUTCOME_REFRESHED, "%s: outcome %u", what, e->outcome);
    CHECK(e->trigger == trigger, "%s: trigger %u (wanted %u)", what, e->trigger, trigger);
    CHECK(e->status == CONCUR_OK, "%s: status %u", what, e->status);
    CHECK(e->has_grant && strcmp(e->grant, "refresh_token") == 0, "%s: grant '%s'", what,
          e->grant);
    CHECK(e->duration_ms < 60000, "%s: duration %llu ms", what,
          (unsigned long long)e->duration_ms);
    CHECK(e->at > now_ms() - 120000 && e->at <= now_ms() + 1000, "%s: at %lld", what,
          (long long)e->at);
    CHECK(e->expires_at > now() + 3000 && e->expires_at <= now() + 3601, "%s: expires_at %lld",
          what, (long long)e->expires_at);
    CHECK(e->refresh_expires_at > now(), "%s: refresh_expires_at %lld", what,
          (long long)e->refresh_expires_at);
    CHECK(e->http_status == 0 && e->has_concur_code == 0 && e->concur_code == 0,
          "%s: no HTTP status or Concur code", what);
    CHECK(!e->has_correlation_id && !e->has_message, "%s: no correlation id or message", what);
    CHECK(e->failures == 0 && e->retry_at == 0, "%s: no failure, no retry", what);
    CHECK(e->has_summary && strstr(e->summary, "token refresh refreshed") != NULL,
          "%s: summary '%s'", what, e->summary);
}

/* A refresh when no token is held (a caller waits: trigger ABSENT, on the caller's thread),
 * then one ahead of expiry (the window is above the token's lifetime, the floor is not: the
 * caller gets the current token at once and the refresh runs on the library's thread). The
 * harness counts two refreshes for "events". */
static void test_events_refresh(void) {
    char refresh[ROOM], geolocation[ROOM];
    seed(refresh, geolocation);
    static struct recorder r;
    recorder_init(&r);
    concur_client *client = client_for("events");
    concur_token_manager_options o = refresh_options(refresh, geolocation);
    o.margin_seconds = 3700;
    o.on_event = record_event;
    o.event_user = &r;
    concur_token_manager *m = manager_for(client, &o);
    struct token_out first, second;
    get_ok(m, &first, "events: the first token");
    CHECK(wait_events(&r, 1), "events: the first event");
    get_ok(m, &second, "events: inside the window");
    CHECK(strcmp(first.field[0], second.field[0]) == 0, "events: the current token, at once");
    CHECK(wait_events(&r, 2), "events: the event of the refresh ahead");
    concur_manager_status st;
    concur_manager_status_init(&st);
    CHECK(concur_token_manager_status(m, &st) == CONCUR_OK, "events: status");
    concur_token_manager_free(m);
    concur_client_free(client);

    pthread_mutex_lock(&r.lock);
    CHECK(r.count == 2, "events: two events, not %d", r.count);
    CHECK(!r.overlapping, "events: callbacks never overlap");
    check_success_event(&r.e[0], CONCUR_REFRESH_TRIGGER_ABSENT, "events: the first");
    CHECK(pthread_equal(r.e[0].thread, pthread_self()), "events: the first on the caller's thread");
    check_success_event(&r.e[1], CONCUR_REFRESH_TRIGGER_AHEAD, "events: ahead");
    CHECK(!pthread_equal(r.e[1].thread, pthread_self()), "events: ahead on the library's thread");
    CHECK(r.e[1].expires_at >= r.e[0].expires_at, "events: a later expiry");
    const char *secrets[] = {first.field[0], first.field[2], second.field[2], refresh};
    for (int i = 0; i < 2; i++) no_secret_in_event(&r.e[i], secrets, 4, "events");
    pthread_mutex_unlock(&r.lock);

    CHECK(st.struct_size == sizeof st && st.state == CONCUR_MANAGER_STATE_ACTIVE,
          "status: active (%u)", st.state);
    CHECK(st.refresh_count == 2 && st.failures == 0 && st.refreshing == 0,
          "status: two refreshes, no failure: %llu %u %d", (unsigned long long)st.refresh_count,
          st.failures, st.refreshing);
    CHECK(st.expires_at == r.e[1].expires_at && st.refresh_expires_at == r.e[1].refresh_expires_at,
          "status: the new token's expiries");
    CHECK(st.last_refresh == r.e[1].at, "status: last_refresh %lld, the event's %lld",
          (long long)st.last_refresh, (long long)r.e[1].at);
    CHECK(st.next_attempt == 0 && st.last_error_status == CONCUR_OK &&
              st.last_error_http_status == 0 && st.last_error_has_concur_code == 0 &&
              st.last_error_correlation_id[0] == '\0' && st.last_error_correlation_id_len == 0,
          "status: no error");
    recorder_destroy(&r);
}

/* A refresh Concur answers 503 (a scenario of the test server): CONCUR_ERR_HTTP_STATUS, an
 * event FAILED with the status, the correlation id and a retry time, and status() FAILING.
 * One refresh for "events-fail". */
static void test_events_failure(void) {
    char refresh[ROOM], geolocation[ROOM], url[512];
    seed(refresh, geolocation);
    snprintf(url, sizeof url, "%s/s/retry-503-1-0-%s", base_url, tag);
    static struct recorder r;
    recorder_init(&r);
    concur_client *client = client_at("events-fail", url);
    concur_token_manager_options o = refresh_options(refresh, NULL);
    o.on_event = record_event;
    o.event_user = &r;
    concur_token_manager *m = manager_for(client, &o);
    struct token_out t;
    concur_status status = get(m, &t, NULL);
    CHECK(status == CONCUR_ERR_HTTP_STATUS, "events-fail: %s: %s",
          concur_native_status_name(status), last_error);
    CHECK(wait_events(&r, 1), "events-fail: the event");
    concur_manager_status st;
    concur_manager_status_init(&st);
    CHECK(concur_token_manager_status(m, &st) == CONCUR_OK, "events-fail: status");
    concur_token_manager_free(m);
    concur_client_free(client);

    char correlation_id[160];
    snprintf(correlation_id, sizeof correlation_id, "m-%s-events-fail", tag);
    pthread_mutex_lock(&r.lock);
    const struct recorded *e = &r.e[0];
    CHECK(r.count == 1, "events-fail: one event, not %d", r.count);
    CHECK(e->struct_size == sizeof(concur_refresh_event), "events-fail: struct_size");
    CHECK(e->outcome == CONCUR_REFRESH_OUTCOME_FAILED, "events-fail: outcome %u", e->outcome);
    CHECK(e->trigger == CONCUR_REFRESH_TRIGGER_ABSENT, "events-fail: trigger %u", e->trigger);
    CHECK(e->status == CONCUR_ERR_HTTP_STATUS && e->http_status == 503,
          "events-fail: status %u, HTTP %u", e->status, e->http_status);
    CHECK(e->has_grant && strcmp(e->grant, "refresh_token") == 0, "events-fail: grant '%s'",
          e->grant);
    CHECK(e->expires_at == 0 && e->refresh_expires_at == 0, "events-fail: no expiry");
    CHECK(e->has_correlation_id && strcmp(e->correlation_id, correlation_id) == 0,
          "events-fail: correlation id '%s'", e->correlation_id);
    CHECK(e->failures == 1, "events-fail: failures %u", e->failures);
    CHECK(e->retry_at > e->at && e->retry_at < e->at + 5000, "events-fail: retry_at %lld, at %lld",
          (long long)e->retry_at, (long long)e->at);
    CHECK(e->has_message && strstr(e->message, "503") != NULL, "events-fail: message '%s'",
          e->message);
    CHECK(strcmp(e->message, last_error) == 0, "events-fail: the message is the error's: '%s'",
          e->message);
    CHECK(strstr(e->summary, "token refresh failed") != NULL && strstr(e->summary, "503"),
          "events-fail: summary '%s'", e->summary);
    const char *secrets[] = {refresh};
    no_secret_in_event(e, secrets, 1, "events-fail");
    CHECK(st.state == CONCUR_MANAGER_STATE_FAILING && st.failures == 1,
          "status: failing (%u), %u failure", st.state, st.failures);
    CHECK(st.next_attempt == e->retry_at, "status: next_attempt %lld", (long long)st.next_attempt);
    CHECK(st.last_error_status == CONCUR_ERR_HTTP_STATUS && st.last_error_http_status == 503,
          "status: the last error");
    CHECK(strcmp(st.last_error_correlation_id, correlation_id) == 0 &&
              st.last_error_correlation_id_len == strlen(correlation_id),
          "status: its correlation id '%s'", st.last_error_correlation_id);
    CHECK(st.refresh_count == 0 && st.expires_at == 0 && st.last_refresh == 0,
          "status: no token");
    pthread_mutex_unlock(&r.lock);
    recorder_destroy(&r);
}

/* ---- sealed stores ---- */

static size_t read_file(const char *path, char *buf, size_t room) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return 0;
    size_t n = fread(buf, 1, room - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n;
}

static void new_key(char *key) {
    size_t len = 0;
    concur_status status = concur_store_key_generate(key, CONCUR_STORE_KEY_BASE64_LEN + 1, &len);
    CHECK(status == CONCUR_OK && len == CONCUR_STORE_KEY_BASE64_LEN && strlen(key) == len,
          "a generated key: %s, %zu", concur_native_status_name(status), len);
}

/* A file sealed with a key holds neither token; a wrong key is CONCUR_ERR_STORE and leaves it
 * unchanged; a plain file is refused with require_sealed. "sealed" and "plain-a" refresh once,
 * "sealed-wrong" and "plain-b" send nothing. */
static void test_sealed_file(void) {
    size_t len = 7;
    CHECK(concur_store_key_generate(NULL, 0, &len) == CONCUR_ERR_BUFFER_TOO_SMALL &&
              len == CONCUR_STORE_KEY_BASE64_LEN,
          "(NULL, 0) asks the size: %zu", len);
    char small[CONCUR_STORE_KEY_BASE64_LEN];
    memset(small, SENTINEL, sizeof small);
    CHECK(concur_store_key_generate(small, sizeof small, &len) == CONCUR_ERR_BUFFER_TOO_SMALL,
          "a buffer one byte short");
    CHECK(untouched_after(small, 0, sizeof small), "nothing written into it");
    CHECK(concur_store_key_generate(small, sizeof small, NULL) == CONCUR_ERR_INVALID_ARGUMENT,
          "len NULL");
    CHECK(concur_store_key_generate(NULL, 45, &len) == CONCUR_ERR_INVALID_ARGUMENT,
          "buf NULL with a capacity");
    char key[CONCUR_STORE_KEY_BASE64_LEN + 1], other[CONCUR_STORE_KEY_BASE64_LEN + 1];
    new_key(key);
    new_key(other);
    CHECK(strcmp(key, other) != 0, "two keys differ");

    char refresh[ROOM], geolocation[ROOM], path[1024];
    seed(refresh, geolocation);
    snprintf(path, sizeof path, "%s/sealed-%s.json", dir, tag);
    concur_client *a = client_for("sealed"), *b = client_for("sealed-wrong");
    concur_token_manager_options o = refresh_options(refresh, geolocation);
    o.store = path;
    const char *keys[] = {key};
    o.store_keys = keys;
    o.store_key_count = 1;
    o.require_sealed = 1;
    concur_token_manager *m = manager_for(a, &o);
    struct token_out t;
    get_ok(m, &t, "sealed");
    concur_token_manager_free(m);
    static char file[16384], after[16384];
    size_t n = read_file(path, file, sizeof file);
    CHECK(n > 0 && strncmp(file, "{\"sealed\":1", 11) == 0, "a sealed document: %.40s", file);
    CHECK(strstr(file, t.field[0]) == NULL && strstr(file, t.field[2]) == NULL,
          "the file holds neither token");
    CHECK(strstr(file, key) == NULL, "nor the key");

    const char *wrong[] = {other};
    o.store_keys = wrong;
    m = manager_for(b, &o);
    struct token_out w;
    concur_status status = get(m, &w, NULL);
    CHECK(status == CONCUR_ERR_STORE, "a wrong key: %s: %s", concur_native_status_name(status),
          last_error);
    CHECK(all_empty(&w), "a wrong key: nothing handed out");
    CHECK(strstr(last_error, key) == NULL && strstr(last_error, other) == NULL &&
              strstr(last_error, t.field[0]) == NULL,
          "a wrong key: no key or token in '%s'", last_error);
    concur_token_manager_free(m);
    CHECK(read_file(path, after, sizeof after) == n && memcmp(file, after, n) == 0,
          "a wrong key: the file unchanged");
    concur_client_free(a);
    concur_client_free(b);

    /* A plain file, then require_sealed over it: refused, unchanged. */
    char plain[1024];
    snprintf(plain, sizeof plain, "%s/plain-%s.json", dir, tag);
    seed(refresh, geolocation);
    a = client_for("plain-a");
    b = client_for("plain-b");
    concur_token_manager_options p = refresh_options(refresh, geolocation);
    p.store = plain;
    m = manager_for(a, &p);
    get_ok(m, &t, "a plain file");
    concur_token_manager_free(m);
    n = read_file(plain, file, sizeof file);
    CHECK(n > 0 && strstr(file, t.field[0]) != NULL, "a plain file holds the token");
    p.store_keys = keys;
    p.store_key_count = 1;
    p.require_sealed = 1;
    m = manager_for(b, &p);
    status = get(m, &w, NULL);
    CHECK(status == CONCUR_ERR_STORE, "require_sealed over a plain file: %s: %s",
          concur_native_status_name(status), last_error);
    concur_token_manager_free(m);
    CHECK(read_file(plain, after, sizeof after) == n && memcmp(file, after, n) == 0,
          "require_sealed: the file unchanged");
    concur_client_free(a);
    concur_client_free(b);
}

/* A refresh token Concur calls bad (108): UNAUTHORIZED with the code, and not sent again (the
 * harness counts one refresh for "bad108"). */
static void test_bad_refresh_token(void) {
    concur_client *client = client_for("bad108");
    concur_token_manager_options o = refresh_options("not-a-valid-refresh-token", NULL);
    static struct recorder r;
    recorder_init(&r);
    o.on_event = record_event;
    o.event_user = &r;
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
    concur_manager_status st;
    concur_manager_status_init(&st);
    CHECK(concur_token_manager_status(m, &st) == CONCUR_OK, "bad108: status");
    concur_token_manager_free(m);
    concur_client_free(client);
    /* One attempt, one event: Concur's verdict is not sent again, nor reported again. */
    CHECK(r.count == 1, "bad108: one event, not %d", r.count);
    const struct recorded *e = &r.e[0];
    CHECK(e->outcome == CONCUR_REFRESH_OUTCOME_DEAD && e->status == CONCUR_ERR_UNAUTHORIZED,
          "bad108: dead, unauthorized: %u %u", e->outcome, e->status);
    CHECK(e->has_concur_code == 1 && e->concur_code == 108 && e->http_status >= 400,
          "bad108: code %lld, HTTP %u", (long long)e->concur_code, e->http_status);
    CHECK(e->retry_at == 0 && e->failures == 1, "bad108: never tried again");
    CHECK(strstr(e->summary, "not-a-valid-refresh-token") == NULL &&
              strstr(e->message, "not-a-valid-refresh-token") == NULL,
          "bad108: the refresh token not quoted");
    CHECK(st.state == CONCUR_MANAGER_STATE_DEAD && st.last_error_status == CONCUR_ERR_UNAUTHORIZED &&
              st.last_error_has_concur_code == 1 && st.last_error_concur_code == 108,
          "bad108: status dead (%u), code %lld", st.state, (long long)st.last_error_concur_code);
    recorder_destroy(&r);
}

/* Client credentials: no refresh token, a new grant whenever the token is below the floor
 * (the harness counts two client_credentials grants for "cc", no refresh). */
static void test_client_credentials(void) {
    concur_client *client = client_for("cc");
    concur_token_manager_options o;
    concur_token_manager_options_init(&o);
    o.client_id = client_id;
    o.client_secret = client_secret;
    o.start = CONCUR_MANAGER_START_CLIENT_CREDENTIALS;
    o.margin_seconds = 3700;
    o.floor_seconds = 3650;
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

    /* The floor, the keys, require_sealed. */
    o = good; o.floor_seconds = 300;
    expect_invalid_new(client, &o, "floor = the default window", "options->floor_seconds (300)");
    o = good; o.margin_seconds = 3600; o.floor_seconds = 3700;
    expect_invalid_new(client, &o, "floor above the window", "options->floor_seconds");
    o = good; o.margin_seconds = 90000; o.floor_seconds = 30;
    expect_invalid_new(client, &o, "a window over a day", "options->margin_seconds");
    char key[CONCUR_STORE_KEY_BASE64_LEN + 1];
    new_key(key);
    const char *bad_second[] = {key, "not base64 at all!"};
    o = good; o.store_keys = bad_second; o.store_key_count = 2;
    expect_invalid_new(client, &o, "a key that is not base64", "options->store_keys[1]");
    const char *short_key[] = {"AAAAAAAAAAAAAAAAAAAAAA=="}; /* 16 bytes */
    o = good; o.store_keys = short_key; o.store_key_count = 1;
    expect_invalid_new(client, &o, "a 16-byte key", "options->store_keys[0] is not the base64");
    const char *null_key[] = {key, NULL};
    o = good; o.store_keys = null_key; o.store_key_count = 2;
    expect_invalid_new(client, &o, "a NULL key", "options->store_keys[1] is NULL");
    o = good; o.store_key_count = 2;
    expect_invalid_new(client, &o, "a key count without keys", "store_keys is NULL");
    const char *one_key[] = {key};
    o = good; o.store_keys = one_key;
    expect_invalid_new(client, &o, "keys without a count", "store_key_count is 0");
    o = good; o.store_keys = one_key; o.store_key_count = 17;
    expect_invalid_new(client, &o, "too many keys", "over 16");
    o = good; o.require_sealed = 1;
    expect_invalid_new(client, &o, "require_sealed without keys", "without options->store_keys");
    o = good; o.store_keys = one_key; o.store_key_count = 1; o.require_sealed = 2;
    expect_invalid_new(client, &o, "require_sealed 2", "require_sealed 2");

    /* The first layout (up to callbacks), as a program built against the older header passes
     * it: exactly that many bytes (ASan and valgrind see a read past them), defaults after. */
    size_t first = offsetof(concur_token_manager_options, floor_seconds);
    CHECK(first == offsetof(concur_token_manager_options, callbacks) + sizeof(void *),
          "the first layout ends with callbacks: %zu", first);
    concur_token_manager_options *older = malloc(first);
    if (older != NULL) {
        memcpy(older, &good, first);
        older->struct_size = (uint32_t)first;
        concur_token_manager *om = NULL;
        concur_status status = concur_token_manager_new(client, older, &om, error, sizeof error);
        CHECK(status == CONCUR_OK && om != NULL, "the first layout's size: %s: %s",
              concur_native_status_name(status), error);
        concur_token_manager_free(om);
        older->struct_size = (uint32_t)first - 8;
        expect_invalid_new(client, older, "below the first layout", "smaller");
        free(older);
    }

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

    /* status's own arguments: refused, the output untouched. */
    concur_manager_status st;
    memset(&st, SENTINEL, sizeof st);
    st.struct_size = sizeof st;
    CHECK(concur_token_manager_status(NULL, &st) == CONCUR_ERR_INVALID_ARGUMENT, "status: NULL");
    CHECK(st.state == st.failures, "status: untouched after an error");
    CHECK(concur_token_manager_status(m, NULL) == CONCUR_ERR_INVALID_ARGUMENT, "status: out NULL");
    st.struct_size = 0;
    CHECK(concur_token_manager_status(m, &st) == CONCUR_ERR_INVALID_ARGUMENT,
          "status: struct_size 0");
    st.struct_size = 8;
    CHECK(concur_token_manager_status(m, &st) == CONCUR_ERR_INVALID_ARGUMENT,
          "status: struct_size too small");
    concur_manager_status_init(&st);
    CHECK(concur_token_manager_status(m, &st) == CONCUR_OK &&
              st.state == CONCUR_MANAGER_STATE_ACTIVE && st.expires_at == 0 &&
              st.refresh_count == 0 && st.last_refresh == 0 && st.refreshing == 0,
          "status: a new manager, nothing yet");
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
    test_events_refresh();
    test_events_failure();
    test_sealed_file();
    test_bad_refresh_token();
    test_client_credentials();
    test_grant_starts();
    test_buffer_too_small();
    test_bad_arguments();
    test_redis_store();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
