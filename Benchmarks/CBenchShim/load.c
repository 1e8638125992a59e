// The load generators' bulk senders and receivers (benchmarks only: not linked into the node or fleetctl).
#define _GNU_SOURCE
#include "cbenchshim.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>

#define CBS_MANY_MAX 256

int cbs_send_many(int fd, const uint8_t *data, int length, int count) {
    struct mmsghdr msgs[CBS_MANY_MAX];
    struct iovec iov[CBS_MANY_MAX];
    if (count > CBS_MANY_MAX) count = CBS_MANY_MAX;
    if (count <= 0 || length <= 0) return 0;
    memset(msgs, 0, sizeof(struct mmsghdr) * (size_t)count);
    for (int i = 0; i < count; i++) {
        iov[i].iov_base = (void *)(data + (size_t)i * (size_t)length);
        iov[i].iov_len = (size_t)length;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = sendmmsg(fd, msgs, (unsigned int)count, MSG_DONTWAIT);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) ? 0 : -errno;
    return n;
}

int cbs_recv_many(int fd, int max, int timeout_ms) {
    static __thread uint8_t sink[CBS_MANY_MAX][512];
    struct mmsghdr msgs[CBS_MANY_MAX];
    struct iovec iov[CBS_MANY_MAX];
    if (max > CBS_MANY_MAX) max = CBS_MANY_MAX;
    if (max <= 0) return 0;
    if (timeout_ms > 0) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, timeout_ms) <= 0) return 0;
    }
    memset(msgs, 0, sizeof(struct mmsghdr) * (size_t)max);
    for (int i = 0; i < max; i++) {
        iov[i].iov_base = sink[i];
        iov[i].iov_len = sizeof sink[i];
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(fd, msgs, (unsigned int)max, MSG_DONTWAIT, NULL);
    return n < 0 ? 0 : n;
}

/* The transmit timestamp field of an NTP reply (bytes 40-47) as nanoseconds since the Unix epoch. */
static int64_t ntp_transmit_ns(const uint8_t *p) {
    uint32_t sec = ((uint32_t)p[40] << 24) | ((uint32_t)p[41] << 16) | ((uint32_t)p[42] << 8) | p[43];
    uint32_t frac = ((uint32_t)p[44] << 24) | ((uint32_t)p[45] << 16) | ((uint32_t)p[46] << 8) | p[47];
    int64_t unix_sec = (int64_t)sec - 2208988800LL;
    return unix_sec * 1000000000LL + (int64_t)(((uint64_t)frac * 1000000000ULL) >> 32);
}

int64_t cbs_realtime_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint64_t be64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
    return v;
}

int cbs_recv_replies(int fd, int max, cbs_reply *replies) {
    static __thread uint8_t sink[CBS_MANY_MAX][512];
    static __thread uint8_t control[CBS_MANY_MAX][256];
    struct mmsghdr msgs[CBS_MANY_MAX];
    struct iovec iov[CBS_MANY_MAX];
    if (max > CBS_MANY_MAX) max = CBS_MANY_MAX;
    if (max <= 0) return 0;
    memset(msgs, 0, sizeof(struct mmsghdr) * (size_t)max);
    for (int i = 0; i < max; i++) {
        iov[i].iov_base = sink[i];
        iov[i].iov_len = sizeof sink[i];
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_control = control[i];
        msgs[i].msg_hdr.msg_controllen = sizeof control[i];
    }
    int n = recvmmsg(fd, msgs, (unsigned int)max, MSG_DONTWAIT, NULL);
    if (n <= 0) return 0;
    for (int i = 0; i < n; i++) {
        cbs_reply *r = &replies[i];
        memset(r, 0, sizeof *r);
        r->length = (int32_t)msgs[i].msg_len;
        if (msgs[i].msg_len < 48) continue;
        r->origin = be64(sink[i] + 24);
        r->receive = be64(sink[i] + 32);
        r->transmit_ns = ntp_transmit_ns(sink[i]);
        struct msghdr *h = &msgs[i].msg_hdr;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_TIMESTAMPING) continue;
            struct scm_timestamping ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            if (ts.ts[0].tv_sec != 0) r->rx_ns = (int64_t)ts.ts[0].tv_sec * 1000000000LL + ts.ts[0].tv_nsec;
            break;
        }
    }
    return n;
}
