// The NTP shared-memory reference clock (gpsd's ntpshm, chrony's SHM): attach a segment and read it with
// the count protocol. The segment's layout is `crf_shm_time` in the header.
#include "internal.h"

#include <errno.h>
#include <sys/ipc.h>
#include <sys/shm.h>

int32_t crf_shm_key(int unit) { return (int32_t)(0x4E545030 + unit); }

static void *attach(int unit, int flags, int *error) {
    int id = shmget((key_t)crf_shm_key(unit), sizeof(struct crf_shm_time), flags);
    if (id < 0) {
        if (error) *error = -errno;
        return NULL;
    }
    void *addr = shmat(id, NULL, 0);
    if (addr == (void *)-1) {
        if (error) *error = -errno;
        return NULL;
    }
    if (error) *error = 0;
    return addr;
}

void *crf_shm_attach(int unit, int *error) { return attach(unit, 0, error); }


void crf_shm_detach(void *segment) {
    if (segment != NULL) (void)shmdt(segment);
}

int crf_shm_read_hooked(void *segment, crf_shm_sample *sample, void (*hook)(void *, void *), void *context) {
    volatile struct crf_shm_time *shm = segment;
    struct crf_shm_time t;
    int count_before = __atomic_load_n(&((struct crf_shm_time *)segment)->count, __ATOMIC_ACQUIRE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    memcpy(&t, (const void *)shm, sizeof(t));
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (hook != NULL) hook(segment, context);
    int count_after = __atomic_load_n(&((struct crf_shm_time *)segment)->count, __ATOMIC_ACQUIRE);

    memset(sample, 0, sizeof(*sample));
    sample->mode = t.mode;
    sample->count = t.count;
    if (t.mode != 0 && t.mode != 1) return CRF_SHM_BAD_MODE;
    if (t.mode == 1 && (t.count != count_before || count_after != count_before)) return CRF_SHM_TORN;
    if (!t.valid) return CRF_SHM_NOT_VALID;
    shm->valid = 0;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);

    sample->clock.sec = (int64_t)t.clockTimeStampSec;
    sample->receive.sec = (int64_t)t.receiveTimeStampSec;
    // As chrony: the nanosecond fields are newer; trust them only when they agree with the microseconds.
    if (t.clockTimeStampNSec / 1000 == (unsigned)t.clockTimeStampUSec &&
        t.receiveTimeStampNSec / 1000 == (unsigned)t.receiveTimeStampUSec && t.clockTimeStampNSec < 1000000000u &&
        t.receiveTimeStampNSec < 1000000000u) {
        sample->clock.nsec = (int32_t)t.clockTimeStampNSec;
        sample->receive.nsec = (int32_t)t.receiveTimeStampNSec;
    } else {
        sample->clock.nsec = (int32_t)((int64_t)t.clockTimeStampUSec * 1000);
        sample->receive.nsec = (int32_t)((int64_t)t.receiveTimeStampUSec * 1000);
    }
    sample->leap = t.leap;
    sample->precision = t.precision;
    return CRF_SHM_OK;
}

int crf_shm_read(void *segment, crf_shm_sample *sample) {
    return crf_shm_read_hooked(segment, sample, NULL, NULL);
}
