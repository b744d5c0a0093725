/*
 * The token vault's C ABI (concur_token_vault_*), checked from C against the loopback test
 * server. Run by tests/c_abi.rs, which starts the server, passes it through the environment
 * (CONCUR_TEST_*, read in main) and, after this program, checks in the server's log that the
 * calls with bad arguments (made through a client whose correlation id is "v-<tag>-never")
 * sent nothing. Every call of the vault's ABI; bad input (NULL, invalid IDs, unknown IDs, short
 * buffers, aliasing, unset struct sizes); a SQLite store shared by two vaults; events carrying
 * the connection's ID; no secret in any error text or event. Prints one line per failed check
 * and ends with "N passed, N failed".
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "concur_native.h"
#include "support.h"

static const char *base_url, *ca_file, *client_id, *client_secret, *login_id, *password,
    *company_id, *request_token, *otp, *tag, *dir;

#define ROOM TOKEN_ROOM

/* Every refresh token this program held, for the "no secret" checks. */
static char held[8][ROOM];
static int held_count;

static void remember(const char *token) {
    if (token[0] != '\0' && held_count < 8) strcpy(held[held_count++], token);
}

static void no_secret_in(const char *text, const char *what) {
    if (text == NULL) return;
    CHECK(strstr(text, client_secret) == NULL, "%s: the client secret in '%s'", what, text);
    CHECK(strstr(text, password) == NULL, "%s: the password in '%s'", what, text);
    CHECK(strstr(text, request_token) == NULL, "%s: the request token in '%s'", what, text);
    for (int i = 0; i < held_count; i++)
        CHECK(strstr(text, held[i]) == NULL, "%s: a refresh token in '%s'", what, text);
}

static int64_t now(void) { return (int64_t)time(NULL); }

/* ---- clients, vaults ---- */

static char correlation[16][128];
static int correlation_next;

