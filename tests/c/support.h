/*
 * What the C contract tests (abi_test.c, oauth2_test.c, manager_test.c, network_test.c) share: the CHECK
 * tally (safe from several threads), reading the harness's environment, and sentinel-guarded
 * output buffers for the current API's tokens and error details. Included once, by the test's
 * one source file; everything here is static.
 */
#ifndef CONCUR_TEST_SUPPORT_H
#define CONCUR_TEST_SUPPORT_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "concur_native.h"

static int passed, failed;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;

/* Counts a check; a failed one prints its place, its condition and the formatted message. */
#define CHECK(cond, ...)                                             \
    do {                                                             \
        int ok_ = (cond) ? 1 : 0;                                    \
        pthread_mutex_lock(&count_lock);                             \
        if (ok_) {                                                   \
            passed++;                                                \
        } else {                                                     \
            failed++;                                                \
            printf("not ok %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            printf(__VA_ARGS__);                                     \
            printf("\n");                                            \
        }                                                            \
        pthread_mutex_unlock(&count_lock);                           \
    } while (0)

/* A variable the harness must have set; exits 2 without it. */
static inline const char *env(const char *name) {
    const char *value = getenv(name);
    if (value == NULL) {
        fprintf(stderr, "missing %s\n", name);
        exit(2);
    }
    return value;
}

/* Every output buffer is filled with this byte first, so a write past its capacity shows. */
#define SENTINEL 0x5A

/* Whether bytes [from, to) of a buffer still hold the sentinel. */
static inline int untouched_after(const char *buffer, size_t from, size_t to) {
    for (size_t i = from; i < to; i++)
        if ((unsigned char)buffer[i] != SENTINEL) return 0;
    return 1;
}

/* ---- the current API's token and error details, with sentinels past every capacity ---- */

#define TOKEN_ROOM 2048
#define SMALL 256
#define NFIELDS 9

struct token_out {
    char field[NFIELDS][TOKEN_ROOM + 16];
    concur_oauth2_token_buffers out;
};

struct details_out {
    char oauth_error[SMALL + 16], geolocation[SMALL + 16], correlation_id[SMALL + 16];
    concur_error_details d;
};

static inline concur_buffer *field_of(concur_oauth2_token_buffers *out, int i) {
    concur_buffer *all[NFIELDS] = {&out->access_token, &out->token_type, &out->refresh_token,
                                   &out->scope,        &out->geolocation, &out->id_token,
                                   &out->subject,      &out->principal_type,
                                   &out->correlation_id};
    return all[i];
}

/* Every field a buffer of `capacity` bytes (at most TOKEN_ROOM), lengths and times garbage. */
static inline void prepare_token(struct token_out *t, size_t capacity) {
    memset(t, SENTINEL, sizeof *t);
    concur_oauth2_token_buffers_init(&t->out);
    for (int i = 0; i < NFIELDS; i++) {
        field_of(&t->out, i)->data = t->field[i];
        field_of(&t->out, i)->capacity = capacity;
        field_of(&t->out, i)->len = 12345;
    }
    t->out.expires_at = t->out.refresh_expires_at = 777;
    t->out.http_status = 777;
}

static inline void prepare_details(struct details_out *e) {
    memset(e, SENTINEL, sizeof *e);
    concur_error_details_init(&e->d);
    e->d.oauth_error.data = e->oauth_error;
    e->d.oauth_error.capacity = SMALL;
    e->d.geolocation.data = e->geolocation;
    e->d.geolocation.capacity = SMALL;
    e->d.correlation_id.data = e->correlation_id;
    e->d.correlation_id.capacity = SMALL;
    e->d.http_status = 777;
    e->d.has_concur_code = 777;
    e->d.concur_code = 777;
}

/* No byte of a token handed out: every buffer a lone NUL, times zero. (After
 * CONCUR_ERR_BUFFER_TOO_SMALL the lengths say what was needed.) */
static inline int nothing_written(struct token_out *t) {
    for (int i = 0; i < NFIELDS; i++)
        if (t->field[i][0] != '\0') return 0;
    return t->out.expires_at == 0 && t->out.refresh_expires_at == 0;
}

/* As after any other failure: nothing written, and every length 0 too. */
static inline int all_empty(struct token_out *t) {
    for (int i = 0; i < NFIELDS; i++)
        if (field_of(&t->out, i)->len != 0) return 0;
    return nothing_written(t);
}

#endif
