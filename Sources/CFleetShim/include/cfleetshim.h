// The Linux calls that Swift's Glibc module cannot import: recvmmsg/sendmmsg (need _GNU_SOURCE), the
// SO_TIMESTAMPING constants and CMSG_* macros, struct timex / clock_adjtime, capset/prctl/tgkill (the
// privilege drop). Written by hand because no
// listed Swift package exposes them (SwiftNIO's datagram channel delivers no receive timestamps).
// Every symbol is prefixed `cfs_` so it cannot collide with another shim (the CNIOLinux convention).
#ifndef CFLEETSHIM_H
#define CFLEETSHIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// How receive timestamps are obtained on a socket.
enum cfs_stamp_mode {
    CFS_STAMP_NONE = 0,        // no kernel timestamps: the caller reads the clock after recv
    CFS_STAMP_NS = 1,          // SO_TIMESTAMPNS (kernel software receive time)
    CFS_STAMP_TIMESTAMPING = 2 // SO_TIMESTAMPING with software receive stamps
};

/// Opens a UDP socket bound to `address` (numeric IPv4 or IPv6 text) and `port`.
/// IPv6 sockets are IPV6_V6ONLY so "0.0.0.0" and "::" can be bound side by side.
/// With `reuseport` several sockets share the port and the kernel spreads clients over them (one receive
/// loop per core). Kernel receive timestamps are enabled when available; the mode used is stored in
/// `*stamp_mode`. Returns the descriptor, or -1 with a message in `err`.
int cfs_udp_bind(const char *address, uint16_t port, int reuseport, int *stamp_mode, char *err, size_t errlen);

/// Closes a descriptor.
void cfs_close(int fd);

/// The local port a socket is bound to (for port 0 binds in tests), or -1.
int cfs_local_port(int fd);

/// A batch of receive slots and reply slots for recvmmsg/sendmmsg. Owned by one receive loop.
typedef struct cfs_batch cfs_batch;

cfs_batch *cfs_batch_create(int count, int bufsize);
void cfs_batch_destroy(cfs_batch *batch);
int cfs_batch_capacity(const cfs_batch *batch);

/// Receives as many queued datagrams as fit without blocking; when none are queued, waits up to
/// `timeout_ms` for some first.
/// Returns the number received (0 on timeout or EINTR), or -errno on a socket error.
int cfs_batch_recv(int fd, cfs_batch *batch, int timeout_ms);

/// Whether a datagram is still waiting in the socket's receive queue (FIONREAD): after a receive that
/// filled its batch, it tells a backlog from a batch that happened to be exactly full. 1 or 0.
int cfs_udp_pending(int fd);

/// Message `i` of the last receive.
const uint8_t *cfs_batch_rx_data(const cfs_batch *batch, int i);
int cfs_batch_rx_length(const cfs_batch *batch, int i);
/// Non-zero when the datagram was larger than the slot and was cut (MSG_TRUNC).
int cfs_batch_rx_truncated(const cfs_batch *batch, int i);
/// The sender: family 4 or 6, 16 address bytes in network order (IPv4 in the first 4), port in host order.
void cfs_batch_rx_source(const cfs_batch *batch, int i, int *family, uint8_t address[16], uint16_t *port);
/// The kernel receive timestamp (CLOCK_REALTIME) if one came with the datagram: returns 1 and fills sec/nsec.
int cfs_batch_rx_stamp(const cfs_batch *batch, int i, int64_t *sec, int32_t *nsec);

/// Reply buffer `slot` (bufsize bytes) to be filled by the caller, then queued with cfs_batch_queue.
uint8_t *cfs_batch_tx_buffer(cfs_batch *batch, int slot);
/// Queues reply slot `slot`, `length` bytes, to the sender of received message `rx_index`.
void cfs_batch_queue(cfs_batch *batch, int slot, int length, int rx_index);
/// Sends every queued reply with sendmmsg and clears the queue. Returns how many were sent, or -errno.
int cfs_batch_send(int fd, cfs_batch *batch);

/// Where a transmit timestamp came from.
enum cfs_tx_source {
    CFS_TX_KERNEL = 1,   // SOF_TIMESTAMPING_TX_SOFTWARE: when the datagram left the network stack
    CFS_TX_HARDWARE = 2  // SOF_TIMESTAMPING_TX_HARDWARE: when the card sent it (needs SIOCSHWTSTAMP)
};

/// One transmit timestamp from the error queue: the datagram's number on its socket (SOF_TIMESTAMPING_OPT_ID,
/// counted from 0 per socket, one per datagram sent) and when it left (CLOCK_REALTIME, or the card's clock).
typedef struct cfs_tx_stamp {
    uint32_t id;
    int source;
    int64_t sec;
    int32_t nsec;
} cfs_tx_stamp;

