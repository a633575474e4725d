/*
 * time.h — clocks. Wall time in Unix nanoseconds (OTLP's unit) and a
 * monotonic clock for durations and timeouts.
 */
#ifndef OCL_TIME_H
#define OCL_TIME_H

#include <stdint.h>
#include <time.h>

static inline uint64_t ocl_now_unix_nano(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t ocl_mono_nano(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
