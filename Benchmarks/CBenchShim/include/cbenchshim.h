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

/// cbs_recv_many for NTP replies on a socket with kernel receive timestamps (CLOCK_REALTIME): stores, for
/// each reply with a stamp, the stamp minus the reply's transmit timestamp in nanoseconds in `errors_ns`
/// (room for `max`) and their number in `*errors`. On loopback both clocks are one: this is how late T3
/// was, plus the loopback delivery. Returns how many datagrams were received.
int cbs_recv_many_stamped(int fd, int max, int64_t *errors_ns, int *errors);

#endif