/* A client whose requests carry "v-<tag>-<name>". */
static concur_client *client_for(const char *name) {
    char *id = correlation[correlation_next++ % 16];
    snprintf(id, 128, "v-%s-%s", tag, name);
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

static concur_token_vault_options vault_options(const char *store) {
    concur_token_vault_options o;
    concur_token_vault_options_init(&o);
    o.client_id = client_id;
    o.client_secret = client_secret;
    o.store = store;
    return o;
}

static concur_token_vault *vault_for(const concur_client *client,
                                     const concur_token_vault_options *o) {
    concur_token_vault *v = NULL;
    char error[512];
    concur_status status = concur_token_vault_new(client, o, &v, error, sizeof error);
    CHECK(status == CONCUR_OK && v != NULL, "a vault: %s: %s", concur_native_status_name(status),
          error);
    if (v == NULL) exit(3);
    return v;
}

static char last_error[ROOM + 16];

static concur_vault_start password_start(void) {
    concur_vault_start s;
    concur_vault_start_init(&s);
    s.kind = CONCUR_VAULT_START_PASSWORD;
    s.username = login_id;
    s.password = password;
    return s;
}

/* concur_token_vault_add into fresh sentinel-guarded outputs. */
static concur_status add(const concur_token_vault *v, const char *id, const concur_vault_start *s,
                         uint32_t replace, struct token_out *t, struct details_out *e) {
    prepare_token(t, ROOM);
    if (e) prepare_details(e);
    memset(last_error, SENTINEL, sizeof last_error);
    concur_status status =
        concur_token_vault_add(v, id, s, replace, &t->out, e ? &e->d : NULL, last_error, ROOM);
    CHECK(untouched_after(last_error, ROOM, sizeof last_error), "nothing past the error buffer");
    for (int i = 0; i < NFIELDS; i++)
        CHECK(untouched_after(t->field[i], ROOM, sizeof t->field[i]), "nothing past field %d", i);
    if (status == CONCUR_OK) remember(t->field[2]);
    else no_secret_in(last_error, "add's error");
    return status;
}

static concur_status get(const concur_token_vault *v, const char *id, struct token_out *t,
                         struct details_out *e) {
    prepare_token(t, ROOM);
    if (e) prepare_details(e);
    memset(last_error, SENTINEL, sizeof last_error);
    concur_status status =
        concur_token_vault_access_token(v, id, &t->out, e ? &e->d : NULL, last_error, ROOM);
    CHECK(untouched_after(last_error, ROOM, sizeof last_error), "nothing past the error buffer");
    for (int i = 0; i < NFIELDS; i++)
        CHECK(untouched_after(t->field[i], ROOM, sizeof t->field[i]), "nothing past field %d", i);
    if (status == CONCUR_OK) remember(t->field[2]);
    else no_secret_in(last_error, "access_token's error");
    return status;
}

static void add_ok(const concur_token_vault *v, const char *id, const concur_vault_start *s,
                   struct token_out *t) {
    concur_status status = add(v, id, s, 0, t, NULL);
    CHECK(status == CONCUR_OK, "add %s: %s: %s", id, concur_native_status_name(status),
          last_error);
    CHECK(t->out.access_token.len > 0 && strlen(t->field[0]) == t->out.access_token.len,
          "add %s: an access token", id);
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
    if (concur_client_oauth2_token(client, client_id, client_secret, &grant, NULL, &t.out, NULL,
                                   error, sizeof error) != CONCUR_OK) {
        printf("not ok: seeding a refresh token: %s\n", error);
        exit(3);
    }
    strcpy(refresh_token, t.field[2]);
    strcpy(geolocation, t.field[4]);
    remember(refresh_token);
    concur_client_free(client);
}

/* Refreshes `refresh_token` outside any vault (rotating it away from a vault holding it). */
static void rotate_away(const char *refresh_token) {
    concur_client *client = client_for("thief");
    concur_oauth2_grant grant;
    concur_oauth2_grant_init(&grant);
    grant.kind = CONCUR_GRANT_REFRESH_TOKEN;
    grant.refresh_token = refresh_token;
    struct token_out t;
    prepare_token(&t, ROOM);
    char error[512];
    concur_status status = concur_client_oauth2_token(client, client_id, client_secret, &grant,
                                                      NULL, &t.out, NULL, error, sizeof error);
    CHECK(status == CONCUR_OK, "rotating a refresh token away: %s", error);
    remember(t.field[2]);
    concur_client_free(client);
}

/* ---- events ---- */

#define MAX_EVENTS 64

struct recorded {
    char connection[300];
    int has_connection;
    uint32_t outcome, trigger;
    char summary[1024];
    char message[1024];
};

static pthread_mutex_t events_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int count;
    struct recorded e[MAX_EVENTS];
} events;

static void record_event(void *user, const concur_refresh_event *event) {
    (void)user;
    pthread_mutex_lock(&events_lock);
    if (events.count < MAX_EVENTS) {
        struct recorded *r = &events.e[events.count++];
        r->outcome = event->outcome;
        r->trigger = event->trigger;
        r->has_connection =
            event->struct_size >= offsetof(concur_refresh_event, connection) + sizeof(char *) &&
            event->connection != NULL;
        snprintf(r->connection, sizeof r->connection, "%s",
                 r->has_connection ? event->connection : "");
        snprintf(r->summary, sizeof r->summary, "%s", event->summary);
        snprintf(r->message, sizeof r->message, "%s", event->message ? event->message : "");
    }
    pthread_mutex_unlock(&events_lock);
}

/* ---- connections and keep-alive callbacks ---- */

struct listing {
    int count, stop_after;
    char ids[16][300];
    uint32_t kinds[16], states[16];
};

static int32_t list_one(void *user, const concur_connection_info *info) {
    struct listing *l = user;
    if (l->count < 16) {
        snprintf(l->ids[l->count], 300, "%s", info->id);
        l->kinds[l->count] = info->kind;
        l->states[l->count] = info->state;
    }
    CHECK(info->struct_size == sizeof(concur_connection_info), "the library's struct_size");
    CHECK(strlen(info->id) == info->id_len, "id_len");
    l->count++;
    return l->stop_after != 0 && l->count >= l->stop_after;
}

struct entries {
    int dead, failed;
    char dead_id[300];
    int64_t dead_code;
};

