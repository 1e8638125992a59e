// Tests' side of the NTP shared memory: create a segment as gpsd does and write samples into it with the
// count protocol, so nodes get precise, controllable "GPS" time. Not linked into the node.
#include "crefclocktestsupport.h"

#include <errno.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <time.h>

crf_time crt_realtime_now(void) {
    struct timespec ts;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    crf_time t = {(int64_t)ts.tv_sec, (int32_t)ts.tv_nsec};
    return t;
}

size_t crt_shm_segment_size(void) { return sizeof(struct crf_shm_time); }

void *crt_shm_create(int unit, int *error) {
    int id = shmget((key_t)crf_shm_key(unit), sizeof(struct crf_shm_time), IPC_CREAT | 0600);
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

int crt_shm_remove(int unit) {
    int id = shmget((key_t)crf_shm_key(unit), 0, 0);
    if (id < 0) return -errno;
    return shmctl(id, IPC_RMID, NULL) == 0 ? 0 : -errno;
}

void crt_shm_write(void *segment, crf_time clock, crf_time receive, int leap, int precision) {
    volatile struct crf_shm_time *shm = segment;
    shm->mode = 1;
    shm->valid = 0;
    shm->count++;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    shm->clockTimeStampSec = (time_t)clock.sec;
    shm->clockTimeStampUSec = (int)(clock.nsec / 1000);
    shm->clockTimeStampNSec = (unsigned)clock.nsec;
    shm->receiveTimeStampSec = (time_t)receive.sec;
    shm->receiveTimeStampUSec = (int)(receive.nsec / 1000);
    shm->receiveTimeStampNSec = (unsigned)receive.nsec;
    shm->leap = leap;
    shm->precision = precision;
    shm->nsamples = 3;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    shm->count++;
    shm->valid = 1;
}

void crt_shm_bump_count(void *segment) {
    volatile struct crf_shm_time *shm = segment;
    shm->count++;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
