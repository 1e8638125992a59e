// Helpers shared by the reference-clock C files (not part of the module's interface).
#ifndef CREFCLOCK_INTERNAL_H
#define CREFCLOCK_INTERNAL_H

#include "crefclock.h"

#include <string.h>
#include <time.h>

static inline crf_time crf_from_timespec(struct timespec ts) {
    crf_time t = {(int64_t)ts.tv_sec, (int32_t)ts.tv_nsec};
    return t;
}

/// CLOCK_REALTIME now.
static inline crf_time crf_realtime_now(void) {
    struct timespec ts;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return crf_from_timespec(ts);
}

static inline void crf_copy_string(char *dst, size_t size, const char *src) {
    if (size == 0) return;
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

#endif