static void on_entry(void *user, const concur_keep_alive_entry *entry) {
    struct entries *e = user;
    if (entry->outcome == CONCUR_KEEP_ALIVE_DEAD) {
        e->dead++;
        snprintf(e->dead_id, sizeof e->dead_id, "%s", entry->id);
        e->dead_code = entry->has_concur_code ? entry->concur_code : -1;
        CHECK(entry->message == NULL && entry->correlation_id == NULL, "a dead entry's texts");
    } else {
        e->failed++;
        no_secret_in(entry->message, "a failed entry");
    }
}

/* ---- the cases ---- */

/* Every call on a memory vault: add (password, company, client credentials, refresh token),
 * cached access tokens, replace, invalidate, connection, connections, keep-alive with a dead
 * connection, remove; the events carry each connection's ID and no secret. */
static void test_memory_vault(void) {
    concur_client *client = client_for("memory");
    concur_token_vault_options o = vault_options(NULL);
    o.on_event = record_event;
    o.cache_capacity = 2; /* fewer than the connections: the store serves the rest */
    concur_token_vault *v = vault_for(client, &o);
    concur_client_free(client); /* the vault keeps its own reference */

    struct token_out first, t;
    concur_vault_start pw = password_start();
    add_ok(v, "user-1", &pw, &first);
    CHECK(strcmp(first.field[1], "Bearer") == 0, "token_type '%s'", first.field[1]);
    CHECK(strcmp(first.field[4], base_url) == 0, "geolocation '%s'", first.field[4]);
    CHECK(first.out.expires_at > now() + 3000, "expires_at");

    concur_vault_start company;
    concur_vault_start_init(&company);
    company.kind = CONCUR_VAULT_START_COMPANY;
    company.company_id = company_id;
    company.request_token = request_token;
    add_ok(v, "company-1", &company, &t);
    CHECK(strcmp(t.field[7], "company") == 0, "a company token: '%s'", t.field[7]);

    concur_vault_start app;
    concur_vault_start_init(&app);
    app.kind = CONCUR_VAULT_START_CLIENT_CREDENTIALS;
    add_ok(v, "app", &app, &t);
    CHECK(t.out.refresh_token.len == 0, "client credentials: no refresh token");

    char refresh[ROOM], geolocation[ROOM];
    seed(refresh, geolocation);
    concur_vault_start from_refresh;
    concur_vault_start_init(&from_refresh);
    from_refresh.kind = CONCUR_VAULT_START_REFRESH_TOKEN;
    from_refresh.refresh_token = refresh;
    from_refresh.geolocation = geolocation;
    struct token_out doomed;
    add_ok(v, "doomed", &from_refresh, &doomed);
    CHECK(strcmp(doomed.field[2], refresh) != 0, "refreshed at once: a rotated refresh token");

    /* Present: refused unless replacing. */
    CHECK(add(v, "user-1", &pw, 0, &t, NULL) == CONCUR_ERR_INVALID_ARGUMENT && all_empty(&t),
          "an ID present: %s", last_error);
    CHECK(add(v, "user-1", &pw, 1, &t, NULL) == CONCUR_OK, "replace: %s", last_error);
    struct token_out replaced = t;

    /* Cached: the same token, again and again. */
    int same = 1;
    for (int i = 0; i < 20; i++) {
        CHECK(get(v, "user-1", &t, NULL) == CONCUR_OK, "access_token: %s", last_error);
        same &= strcmp(t.field[0], replaced.field[0]) == 0;
    }
    CHECK(same, "20 calls: the replaced connection's token");
    /* Invalidate: the next call refreshes. */
    CHECK(concur_token_vault_invalidate(v, "user-1", last_error, ROOM) == CONCUR_OK,
          "invalidate: %s", last_error);
    CHECK(get(v, "user-1", &t, NULL) == CONCUR_OK && strcmp(t.field[0], replaced.field[0]) != 0,
          "a new token after invalidate");

    /* Short buffers: all or nothing, the lengths needed; then the cached token fits. */
    prepare_token(&t, 8);
    concur_status status =
        concur_token_vault_access_token(v, "company-1", &t.out, NULL, last_error, ROOM);
    CHECK(status == CONCUR_ERR_BUFFER_TOO_SMALL && nothing_written(&t) &&
              t.out.access_token.len > 8,
          "too small: %s", concur_native_status_name(status));

    /* The connection, as an operator sees it. */
    concur_connection_info info;
    memset(&info, SENTINEL, sizeof info);
    concur_connection_info_init(&info);
    status = concur_token_vault_connection(v, "company-1", &info, last_error, ROOM);
    CHECK(status == CONCUR_OK, "connection: %s", last_error);
    CHECK(strcmp(info.id, "company-1") == 0 && info.id_len == 9, "id '%s'", info.id);
    CHECK(info.kind == CONCUR_CONNECTION_KIND_COMPANY, "kind %u", info.kind);
    CHECK(info.state == CONCUR_CONNECTION_STATE_ACTIVE, "state %u", info.state);
    CHECK(strcmp(info.subject, company_id) == 0, "subject '%s'", info.subject);
    CHECK(strcmp(info.geolocation, base_url) == 0, "geolocation '%s'", info.geolocation);
    CHECK(info.expires_at > now() && info.added_at > 0 && info.added_at <= now() + 1,
          "times %lld %lld", (long long)info.expires_at, (long long)info.added_at);
    CHECK(info.has_concur_code == 0 && info.failures == 0, "healthy");
    concur_connection_info_init(&info);
    CHECK(concur_token_vault_connection(v, "app", &info, last_error, ROOM) == CONCUR_OK &&
              info.kind == CONCUR_CONNECTION_KIND_APP,
          "the application's connection");

    /* Every connection, in ID order; a callback that stops. */
    struct listing all = {0};
    size_t count = 99;
    status = concur_token_vault_connections(v, list_one, &all, &count, last_error, ROOM);
    CHECK(status == CONCUR_OK && count == 4 && all.count == 4, "connections: %s, %zu",
          last_error, count);
    CHECK(strcmp(all.ids[0], "app") == 0 && strcmp(all.ids[1], "company-1") == 0 &&
              strcmp(all.ids[2], "doomed") == 0 && strcmp(all.ids[3], "user-1") == 0,
          "in ID order: %s %s %s %s", all.ids[0], all.ids[1], all.ids[2], all.ids[3]);
    CHECK(all.kinds[3] == CONCUR_CONNECTION_KIND_USER, "a user's");
    struct listing some = {0};
    some.stop_after = 2;
    status = concur_token_vault_connections(v, list_one, &some, &count, last_error, ROOM);
    CHECK(status == CONCUR_OK && count == 2 && some.count == 2, "stopped after two: %zu", count);

    /* Keep-alive: nothing due a minute ahead; ten years ahead, every one with a refresh
     * token; the one rotated away behind the vault's back dies of Concur's 108. */
    concur_keep_alive_report report;
    concur_keep_alive_report_init(&report);
    struct entries entries = {0};
    status = concur_token_vault_keep_alive(v, 60, 0, &report, on_entry, &entries, last_error,
                                           ROOM);
    CHECK(status == CONCUR_OK && report.checked == 0, "nothing due: %s, %llu checked",
          last_error, (unsigned long long)report.checked);
    rotate_away(doomed.field[2]);
    concur_keep_alive_report_init(&report);
    status = concur_token_vault_keep_alive(v, 3650ULL * 86400, 2, &report, on_entry, &entries,
                                           last_error, ROOM);
    CHECK(status == CONCUR_OK, "keep_alive: %s", last_error);
    CHECK(report.checked == report.refreshed + report.fresh + report.dead + report.failed,
          "the report adds up");
    CHECK(report.dead == 1 && entries.dead == 1 && strcmp(entries.dead_id, "doomed") == 0 &&
              entries.dead_code == 108,
          "one dead: %llu, '%s', %lld", (unsigned long long)report.dead, entries.dead_id,
          (long long)entries.dead_code);
    CHECK(report.failed == 0 && entries.failed == 0, "none failed");
    CHECK(report.refreshed >= 2, "the user and the company refreshed: %llu",
          (unsigned long long)report.refreshed);
    concur_connection_info_init(&info);
    CHECK(concur_token_vault_connection(v, "doomed", &info, last_error, ROOM) == CONCUR_OK &&
              info.state == CONCUR_CONNECTION_STATE_DEAD && info.has_concur_code == 1 &&
              info.concur_code == 108,
          "dead, with its code: state %u, code %lld", info.state, (long long)info.concur_code);

    /* Remove: gone, then unknown. */
    CHECK(concur_token_vault_remove(v, "doomed", 0, NULL, last_error, ROOM) == CONCUR_OK,
          "remove: %s", last_error);
    concur_connection_info_init(&info);
    CHECK(concur_token_vault_connection(v, "doomed", &info, last_error, ROOM) ==
              CONCUR_ERR_UNKNOWN_CONNECTION,
          "removed: unknown");

    /* The events carry the connection's ID, and no secret. */
    pthread_mutex_lock(&events_lock);
    int with_user = 0, without = 0;
    for (int i = 0; i < events.count; i++) {
        with_user += strcmp(events.e[i].connection, "user-1") == 0;
        without += !events.e[i].has_connection;
        no_secret_in(events.e[i].summary, "an event's summary");
        no_secret_in(events.e[i].message, "an event's message");
    }
    CHECK(events.count > 0 && with_user >= 1 && without == 0,
          "events name their connection: %d events, %d of user-1, %d without", events.count,
          with_user, without);
    pthread_mutex_unlock(&events_lock);
    concur_token_vault_free(v);
}

