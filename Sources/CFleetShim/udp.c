// UDP sockets for the NTP server and clients: numeric binds, SO_TIMESTAMPING receive stamps, recvmmsg/
// sendmmsg batches, one-shot exchanges. See include/cfleetshim.h for why this is C.
#define _GNU_SOURCE
#include "cfleetshim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#define CFS_CONTROL_LEN 256

struct cfs_batch {
    int count;
    int bufsize;
    uint8_t *rx_data;                       // count * bufsize
    uint8_t *tx_data;                       // count * bufsize
    struct sockaddr_storage *rx_addr;       // count
    struct iovec *rx_iov;                   // count
    struct mmsghdr *rx_msgs;                // count
    uint8_t *rx_control;                    // count * CFS_CONTROL_LEN
    struct iovec *tx_iov;                   // count
    struct mmsghdr *tx_msgs;                // count
    int queued;
    struct mmsghdr *err_msgs;               // count: transmit timestamps read from the error queue
    uint8_t *err_control;                   // count * CFS_CONTROL_LEN
    // Headers the last read may have rewritten (the kernel writes back lengths and flags only for the
    // messages it fills): only these are reset before the next read. A quiet server reads one datagram per
    // wake-up, and resetting every slot of the batch twice per wake-up (before the read that finds nothing
    // and the one after poll) was a tenth of its instructions per answer (callgrind, one request at a time).
    int rx_dirty;
    int err_dirty;
};

static void set_error(char *err, size_t errlen, const char *what, int code) {
    if (err && errlen) snprintf(err, errlen, "%s: %s", what, strerror(code));
}

static int enable_rx_timestamps(int fd) {
    int flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
    if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags) == 0) return CFS_STAMP_TIMESTAMPING;
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) == 0) return CFS_STAMP_NS;
    return CFS_STAMP_NONE;
}

static int parse_numeric(const char *address, uint16_t port, struct sockaddr_storage *ss, socklen_t *len) {
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, address, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        *len = sizeof *in4;
        return AF_INET;
    }
    if (inet_pton(AF_INET6, address, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        *len = sizeof *in6;
        return AF_INET6;
    }
    return -1;
}

int cfs_udp_bind(const char *address, uint16_t port, int reuseport, int *stamp_mode, char *err, size_t errlen) {
    struct sockaddr_storage ss;
    socklen_t len;
    int family = parse_numeric(address, port, &ss, &len);
    if (family < 0) {
        if (err && errlen) snprintf(err, errlen, "not a numeric IPv4 or IPv6 address: %s", address);
        return -1;
    }
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) { set_error(err, errlen, "socket", errno); return -1; }
    int on = 1;
    if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
        set_error(err, errlen, "SO_REUSEPORT", errno);
        close(fd);
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
        int code = errno;
        if (err && errlen) snprintf(err, errlen, "bind %s port %u: %s", address, port, strerror(code));
        close(fd);
        return -1;
    }
    int mode = enable_rx_timestamps(fd);
    if (stamp_mode) *stamp_mode = mode;
    return fd;
}

void cfs_close(int fd) { if (fd >= 0) close(fd); }

