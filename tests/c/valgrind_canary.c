/*
 * Proves that share/valgrind/concur_native.supp hides nothing of its caller's: this program
 * gets a token through the library (so every suppression the library needs is in play), and
 * makes two mistakes of its own, a leak and an invalid read. Run under valgrind with the
 * suppression file, both must still be reported (tests/c_abi.rs checks the report).
 * Environment: as the C example (CONCUR_CONSUMER_KEY, CONCUR_LOGIN_ID, CONCUR_PASSWORD,
 * CONCUR_BASE_URL, CONCUR_CA_FILE).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "concur_native.h"

/* Kept out of line so that valgrind's stack names them. */
__attribute__((noinline)) static char *canary_leak(void) {
    char *lost = malloc(77); /* 77 bytes: a size the report can be matched on */
    if (lost != NULL)
        memset(lost, 'x', 77);
    return lost;
}

__attribute__((noinline)) static int canary_invalid_read(const char *heap) {
    return heap[80]; /* 3 bytes past the 77-byte block */
}

int main(void) {
    concur_options options;
    memset(&options, 0, sizeof options);
    options.base_url = getenv("CONCUR_BASE_URL");
    options.ca_file = getenv("CONCUR_CA_FILE");
    static char token[CONCUR_NATIVE_RECOMMENDED_CAPACITY];
    char error[CONCUR_NATIVE_ERROR_CAPACITY];
    concur_token_buffers out;
    memset(&out, 0, sizeof out);
    out.token.data = token;
    out.token.capacity = sizeof token;
    concur_status status =
        concur_native_token(getenv("CONCUR_CONSUMER_KEY"), getenv("CONCUR_LOGIN_ID"),
                            getenv("CONCUR_PASSWORD"), &options, &out, error, sizeof error);
    printf("status: %s\n", concur_native_status_name(status));

    char *heap = canary_leak();
    int byte = canary_invalid_read(heap);
    printf("read: %d\n", byte & 1);
    heap = NULL; /* the only pointer is gone: definitely lost */
    return status == CONCUR_OK ? 0 : 1;
}