/* Two vaults over one SQLite file act as two processes: the second reads the first's
 * connection and token, and sends nothing. */
static void test_sqlite_store(void) {
    char url[1200];
    snprintf(url, sizeof url, "sqlite://%s/vault-%s.db", dir, tag);
    concur_client *a = client_for("sqlite-a"), *b = client_for("sqlite-b");
    concur_token_vault_options o = vault_options(url);
    concur_token_vault *va = vault_for(a, &o), *vb = vault_for(b, &o);
    struct token_out ta, tb;
    concur_vault_start pw = password_start();
    add_ok(va, "shared", &pw, &ta);
    CHECK(get(vb, "shared", &tb, NULL) == CONCUR_OK, "the second vault: %s", last_error);
    CHECK(strcmp(ta.field[0], tb.field[0]) == 0, "the second vault has the first's token");
    concur_token_vault_free(va);
    concur_token_vault_free(vb);
    /* A new vault, later: the connection is still there. */
    concur_token_vault *vc = vault_for(b, &o);
    concur_connection_info info;
    concur_connection_info_init(&info);
    CHECK(concur_token_vault_connection(vc, "shared", &info, last_error, ROOM) == CONCUR_OK &&
              info.kind == CONCUR_CONNECTION_KIND_USER,
          "persisted: %s", last_error);
    CHECK(concur_token_vault_remove(vc, "shared", 0, NULL, last_error, ROOM) == CONCUR_OK,
          "remove: %s", last_error);
    concur_token_vault_free(vc);
    concur_client_free(a);
    concur_client_free(b);
}

