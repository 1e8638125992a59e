// The load generators' bulk senders and receivers (benchmarks only: not linked into the node or fleetctl).
#define _GNU_SOURCE
#include "cbenchshim.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

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