int cfs_local_port(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

cfs_batch *cfs_batch_create(int count, int bufsize) {
    if (count <= 0 || bufsize <= 0) return NULL;
    cfs_batch *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->count = count;
    b->bufsize = bufsize;
    b->rx_data = calloc((size_t)count, (size_t)bufsize);
    b->tx_data = calloc((size_t)count, (size_t)bufsize);
    b->rx_addr = calloc((size_t)count, sizeof *b->rx_addr);
    b->rx_iov = calloc((size_t)count, sizeof *b->rx_iov);
    b->rx_msgs = calloc((size_t)count, sizeof *b->rx_msgs);
    b->rx_control = calloc((size_t)count, CFS_CONTROL_LEN);
    b->tx_iov = calloc((size_t)count, sizeof *b->tx_iov);
    b->tx_msgs = calloc((size_t)count, sizeof *b->tx_msgs);
    b->err_msgs = calloc((size_t)count, sizeof *b->err_msgs);
    b->err_control = calloc((size_t)count, CFS_CONTROL_LEN);
    if (!b->rx_data || !b->tx_data || !b->rx_addr || !b->rx_iov || !b->rx_msgs || !b->rx_control || !b->tx_iov ||
        !b->tx_msgs || !b->err_msgs || !b->err_control) {
        cfs_batch_destroy(b);
        return NULL;
    }
    // The error queue's headers: no address, no data (OPT_TSONLY), each its own control buffer. Only the
    // lengths and flags the kernel rewrites are reset before each read (cfs_batch_tx_stamps).
    for (int i = 0; i < count; i++) b->err_msgs[i].msg_hdr.msg_control = b->err_control + (size_t)i * CFS_CONTROL_LEN;
    b->err_dirty = count;  // lengths set before the first read
    b->rx_dirty = count;   // every receive header set up before the first read
    return b;
}

void cfs_batch_destroy(cfs_batch *b) {
    if (!b) return;
    free(b->rx_data);
    free(b->tx_data);
    free(b->rx_addr);
    free(b->rx_iov);
    free(b->rx_msgs);
    free(b->rx_control);
    free(b->tx_iov);
    free(b->tx_msgs);
    free(b->err_msgs);
    free(b->err_control);
    free(b);
}

int cfs_batch_capacity(const cfs_batch *b) { return b ? b->count : 0; }

// Resets the receive headers (the kernel rewrote lengths and flags in the last call).
static void batch_prepare_rx(cfs_batch *b) {
    for (int i = 0; i < b->rx_dirty; i++) {
        b->rx_iov[i].iov_base = b->rx_data + (size_t)i * (size_t)b->bufsize;
        b->rx_iov[i].iov_len = (size_t)b->bufsize;
        struct msghdr *h = &b->rx_msgs[i].msg_hdr;
        h->msg_name = &b->rx_addr[i];
        h->msg_namelen = sizeof b->rx_addr[i];
        h->msg_iov = &b->rx_iov[i];
        h->msg_iovlen = 1;
        h->msg_control = b->rx_control + (size_t)i * CFS_CONTROL_LEN;
        h->msg_controllen = CFS_CONTROL_LEN;
        h->msg_flags = 0;
        b->rx_msgs[i].msg_len = 0;
    }
    b->rx_dirty = 0;
}

// Receives first and waits only when nothing is queued: under load the queue is never empty, and the
// poll(2) a wait-first loop makes before every batch is one system call per batch saved.
int cfs_batch_recv(int fd, cfs_batch *b, int timeout_ms) {
    for (int attempt = 0; attempt < 2; attempt++) {
        batch_prepare_rx(b);
        int n = recvmmsg(fd, b->rx_msgs, (unsigned int)b->count, MSG_DONTWAIT, NULL);
        // The filled messages, and the next one in case the kernel wrote part of it before an error.
        b->rx_dirty = n < 0 ? 1 : (n < b->count ? n + 1 : b->count);
        if (n >= 0) return n;
        if (errno == EINTR) return 0;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -errno;
        if (attempt == 1) return 0;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int ready = poll(&pfd, 1, timeout_ms);
        if (ready < 0) return errno == EINTR ? 0 : -errno;
        if (ready == 0) return 0;
    }
    return 0;
}

int cfs_udp_pending(int fd) {
    // For UDP, FIONREAD gives the size of the next datagram, 0 when none waits (an empty datagram reads as
    // none too: harmless, it only delays load shedding).
    int bytes = 0;
    return ioctl(fd, FIONREAD, &bytes) == 0 && bytes > 0;
}

const uint8_t *cfs_batch_rx_data(const cfs_batch *b, int i) { return b->rx_data + (size_t)i * (size_t)b->bufsize; }

int cfs_batch_rx_length(const cfs_batch *b, int i) {
    unsigned int len = b->rx_msgs[i].msg_len;
    return len > (unsigned int)b->bufsize ? b->bufsize : (int)len;
}

int cfs_batch_rx_truncated(const cfs_batch *b, int i) { return (b->rx_msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0; }

static void decode_address(const struct sockaddr_storage *ss, int *family, uint8_t address[16], uint16_t *port) {
    memset(address, 0, 16);
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)ss;
        *family = 4;
        memcpy(address, &in4->sin_addr, 4);
        *port = ntohs(in4->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        *family = 6;
        memcpy(address, &in6->sin6_addr, 16);
        *port = ntohs(in6->sin6_port);
    } else {
        *family = 0;
        *port = 0;
    }
}

void cfs_batch_rx_source(const cfs_batch *b, int i, int *family, uint8_t address[16], uint16_t *port) {
    decode_address(&b->rx_addr[i], family, address, port);
}

static int find_stamp(struct msghdr *h, int64_t *sec, int32_t *nsec) {
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level != SOL_SOCKET) continue;
        if (c->cmsg_type == SO_TIMESTAMPING) {
            struct scm_timestamping ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            if (ts.ts[0].tv_sec == 0 && ts.ts[0].tv_nsec == 0) continue;
            *sec = ts.ts[0].tv_sec;
            *nsec = (int32_t)ts.ts[0].tv_nsec;
            return 1;
        }
        if (c->cmsg_type == SO_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            *sec = ts.tv_sec;
            *nsec = (int32_t)ts.tv_nsec;
            return 1;
        }
    }
    return 0;
}

