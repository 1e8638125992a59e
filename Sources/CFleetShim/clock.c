// Clock reads (realtime, monotonic, raw monotonic), the kernel clock's state through clock_adjtime (read
// with modes 0; steered only by the system-clock driver, which needs CAP_SYS_TIME) and the build date (the
// node's time floor). See include/cfleetshim.h for why this is C.
#define _GNU_SOURCE
#include "cfleetshim.h"

#include <errno.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

void cfs_clock_realtime(int64_t *sec, int32_t *nsec) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    *sec = ts.tv_sec;
    *nsec = (int32_t)ts.tv_nsec;
}

uint64_t cfs_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t cfs_monotonic_raw_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int cfs_kernel_clock_steer(double frequency_ppm, int64_t step_ns, int leap, int64_t max_error_us, int64_t est_error_us) {
    if (step_ns != 0) {
        struct timex step;
        memset(&step, 0, sizeof step);
        step.modes = ADJ_SETOFFSET | ADJ_NANO;
        int64_t seconds = step_ns / 1000000000;
        int64_t nanos = step_ns % 1000000000;
        if (nanos < 0) { nanos += 1000000000; seconds -= 1; }
        step.time.tv_sec = (time_t)seconds;
        step.time.tv_usec = (suseconds_t)nanos; // nanoseconds with ADJ_NANO
        if (clock_adjtime(CLOCK_REALTIME, &step) < 0) return -errno;
    }
    struct timex tx;
    memset(&tx, 0, sizeof tx);
    if (clock_adjtime(CLOCK_REALTIME, &tx) < 0) return -errno; // current status bits
    int status = tx.status & ~(STA_UNSYNC | STA_INS | STA_DEL | STA_PLL | STA_FLL);
    if (leap == 1) status |= STA_INS;
    if (leap == 2) status |= STA_DEL;
    memset(&tx, 0, sizeof tx);
    tx.modes = ADJ_FREQUENCY | ADJ_STATUS | ADJ_MAXERROR | ADJ_ESTERROR;
    tx.freq = (long)(frequency_ppm * 65536.0);
    tx.status = status;
    tx.maxerror = (long)max_error_us;
    tx.esterror = (long)est_error_us;
    int state = clock_adjtime(CLOCK_REALTIME, &tx);
    return state < 0 ? -errno : state;
}

int cfs_kernel_clock_read(cfs_kernel_clock *out) {
    struct timex tx;
    memset(&tx, 0, sizeof tx);
    tx.modes = 0; // read only: never step or slew the clock
    int state = clock_adjtime(CLOCK_REALTIME, &tx);
    if (state < 0) return -errno;
    out->state = state;
    out->offset_ns = (tx.status & STA_NANO) ? (int64_t)tx.offset : (int64_t)tx.offset * 1000;
    out->frequency_ppm = (double)tx.freq / 65536.0;
    out->max_error_us = tx.maxerror;
    out->est_error_us = tx.esterror;
    out->status = tx.status;
    out->tick_us = tx.tick;
    out->tai_offset = tx.tai;
    return 0;
}

const char *cfs_build_date(void) { return __DATE__; }
