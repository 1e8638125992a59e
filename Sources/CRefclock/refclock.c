// See include/crefclock.h. Linux only (SysV SHM, <linux/pps.h>, unshare).
#define _GNU_SOURCE
#include "crefclock.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <gps.h>
#include <linux/pps.h>

crf_time crf_realtime_now(void) {
    struct timespec ts;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    crf_time t = {(int64_t)ts.tv_sec, (int32_t)ts.tv_nsec};
    return t;
}

static crf_time from_timespec(struct timespec ts) {
    crf_time t = {(int64_t)ts.tv_sec, (int32_t)ts.tv_nsec};
    return t;
}

static void copy_string(char *dst, size_t size, const char *src) {
    if (size == 0) return;
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

// MARK: - gpsd

struct crf_gps_session {
    struct gps_data_t data;
    pthread_mutex_t lock;   // guards `interrupted` against the socket being closed
    int interrupted;
    char line[8192];          // gpsd lines are at most GPS_JSON_RESPONSE_MAX (4096)
};

int crf_gps_api_version(void) { return GPSD_API_MAJOR_VERSION * 1000 + GPSD_API_MINOR_VERSION; }

const char *crf_gps_errstr(int error) {
    if (error < 0) return gps_errstr(error);
    if (error == 0) return "connection closed by gpsd";
    return strerror(error);
}

crf_gps_session *crf_gps_open(const char *host, const char *port, int watch_pps, int *error) {
    crf_gps_session *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        if (error) *error = ENOMEM;
        return NULL;
    }
    errno = 0;
    if (gps_open(host, port, &s->data) != 0) {
        // libgps leaves a negative netlib code (NL_NOCONNECT, ...) in errno.
        int e = errno;
        if (error) *error = (e == 0) ? -6 : e;
        free(s);
        return NULL;
    }
    unsigned int flags = WATCH_ENABLE | WATCH_JSON;
    if (watch_pps) flags |= WATCH_PPS;
    errno = 0;
    if (gps_stream(&s->data, flags, NULL) != 0) {
        int e = errno;
        if (error) *error = (e == 0) ? EPIPE : e;
        (void)gps_close(&s->data);
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    if (error) *error = 0;
    return s;
}

int crf_gps_wait(crf_gps_session *s, int timeout_us) {
    pthread_mutex_lock(&s->lock);
    int interrupted = s->interrupted;
    pthread_mutex_unlock(&s->lock);
    if (interrupted) return -1;
    return gps_waiting(&s->data, timeout_us) ? 1 : 0;
}

void crf_gps_interrupt(crf_gps_session *s) {
    pthread_mutex_lock(&s->lock);
    if (!s->interrupted) {
        s->interrupted = 1;
        // The descriptor stays open (closed only by crf_gps_close on the owner's thread), so this cannot
        // hit a reused descriptor; shutdown wakes a blocked select/recv with EOF.
        (void)shutdown(s->data.gps_fd, SHUT_RDWR);
    }
    pthread_mutex_unlock(&s->lock);
}

void crf_gps_close(crf_gps_session *s) {
    if (s == NULL) return;
    pthread_mutex_lock(&s->lock);
    s->interrupted = 1;
    pthread_mutex_unlock(&s->lock);
    (void)gps_close(&s->data);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

// The value of "class" in a JSON line, or "".
static void line_class(const char *line, char *out, size_t size) {
    out[0] = '\0';
    const char *key = strstr(line, "\"class\"");
    if (key == NULL) return;
    const char *p = key + 7;
    while (*p == ' ' || *p == '\t' || *p == ':') p++;
    if (*p != '"') return;
    p++;
    size_t n = 0;
    while (p[n] != '\0' && p[n] != '"' && n + 1 < size) n++;
    if (p[n] != '"') return;
    memcpy(out, p, n);
    out[n] = '\0';
}

int crf_gps_read(crf_gps_session *s, crf_gps_report *r, int *error) {
    memset(r, 0, sizeof(*r));
    r->ept = NAN;
    struct gps_data_t *d = &s->data;
    // libgps accumulates: clear what we test so every report says only what this line carried.
    d->set = 0;
    d->fix.time.tv_sec = 0;
    d->fix.time.tv_nsec = 0;
    d->leap_seconds = 0;
    memset(&d->toff, 0, sizeof(d->toff));
    memset(&d->pps, 0, sizeof(d->pps));
    s->line[0] = '\0';
    errno = 0;
    int status = gps_read(d, s->line, (int)sizeof(s->line));
    r->received = crf_realtime_now();
    if (status < 0) {
        if (error) *error = errno;
        return -1;
    }
    if (error) *error = 0;
    if (status == 0) return 0;

    char cls[sizeof(r->line_class)];
    line_class(s->line, cls, sizeof(cls));
    copy_string(r->line_class, sizeof(r->line_class), cls);
    gps_mask_t set = d->set;
    int known = 0;

    // libgps keeps whatever it parsed before a JSON error: a line that is not one whole object is
    // malformed (a truncated line, or not JSON at all), whatever flags it left.
    size_t length = strlen(s->line);
    while (length > 0 && (s->line[length - 1] == '\r' || s->line[length - 1] == ' ' || s->line[length - 1] == '\n')) length--;
    if (length < 2 || s->line[0] != '{' || s->line[length - 1] != '}') {
        r->kinds |= CRF_GPS_UNKNOWN;
        return status;
    }

    if (strcmp(cls, "TPV") == 0 && (set & MODE_SET)) {
        known = 1;
        r->kinds |= CRF_GPS_TPV;
        r->mode = d->fix.mode;
        r->status = d->fix.status;
        r->ept = d->fix.ept;
        if ((set & TIME_SET) && d->fix.time.tv_sec > 0) {
            r->kinds |= CRF_GPS_TIME;
            r->time = from_timespec(d->fix.time);
        } else if (set & TIME_SET) {
            // An unparseable "time" (libgps turns it into 1900-01-01): a malformed report, not a time.
            r->kinds = CRF_GPS_UNKNOWN;
            return status;
        }
        if (d->leap_seconds != 0) {
            r->kinds |= CRF_GPS_LEAP;
            r->leap_seconds = d->leap_seconds;
        }
    } else if (strcmp(cls, "SKY") == 0 && (set & SATELLITE_SET)) {
        known = 1;
        r->kinds |= CRF_GPS_SKY;
        r->satellites_used = d->satellites_used;
        r->satellites_visible = d->satellites_visible;
    } else if (strcmp(cls, "SKY") == 0) {
        known = 1;   // a SKY with DOPs only
    } else if (strcmp(cls, "TOFF") == 0 && (set & TOFF_SET)) {
        known = 1;
        r->kinds |= CRF_GPS_TOFF;
        // libgps 3.22's json_toff_read stores TOFF into gps_data_t.pps (TOFF_SET is set, .toff stays
        // zero); later versions use .toff. Both were zeroed before the read: take the one that was filled.
        const struct timedelta_t *toff =
            (d->toff.real.tv_sec != 0 || d->toff.clock.tv_sec != 0) ? &d->toff : &d->pps;
        r->toff_real = from_timespec(toff->real);
        r->toff_clock = from_timespec(toff->clock);
    } else if (strcmp(cls, "PPS") == 0 && (set & PPS_SET)) {
        known = 1;
        r->kinds |= CRF_GPS_PPS;
        r->pps_real = from_timespec(d->pps.real);
        r->pps_clock = from_timespec(d->pps.clock);
    } else if (strcmp(cls, "VERSION") == 0 && (set & VERSION_SET)) {
        known = 1;
        r->kinds |= CRF_GPS_VERSION;
        copy_string(r->release, sizeof(r->release), d->version.release);
        r->proto_major = d->version.proto_major;
        r->proto_minor = d->version.proto_minor;
    } else if (strcmp(cls, "DEVICES") == 0 && (set & DEVICELIST_SET)) {
        known = 1;
        r->kinds |= CRF_GPS_DEVICES;
        r->device_count = d->devices.ndevices;
        if (d->devices.ndevices > 0) {
            copy_string(r->device_path, sizeof(r->device_path), d->devices.list[0].path);
            copy_string(r->driver, sizeof(r->driver), d->devices.list[0].driver);
        }
    } else if (strcmp(cls, "DEVICE") == 0 && (set & DEVICE_SET)) {
        known = 1;
        r->kinds |= CRF_GPS_DEVICES;
        r->device_count = 1;
        copy_string(r->device_path, sizeof(r->device_path), d->dev.path);
        copy_string(r->driver, sizeof(r->driver), d->dev.driver);
    } else if (strcmp(cls, "ERROR") == 0 && (set & ERROR_SET)) {
        known = 1;
        r->kinds |= CRF_GPS_ERROR;
        copy_string(r->error, sizeof(r->error), d->error);
    } else if (cls[0] != '\0' && strcmp(cls, "TPV") != 0 && strcmp(cls, "TOFF") != 0 &&
               strcmp(cls, "PPS") != 0 && strcmp(cls, "VERSION") != 0 && strcmp(cls, "DEVICES") != 0 &&
               strcmp(cls, "DEVICE") != 0 && strcmp(cls, "ERROR") != 0 && s->line[0] == '{' &&
               (set & ~(gps_mask_t)(PACKET_SET | ONLINE_SET)) != 0) {
        known = 1;   // another class libgps decoded (WATCH, GST, ATT, ...): not ours, not an error
    }
    if ((r->kinds & (CRF_GPS_TPV | CRF_GPS_TOFF | CRF_GPS_PPS)) && d->dev.path[0] != '\0') {
        r->kinds |= CRF_GPS_DEVICE;
        copy_string(r->device_path, sizeof(r->device_path), d->dev.path);
    }
    if (!known) r->kinds |= CRF_GPS_UNKNOWN;
    return status;
}

// MARK: - NTP shared memory

// The ntpd/gpsd/chrony layout (ntpshm.h), 96 bytes on LP64.
struct crf_shm_time {
    int mode;                   // 0: plain; 1: count protocol
    volatile int count;
    time_t clockTimeStampSec;   // reference time
    int clockTimeStampUSec;
    time_t receiveTimeStampSec; // system time
    int receiveTimeStampUSec;
    int leap;
    int precision;
    int nsamples;
    volatile int valid;
    unsigned clockTimeStampNSec;
    unsigned receiveTimeStampNSec;
    int dummy[8];
};

#if defined(__LP64__)
_Static_assert(sizeof(struct crf_shm_time) == 96, "struct shmTime must be 96 bytes on LP64");
#endif

int32_t crf_shm_key(int unit) { return (int32_t)(0x4E545030 + unit); }

size_t crf_shm_segment_size(void) { return sizeof(struct crf_shm_time); }

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

void *crf_shm_create(int unit, int *error) { return attach(unit, IPC_CREAT | 0600, error); }

void crf_shm_detach(void *segment) {
    if (segment != NULL) (void)shmdt(segment);
}

int crf_shm_remove(int unit) {
    int id = shmget((key_t)crf_shm_key(unit), 0, 0);
    if (id < 0) return -errno;
    return shmctl(id, IPC_RMID, NULL) == 0 ? 0 : -errno;
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

void crf_shm_write(void *segment, crf_time clock, crf_time receive, int leap, int precision) {
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

void crf_shm_bump_count(void *segment) {
    volatile struct crf_shm_time *shm = segment;
    shm->count++;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

// MARK: - PPS

int crf_pps_open(const char *path) {
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 && (errno == EACCES || errno == EROFS)) {
        // PPS_FETCH needs no write access; only PPS_SETPARAMS does (and it wants CAP_SYS_TIME anyway).
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    }
    return fd < 0 ? -errno : fd;
}

int crf_pps_getcap(int fd, int *caps) {
    int mode = 0;
    if (ioctl(fd, PPS_GETCAP, &mode) < 0) return -errno;
    *caps = mode;
    return 0;
}

int crf_pps_getmode(int fd, int *mode) {
    struct pps_kparams params;
    memset(&params, 0, sizeof(params));
    if (ioctl(fd, PPS_GETPARAMS, &params) < 0) return -errno;
    *mode = params.mode;
    return 0;
}

int crf_pps_enable_assert(int fd) {
    struct pps_kparams params;
    memset(&params, 0, sizeof(params));
    if (ioctl(fd, PPS_GETPARAMS, &params) < 0) return -errno;
    if ((params.mode & PPS_CAPTUREASSERT) != 0) return 0;
    params.api_version = PPS_API_VERS;
    params.mode |= PPS_CAPTUREASSERT | PPS_TSFMT_TSPEC;
    if (ioctl(fd, PPS_SETPARAMS, &params) < 0) return -errno;
    return 0;
}

int crf_pps_fetch(int fd, int64_t timeout_ns, crf_time *assert_time, uint32_t *assert_sequence) {
    struct pps_fdata fdata;
    memset(&fdata, 0, sizeof(fdata));
    if (timeout_ns < 0) {
        fdata.timeout.flags = PPS_TIME_INVALID;
    } else {
        fdata.timeout.sec = timeout_ns / 1000000000;
        fdata.timeout.nsec = (int32_t)(timeout_ns % 1000000000);
    }
    if (ioctl(fd, PPS_FETCH, &fdata) < 0) return -errno;
    assert_time->sec = fdata.info.assert_tu.sec;
    assert_time->nsec = fdata.info.assert_tu.nsec;
    *assert_sequence = fdata.info.assert_sequence;
    return 0;
}

void crf_close(int fd) {
    if (fd >= 0) (void)close(fd);
}

// MARK: - Process helpers

int crf_unshare_ipc(void) { return unshare(CLONE_NEWIPC) == 0 ? 0 : -errno; }

int64_t crf_ipc_namespace_id(void) {
    struct stat st;
    if (stat("/proc/thread-self/ns/ipc", &st) != 0) return -errno;
    return (int64_t)st.st_ino;
}

int crf_thread_set_euid(uint32_t euid) {
    long rc = syscall(SYS_setresuid, (uid_t)-1, (uid_t)euid, (uid_t)-1);
    return rc == 0 ? 0 : -errno;
}
