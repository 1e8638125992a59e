// The tests' C side of reference clocks: writing NTP shared memory as gpsd does, and process helpers (a
// private IPC namespace, a thread's effective uid). Never linked into the node. Prefixed `crt_`.
#ifndef CREFCLOCKTESTSUPPORT_H
#define CREFCLOCKTESTSUPPORT_H

#include "crefclock.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// CLOCK_REALTIME now.
crf_time crt_realtime_now(void);

/// sizeof(struct crf_shm_time) (96 on LP64).
size_t crt_shm_segment_size(void);

/// Creates (or opens) the segment of `unit` with mode 0600 and attaches it; NULL with -errno in *error.
void *crt_shm_create(int unit, int *error);

/// Removes the segment of `unit` (IPC_RMID). Returns 0 or -errno.
int crt_shm_remove(int unit);

/// Writes a sample as gpsd does in mode 1 (count++, fields, count++, valid = 1).
void crt_shm_write(void *segment, crf_time clock, crf_time receive, int leap, int precision);

/// Bumps the count as a writer in the middle of an update would.
void crt_shm_bump_count(void *segment);

/// unshare(CLONE_NEWIPC) for the calling thread (and the threads and processes it creates afterwards;
/// Linux namespaces are per thread). Returns 0 or -errno.
int crt_unshare_ipc(void);

/// The calling thread's IPC namespace identity (inode of /proc/thread-self/ns/ipc), or -errno.
int64_t crt_ipc_namespace_id(void);

/// Sets the calling thread's effective uid only (raw setresuid syscall, so other threads keep theirs);
/// crt_thread_set_euid(0) restores root when the saved uid is 0. Returns 0 or -errno.
int crt_thread_set_euid(uint32_t euid);

/// Registers a process this test process started (and, through it, its descendants at the time) to be
/// killed with SIGKILL if a sanitizer aborts the test process: its death callback
/// (__sanitizer_set_death_callback) runs before the abort, which XCTest never sees, so the nodes a test
/// started would otherwise keep running. Installed at the first call, only in sanitizer builds (elsewhere
/// the callback does not exist and this only records). Returns 1, or 0 when the table (512) is full.
int crt_reap_on_sanitizer_abort(int32_t pid);

/// Takes `pid` out of that table (it has exited and was waited for: its PID may be reused).
void crt_forget_child(int32_t pid);

/// What the death callback does, for a test: kills every registered process and its descendants (SIGKILL)
/// and empties the table. Returns how many processes it signalled.
int crt_reap_children_now(void);

#ifdef __cplusplus
}
#endif

#endif
