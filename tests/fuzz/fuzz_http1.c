/*
 * fuzz_http1.c — libFuzzer target for the HTTP/1.1 server side: the input
 * (after one mode byte choosing chunking and answer timing) is fed as
 * received bytes into a connection with an in-memory transport.
 */
#include "fuzz_conn_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    /* The first data byte must not be 'P' of the HTTP/2 preface matter:
     * any input that is not the preface goes to HTTP/1.1. */
    run_conn(data + 1, size - 1, data[0]);
    return 0;
}