/// Turns on transmit timestamps for every datagram sent on `fd` (software, with OPT_ID and OPT_TSONLY;
/// receive stamps stay on). Returns 0 or -errno.
int cfs_enable_tx_timestamps(int fd);
/// Restarts the socket's datagram numbering at 0 (turns OPT_ID off and on), after a send whose numbering
/// is in doubt. Returns 0 or -errno.
int cfs_reset_tx_counter(int fd);
/// Reads up to `max` (at most the batch's capacity) transmit timestamps from the error queue without waiting
/// (one recvmmsg). Returns how many were stored in `out`, or -errno.
int cfs_batch_tx_stamps(int fd, cfs_batch *batch, cfs_tx_stamp *out, int max);

/// Waits up to `timeout_ms` for one transmit timestamp on `fd`'s error queue (a client socket after
/// cfs_enable_tx_timestamps and one send). Returns 1 with `*out` set, 0 when none came, or -errno.
int cfs_read_tx_stamp(int fd, int timeout_ms, cfs_tx_stamp *out);

/// A connected UDP client socket to `host` (numeric or a name) and `port`, with kernel receive timestamps
/// enabled when available. Returns the descriptor, or -1 with a message in `err`.
int cfs_udp_connect(const char *host, uint16_t port, int *stamp_mode, char *err, size_t errlen);
/// cfs_udp_connect from the numeric source address `local` (NULL: the kernel's choice).
int cfs_udp_connect_from(const char *host, uint16_t port, const char *local, int *stamp_mode, char *err, size_t errlen);
/// Sends on a connected socket. Returns bytes sent or -errno.
ssize_t cfs_send(int fd, const void *data, size_t length);
/// Receives one datagram on a connected socket within `timeout_ms`. Returns its length (0 on timeout),
/// or -errno. `*stamped` is 1 when a kernel receive timestamp was found (then sec/nsec are set).
ssize_t cfs_recv_stamped(int fd, void *buffer, size_t length, int timeout_ms, int64_t *sec, int32_t *nsec, int *stamped);

/// Asks for socket buffers of `bytes` (SO_RCVBUFFORCE/SO_SNDBUFFORCE when privileged, else the capped
/// SO_RCVBUF/SO_SNDBUF). Returns the receive buffer size granted, as cfs_receive_buffer reports it.
int cfs_set_buffers(int fd, int bytes);
/// The socket's receive buffer as the kernel reports it (Linux counts its bookkeeping: twice the size
/// asked for), or -1.
int cfs_receive_buffer(int fd);

/// CLOCK_REALTIME and CLOCK_MONOTONIC readings.
void cfs_clock_realtime(int64_t *sec, int32_t *nsec);
uint64_t cfs_monotonic_ns(void);
/// CLOCK_MONOTONIC_RAW: the oscillator itself, never slewed by adjtimex (the node's local timescale).
uint64_t cfs_monotonic_raw_ns(void);

/// 1 when this process has CAP_SYS_TIME in its effective set, 0 when not, -errno when it cannot tell.
int cfs_has_cap_sys_time(void);

/// The highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap), or -1.
int cfs_cap_last_cap(void);

/// Drops root for good, on every thread of the process (as chronyd -u does, single-threaded): the bounding
/// set reduced to `keep`, then setgroups(groups), setresgid(gid), setresuid(uid), then the permitted and
/// effective sets exactly `keep` (a mask of capability bits, e.g. 1 << 25 for CAP_SYS_TIME, or 0), the
/// inheritable and ambient sets empty, keep-caps cleared and no_new_privs set. Every thread's
/// /proc/self/task/N/status is checked afterwards. Must be called as root (euid 0). Returns 0, or -errno with
/// a message in `err`; on failure the process is in an unknown state and should exit.
int cfs_drop_privileges(uint32_t uid, uint32_t gid, const uint32_t *groups, int group_count, uint64_t keep,
                        char *err, size_t errlen);

/// The kernel clock state, read with clock_adjtime(CLOCK_REALTIME) and modes = 0: it never changes the clock.
typedef struct cfs_kernel_clock {
    int state;              // TIME_OK, TIME_INS, ... or TIME_ERROR (5) when unsynchronised
    int64_t offset_ns;      // kernel PLL offset
    double frequency_ppm;   // frequency offset
    int64_t max_error_us;
    int64_t est_error_us;
    int status;             // STA_* bits
    int64_t tick_us;
    int tai_offset;
} cfs_kernel_clock;

/// Returns 0 on success or -errno.
int cfs_kernel_clock_read(cfs_kernel_clock *out);

/// The compiler's __DATE__ when this file was compiled ("Mmm dd yyyy", local date): a time the node's clock
/// can never be before (the floor). An incremental build that skips this file keeps an older date, still a floor.
const char *cfs_build_date(void);

/// The system clock driver's only write to the kernel clock (clock_adjtime on CLOCK_REALTIME): sets the
/// frequency (ppm), steps by `step_ns` when non-zero (ADJ_SETOFFSET), sets the leap bits (0 none, 1 insert,
/// 2 delete), the error estimates and clears STA_UNSYNC. Used only with `[clock] driver = "system"` and
/// CAP_SYS_TIME; no test ever calls it. Returns the clock state or -errno.
int cfs_kernel_clock_steer(double frequency_ppm, int64_t step_ns, int leap, int64_t max_error_us, int64_t est_error_us);

#ifdef __cplusplus
}
#endif

#endif
