// Process helpers for the reference-clock tests: a private IPC namespace (SHM segments are machine-wide),
// its identity, and a thread's effective user (to test permission errors without root).
#define _GNU_SOURCE
#include "crefclocktestsupport.h"

#include <errno.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>


int crt_unshare_ipc(void) { return unshare(CLONE_NEWIPC) == 0 ? 0 : -errno; }

int64_t crt_ipc_namespace_id(void) {
    struct stat st;
    if (stat("/proc/thread-self/ns/ipc", &st) != 0) return -errno;
    return (int64_t)st.st_ino;
}

int crt_thread_set_euid(uint32_t euid) {
    long rc = syscall(SYS_setresuid, (uid_t)-1, (uid_t)euid, (uid_t)-1);
    return rc == 0 ? 0 : -errno;
}