/* A refresh token of a user of this run's own (revocation is per user, server-wide): a
 * one-time password sent to a fresh address, then traded. */
static void seed_own_user(char *refresh_token) {
    concur_client *client = client_for("otp");
    char email[256], error[512];
    snprintf(email, sizeof email, "c-vault-%s@example.com", tag);
    concur_status status = concur_client_oauth2_send_otp(client, client_id, client_secret, email,
                                                         NULL, NULL, NULL, NULL, NULL, error,
                                                         sizeof error);
    CHECK(status == CONCUR_OK, "sending a one-time password: %s", error);
    concur_oauth2_grant grant;
    concur_oauth2_grant_init(&grant);
    grant.kind = CONCUR_GRANT_OTP;
    grant.email = email;
    grant.otp = otp;
    struct token_out t;
    prepare_token(&t, ROOM);
    status = concur_client_oauth2_token(client, client_id, client_secret, &grant, NULL, &t.out,
                                        NULL, error, sizeof error);
    CHECK(status == CONCUR_OK, "a one-time password grant: %s", error);
    strcpy(refresh_token, t.field[2]);
    remember(refresh_token);
    concur_client_free(client);
}

/* Revoking on remove: Concur revokes the connection's refresh token. */
static void test_remove_revoke(void) {
    concur_client *client = client_for("revoke");
    concur_token_vault_options o = vault_options("memory:");
    concur_token_vault *v = vault_for(client, &o);
    char refresh[ROOM], vaults[ROOM];
    seed_own_user(refresh);
    concur_vault_start s;
    concur_vault_start_init(&s);
    s.kind = CONCUR_VAULT_START_REFRESH_TOKEN;
    s.refresh_token = refresh;
    struct token_out t;
    add_ok(v, "revoked", &s, &t);
    strcpy(vaults, t.field[2]);
    struct details_out e;
    prepare_details(&e);
    concur_status status = concur_token_vault_remove(v, "revoked", 1, &e.d, last_error, ROOM);
    CHECK(status == CONCUR_OK, "remove with revoke: %s", last_error);
    CHECK(concur_token_vault_access_token(v, "revoked", &t.out, NULL, last_error, ROOM) ==
              CONCUR_ERR_UNKNOWN_CONNECTION,
          "forgotten");
    /* The held refresh token is dead at Concur. */
    concur_oauth2_grant grant;
    concur_oauth2_grant_init(&grant);
    grant.kind = CONCUR_GRANT_REFRESH_TOKEN;
    grant.refresh_token = vaults;
    struct token_out after;
    prepare_token(&after, ROOM);
    status = concur_client_oauth2_token(client, client_id, client_secret, &grant, NULL,
                                        &after.out, NULL, last_error, ROOM);
    CHECK(status == CONCUR_ERR_UNAUTHORIZED, "revoked at Concur: %s",
          concur_native_status_name(status));
    concur_token_vault_free(v);
    concur_client_free(client);
}