int cfs_batch_rx_stamp(const cfs_batch *b, int i, int64_t *sec, int32_t *nsec) {
    struct msghdr h = b->rx_msgs[i].msg_hdr;
    return find_stamp(&h, sec, nsec);
}

uint8_t *cfs_batch_tx_buffer(cfs_batch *b, int slot) { return b->tx_data + (size_t)slot * (size_t)b->bufsize; }

void cfs_batch_queue(cfs_batch *b, int slot, int length, int rx_index) {
    if (b->queued >= b->count || length < 0 || length > b->bufsize) return;
    int q = b->queued++;
    b->tx_iov[q].iov_base = cfs_batch_tx_buffer(b, slot);
    b->tx_iov[q].iov_len = (size_t)length;
    struct msghdr *h = &b->tx_msgs[q].msg_hdr;
    memset(h, 0, sizeof *h);
    h->msg_name = &b->rx_addr[rx_index];
    h->msg_namelen = b->rx_msgs[rx_index].msg_hdr.msg_namelen;
    h->msg_iov = &b->tx_iov[q];
    h->msg_iovlen = 1;
}

int cfs_batch_send(int fd, cfs_batch *b) {
    int total = 0;
    while (total < b->queued) {
        int n = sendmmsg(fd, b->tx_msgs + total, (unsigned int)(b->queued - total), 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            int code = errno;
            b->queued = 0;
            return total > 0 ? total : -code;
        }
        if (n == 0) break;
        total += n;
    }
    b->queued = 0;
    return total;
}

int cfs_udp_connect(const char *host, uint16_t port, int *stamp_mode, char *err, size_t errlen) {
    return cfs_udp_connect_from(host, port, NULL, stamp_mode, err, errlen);
}

/* Binds `local` (a numeric address, any port) before connecting when it is not NULL: the kernel would
   otherwise pick the source address, and a sibling recognises this node by it. */
static int bind_local(int fd, int family, const char *local) {
    if (local == NULL) return 0;
    if (family == AF_INET) {
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        if (inet_pton(AF_INET, local, &a.sin_addr) != 1) return EAFNOSUPPORT;
        return bind(fd, (struct sockaddr *)&a, sizeof a) == 0 ? 0 : errno;
    }
    if (family == AF_INET6) {
        struct sockaddr_in6 a;
        memset(&a, 0, sizeof a);
        a.sin6_family = AF_INET6;
        if (inet_pton(AF_INET6, local, &a.sin6_addr) != 1) return EAFNOSUPPORT;
        return bind(fd, (struct sockaddr *)&a, sizeof a) == 0 ? 0 : errno;
    }
    return EAFNOSUPPORT;
}

int cfs_udp_connect_from(const char *host, uint16_t port, const char *local, int *stamp_mode, char *err, size_t errlen) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_DGRAM;
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        if (err && errlen) snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    int last = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) { last = errno; continue; }
        int bound = bind_local(fd, ai->ai_family, local);
        if (bound != 0) {
            last = bound;
            close(fd);
            fd = -1;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        last = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) { set_error(err, errlen, "connect", last); return -1; }
    int mode = enable_rx_timestamps(fd);
    if (stamp_mode) *stamp_mode = mode;
    return fd;
}

ssize_t cfs_send(int fd, const void *data, size_t length) {
    ssize_t n = send(fd, data, length, 0);
    return n < 0 ? -errno : n;
}

ssize_t cfs_recv_stamped(int fd, void *buffer, size_t length, int timeout_ms, int64_t *sec, int32_t *nsec, int *stamped) {
    *stamped = 0;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int ready = poll(&pfd, 1, timeout_ms);
    if (ready < 0) return -errno;
    if (ready == 0) return 0;
    uint8_t control[CFS_CONTROL_LEN];
    if ((pfd.revents & POLLERR) && !(pfd.revents & POLLIN)) {
        /* A transmit timestamp that came late (the error queue wakes poll): take it off the queue so the
           caller's wait does not spin; a socket error (ECONNREFUSED) falls through to recvmsg below. */
        struct msghdr e;
        memset(&e, 0, sizeof e);
        e.msg_control = control;
        e.msg_controllen = sizeof control;
        if (recvmsg(fd, &e, MSG_ERRQUEUE | MSG_DONTWAIT) >= 0) return 0;
    }
    struct iovec iov = {.iov_base = buffer, .iov_len = length};
    struct msghdr h;
    memset(&h, 0, sizeof h);
    h.msg_iov = &iov;
    h.msg_iovlen = 1;
    h.msg_control = control;
    h.msg_controllen = sizeof control;
    ssize_t n = recvmsg(fd, &h, MSG_DONTWAIT);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    *stamped = find_stamp(&h, sec, nsec);
    return n;
}

