// The load generators' C: bulk UDP send and receive with one sendmmsg/recvmmsg call, which Swift's Glibc
// overlay cannot import (they need _GNU_SOURCE). Benchmarks only. Every symbol is prefixed `cbs_`.
#ifndef CBENCHSHIM_H
#define CBENCHSHIM_H

#include <stdint.h>

/// Sends `count` datagrams of `length` bytes, taken from consecutive slices of `data`, on a connected
/// socket with one sendmmsg call (load generation). Returns how many were sent, or -errno.
int cbs_send_many(int fd, const uint8_t *data, int length, int count);
/// Receives and discards up to `max` waiting datagrams with recvmmsg, without blocking (waiting at most
/// `timeout_ms` for the first). Returns how many were received.
int cbs_recv_many(int fd, int max, int timeout_ms);

/// CLOCK_REALTIME in nanoseconds (the clock of the kernel receive timestamps).
int64_t cbs_realtime_ns(void);

/// One NTP reply as the generator needs it: its kernel receive timestamp (CLOCK_REALTIME, 0 when none came),
/// its origin and receive timestamps as sent (raw 64-bit NTP), and its transmit timestamp T3 in nanoseconds
/// since the Unix epoch. `length` < 48: not an NTP reply (the other fields are 0).
typedef struct {
    int64_t rx_ns;
    uint64_t origin;
    uint64_t receive;
    int64_t transmit_ns;
    int32_t length;
} cbs_reply;

/// Receives up to `max` waiting replies (at most 256) without blocking, on a socket with kernel receive
/// timestamps, into `replies`. Returns how many were received.
int cbs_recv_replies(int fd, int max, cbs_reply *replies);

#endif
