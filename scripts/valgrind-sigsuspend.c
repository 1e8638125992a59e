// Preloaded into fleetnode under valgrind 3.19 by scripts/callgrind-serving.sh only.
//
// libdispatch parks the main thread in sigsuspend() with a mask in read-only memory (a static const
// sigset_t in _dispatch_sigsuspend). Valgrind 3.19 sanitises the mask of rt_sigsuspend in place and so
// faults on it ("VALGRIND INTERNAL ERROR: Valgrind received a signal 11"). This sigsuspend passes a
// writable copy to the same system call; nothing else changes.
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, (long)(_NSIG / 8));
}
