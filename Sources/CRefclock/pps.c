// PPS devices through the RFC 2783 ioctls of <linux/pps.h>: capabilities, the assert edge, fetches.
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/pps.h>

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
