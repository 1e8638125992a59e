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

#endif