/* Bad arguments: each a typed status with a message naming the parameter, no output written,
 * nothing sent (the harness checks the "never" client's requests). */
static void test_bad_arguments(void) {
    concur_client *client = client_for("never");
    char error[512];
    concur_token_vault *v = (concur_token_vault *)&error; /* must be overwritten with NULL */
    concur_token_vault_options o = vault_options(NULL);

    CHECK(concur_token_vault_new(client, &o, NULL, error, sizeof error) ==
              CONCUR_ERR_INVALID_ARGUMENT && strstr(error, "vault_out") != NULL,
          "vault_out NULL: %s", error);
    CHECK(concur_token_vault_new(NULL, &o, &v, error, sizeof error) ==
              CONCUR_ERR_INVALID_ARGUMENT && v == NULL,
          "client NULL: %s", error);
    CHECK(concur_token_vault_new(client, NULL, &v, error, sizeof error) ==
              CONCUR_ERR_INVALID_ARGUMENT && strstr(error, "options") != NULL,
          "options NULL: %s", error);
    concur_token_vault_options unsized = o;
    unsized.struct_size = 0;
    CHECK(concur_token_vault_new(client, &unsized, &v, error, sizeof error) ==
              CONCUR_ERR_INVALID_ARGUMENT && strstr(error, "struct_size") != NULL,
          "struct_size 0: %s", error);
    concur_token_vault_options bad = o;
    bad.client_id = NULL;
    CHECK(concur_token_vault_new(client, &bad, &v, error, sizeof error) ==
              CONCUR_ERR_INVALID_ARGUMENT && strstr(error, "options->client_id") != NULL,
          "client_id NULL: %s", error);
    bad = o;
    bad.store = "ftp://nowhere";
    CHECK(concur_token_vault_new(client, &bad, &v, error, sizeof error) ==
              CONCUR_ERR_INVALID_ARGUMENT,
          "an unknown store URL: %s", error);
    bad.store = "";
    CHECK(concur_token_vault_new(client, &bad, &v, error, sizeof error) ==
              CONCUR_ERR_INVALID_ARGUMENT,
          "an empty store: %s", error);
    bad.store = "postgres://nobody@127.0.0.1:1/none";
    concur_status status = concur_token_vault_new(client, &bad, &v, error, sizeof error);
    CHECK(status == CONCUR_ERR_NOT_BUILT_IN && strstr(error, "postgres") != NULL,
          "postgres in a build without it: %s: %s", concur_native_status_name(status), error);
    bad = o;
    bad.margin_seconds = 60;
    bad.floor_seconds = 60;
    CHECK(concur_token_vault_new(client, &bad, &v, error, sizeof error) ==
              CONCUR_ERR_INVALID_ARGUMENT && strstr(error, "floor_seconds") != NULL,
          "floor not below the window: %s", error);
    bad = o;
    const char *keys[] = {"not a key"};
    bad.store_keys = keys;
    bad.store_key_count = 1;
    CHECK(concur_token_vault_new(client, &bad, &v, error, sizeof error) ==
              CONCUR_ERR_INVALID_ARGUMENT && strstr(error, "store_keys[0]") != NULL &&
              strstr(error, "not a key") == NULL,
          "a bad key, unquoted: %s", error);
    bad = o;
    bad.require_sealed = 2;
    CHECK(concur_token_vault_new(client, &bad, &v, error, sizeof error) ==
              CONCUR_ERR_INVALID_ARGUMENT,
          "require_sealed 2: %s", error);
    CHECK(v == NULL, "vault_out stays NULL after failures");
    concur_token_vault_free(NULL); /* a no-op */

    v = vault_for(client, &o);
    struct token_out t;
    struct details_out e;
    concur_vault_start pw = password_start();
    char long_id[300];
    memset(long_id, 'x', 257);
    long_id[257] = '\0';
    const char *bad_ids[] = {NULL, "", long_id, "tab\there"};
    for (int i = 0; i < 4; i++) {
        CHECK(add(v, bad_ids[i], &pw, 0, &t, &e) == CONCUR_ERR_INVALID_ARGUMENT &&
                  all_empty(&t) && strstr(last_error, "id") != NULL,
              "add: bad id %d: %s", i, last_error);
        CHECK(get(v, bad_ids[i], &t, NULL) == CONCUR_ERR_INVALID_ARGUMENT && all_empty(&t),
              "access_token: bad id %d: %s", i, last_error);
        CHECK(concur_token_vault_invalidate(v, bad_ids[i], error, sizeof error) ==
                  CONCUR_ERR_INVALID_ARGUMENT,
              "invalidate: bad id %d", i);
        CHECK(concur_token_vault_remove(v, bad_ids[i], 0, NULL, error, sizeof error) ==
                  CONCUR_ERR_INVALID_ARGUMENT,
              "remove: bad id %d", i);
    }
    CHECK(add(NULL, "x", &pw, 0, &t, NULL) == CONCUR_ERR_INVALID_ARGUMENT &&
              strstr(last_error, "vault") != NULL,
          "add: vault NULL: %s", last_error);
    CHECK(add(v, "x", NULL, 0, &t, NULL) == CONCUR_ERR_INVALID_ARGUMENT, "start NULL");
    concur_vault_start s = pw;
    s.kind = 0;
    CHECK(add(v, "x", &s, 0, &t, NULL) == CONCUR_ERR_INVALID_ARGUMENT, "kind unset");
    s.kind = 99;
    CHECK(add(v, "x", &s, 0, &t, NULL) == CONCUR_ERR_INVALID_ARGUMENT &&
              strstr(last_error, "99") != NULL,
          "kind 99: %s", last_error);
    s = pw;
    s.password = NULL;
    CHECK(add(v, "x", &s, 0, &t, NULL) == CONCUR_ERR_INVALID_ARGUMENT &&
              strstr(last_error, "start->password") != NULL,
          "password NULL: %s", last_error);
    s = pw;
    s.struct_size = 0;
    CHECK(add(v, "x", &s, 0, &t, NULL) == CONCUR_ERR_INVALID_ARGUMENT, "start's struct_size");
    CHECK(add(v, "x", &pw, 2, &t, NULL) == CONCUR_ERR_INVALID_ARGUMENT, "replace 2");
    /* Aliasing: an output buffer inside the error buffer. */
    prepare_token(&t, ROOM);
    t.out.scope.data = last_error + 8;
    t.out.scope.capacity = 16;
    status = concur_token_vault_add(v, "x", &pw, 0, &t.out, NULL, last_error, ROOM);
    CHECK(status == CONCUR_ERR_INVALID_ARGUMENT && strstr(last_error, "overlap") != NULL,
          "aliasing: %s", last_error);
    CHECK(concur_token_vault_add(v, "x", &pw, 0, NULL, NULL, error, sizeof error) ==
              CONCUR_ERR_INVALID_ARGUMENT,
          "out NULL");

    /* Unknown IDs: a typed status, nothing sent, nothing written. */
    CHECK(get(v, "nobody", &t, &e) == CONCUR_ERR_UNKNOWN_CONNECTION && all_empty(&t),
          "access_token unknown: %s", last_error);
    CHECK(strstr(last_error, "nobody") != NULL || strlen(last_error) > 0, "a message");
    CHECK(concur_token_vault_invalidate(v, "nobody", error, sizeof error) ==
              CONCUR_ERR_UNKNOWN_CONNECTION,
          "invalidate unknown: %s", error);
    CHECK(concur_token_vault_remove(v, "nobody", 0, NULL, error, sizeof error) ==
              CONCUR_ERR_UNKNOWN_CONNECTION,
          "remove unknown: %s", error);
    CHECK(concur_token_vault_remove(v, "nobody", 2, NULL, error, sizeof error) ==
              CONCUR_ERR_INVALID_ARGUMENT,
          "revoke 2");
    concur_connection_info info;
    memset(&info, SENTINEL, sizeof info);
    concur_connection_info_init(&info);
    CHECK(concur_token_vault_connection(v, "nobody", &info, error, sizeof error) ==
              CONCUR_ERR_UNKNOWN_CONNECTION && info.id_len == 0,
          "connection unknown: %s", error);
    info.struct_size = 0;
    CHECK(concur_token_vault_connection(v, "nobody", &info, error, sizeof error) ==
              CONCUR_ERR_INVALID_ARGUMENT,
          "connection: struct_size 0");
    CHECK(concur_token_vault_connection(v, "nobody", NULL, error, sizeof error) ==
              CONCUR_ERR_INVALID_ARGUMENT,
          "connection: out NULL");
    concur_connection_info_init(&info);
    CHECK(concur_token_vault_connection(v, "nobody", &info, (char *)&info.subject,
                                        sizeof info.subject) == CONCUR_ERR_INVALID_ARGUMENT,
          "connection: the error buffer inside out");
    CHECK(concur_token_vault_connections(v, NULL, NULL, NULL, error, sizeof error) ==
              CONCUR_ERR_INVALID_ARGUMENT,
          "connections: callback NULL");
    CHECK(concur_token_vault_connections(NULL, list_one, NULL, NULL, error, sizeof error) ==
              CONCUR_ERR_INVALID_ARGUMENT,
          "connections: vault NULL");
    concur_keep_alive_report report;
    concur_keep_alive_report_init(&report);
    CHECK(concur_token_vault_keep_alive(v, 0, 65, &report, NULL, NULL, error, sizeof error) ==
              CONCUR_ERR_INVALID_ARGUMENT && strstr(error, "concurrency") != NULL,
          "keep_alive: concurrency 65: %s", error);
    CHECK(concur_token_vault_keep_alive(v, 0, 0, NULL, NULL, NULL, error, sizeof error) ==
              CONCUR_ERR_INVALID_ARGUMENT,
          "keep_alive: out NULL");
    report.struct_size = 0;
    CHECK(concur_token_vault_keep_alive(v, 0, 0, &report, NULL, NULL, error, sizeof error) ==
              CONCUR_ERR_INVALID_ARGUMENT,
          "keep_alive: struct_size 0");
    concur_keep_alive_report_init(&report);
    CHECK(concur_token_vault_keep_alive(v, 0, 0, &report, NULL, NULL, error, sizeof error) ==
              CONCUR_OK && report.checked == 0,
          "keep_alive over an empty vault: %s", error);
    concur_token_vault_free(v);
    concur_client_free(client);
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
    otp = env("CONCUR_TEST_OTP");
    tag = env("CONCUR_TEST_RUN_TAG");
    dir = env("CONCUR_TEST_DIR");

    test_bad_arguments();
    test_memory_vault();
    test_sqlite_store();
    test_remove_revoke();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