int cfs_receive_buffer(int fd) {
    int size = 0;
    socklen_t len = sizeof size;
    return getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, &len) == 0 ? size : -1;
}

int cfs_set_buffers(int fd, int bytes) {
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) != 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
    return cfs_receive_buffer(fd);
}

/* Transmit timestamps (kernel Documentation/networking/timestamping.rst): software stamps taken when a
   datagram leaves the stack, each returned on the socket's error queue with the datagram's number
   (SOF_TIMESTAMPING_OPT_ID) and without the packet (OPT_TSONLY). Receive stamps stay on. */
static const int cfs_tx_flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_TX_SOFTWARE |
                                SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY;

int cfs_enable_tx_timestamps(int fd) {
    int flags = cfs_tx_flags;
    return setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags) == 0 ? 0 : -errno;
}

int cfs_reset_tx_counter(int fd) {
    int flags = cfs_tx_flags & ~SOF_TIMESTAMPING_OPT_ID;
    if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags) != 0) return -errno;
    return cfs_enable_tx_timestamps(fd);
}

static int parse_tx_stamp(struct msghdr *h, cfs_tx_stamp *out) {
    int have_id = 0, have_ts = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPING) {
            struct scm_timestamping ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            if (ts.ts[2].tv_sec != 0 || ts.ts[2].tv_nsec != 0) {
                out->sec = ts.ts[2].tv_sec;
                out->nsec = (int32_t)ts.ts[2].tv_nsec;
                out->source = CFS_TX_HARDWARE;
                have_ts = 1;
            } else if (ts.ts[0].tv_sec != 0 || ts.ts[0].tv_nsec != 0) {
                out->sec = ts.ts[0].tv_sec;
                out->nsec = (int32_t)ts.ts[0].tv_nsec;
                out->source = CFS_TX_KERNEL;
                have_ts = 1;
            }
        } else if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
                   (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
            struct sock_extended_err err;
            memcpy(&err, CMSG_DATA(c), sizeof err);
            if (err.ee_errno == ENOMSG && err.ee_origin == SO_EE_ORIGIN_TIMESTAMPING && err.ee_info == SCM_TSTAMP_SND) {
                out->id = err.ee_data;
                have_id = 1;
            }
        }
    }
    return have_id && have_ts;
}

int cfs_batch_tx_stamps(int fd, cfs_batch *b, cfs_tx_stamp *out, int max) {
    if (max > b->count) max = b->count;
    if (max <= 0) return 0;
    // Set up once in cfs_batch_create; the kernel rewrites only these (once per answer on the packet path,
    // where clearing the whole header cost about 40 instructions per answer), and only in the messages the
    // last read filled (`err_dirty`).
    for (int i = 0; i < b->err_dirty; i++) {
        b->err_msgs[i].msg_hdr.msg_controllen = CFS_CONTROL_LEN;
        b->err_msgs[i].msg_hdr.msg_flags = 0;
        b->err_msgs[i].msg_len = 0;
    }
    int n = recvmmsg(fd, b->err_msgs, (unsigned int)max, MSG_ERRQUEUE | MSG_DONTWAIT, NULL);
    b->err_dirty = n < 0 ? 1 : (n < b->count ? n + 1 : b->count);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -errno;
    int found = 0;
    for (int i = 0; i < n; i++) {
        if (parse_tx_stamp(&b->err_msgs[i].msg_hdr, &out[found])) found++;
    }
    return found;
}

int cfs_read_tx_stamp(int fd, int timeout_ms, cfs_tx_stamp *out) {
    struct pollfd pfd = {.fd = fd, .events = 0};
    int ready = poll(&pfd, 1, timeout_ms);
    if (ready < 0) return -errno;
    if (ready == 0 || !(pfd.revents & POLLERR)) return 0;
    uint8_t control[CFS_CONTROL_LEN];
    struct msghdr h;
    memset(&h, 0, sizeof h);
    h.msg_control = control;
    h.msg_controllen = sizeof control;
    ssize_t n = recvmsg(fd, &h, MSG_ERRQUEUE | MSG_DONTWAIT);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    return parse_tx_stamp(&h, out);
}
