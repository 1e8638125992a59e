// Capabilities and the privilege drop (`[node] user`, `fleetnode run --user`). See include/cfleetshim.h for
// why this is C: Swift's Glibc has no capset/capget, no prctl constants, no tgkill.
//
// Linux keeps credentials per thread. glibc's setgroups/setgid/setuid change every thread glibc knows of (its
// internal SIGSETXID broadcast; a thread of the Swift runtime was seen left out), capset(2) and prctl(2) only
// the calling thread, and by the time
// the node drops its privileges it has many threads (the Swift runtime's, SwiftNIO's event loops, the NTP
// receive loops). So the per-thread steps run on every thread the way glibc does it: a signal (SIGPROF, see
// below) sent with tgkill to each thread listed in /proc/self/task, whose handler makes the raw system calls,
// until a pass finds no thread left to do. Then every thread's /proc status is checked against the wanted
// result, so a thread that escaped makes the drop fail instead of leaving privileges behind.
#define _GNU_SOURCE
#include "cfleetshim.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CFS_THREAD_SANITIZER 1
#include <sanitizer/common_interface_defs.h>
#endif
#endif

int cfs_has_cap_sys_time(void) {
    // CapEff in /proc/self/status, bit 25 (CAP_SYS_TIME): reading it needs no library and changes nothing.
    FILE *status = fopen("/proc/self/status", "r");
    if (status == NULL) return -errno;
    char line[256];
    int result = -ENOENT;
    while (fgets(line, sizeof line, status) != NULL) {
        unsigned long long effective = 0;
        if (sscanf(line, "CapEff: %llx", &effective) == 1) {
            result = (effective >> 25) & 1ull ? 1 : 0;
            break;
        }
    }
    fclose(status);
    return result;
}

int cfs_cap_last_cap(void) {
    FILE *file = fopen("/proc/sys/kernel/cap_last_cap", "r");
    int last = -1;
    if (file != NULL) {
        if (fscanf(file, "%d", &last) != 1) last = -1;
        fclose(file);
    }
    return last;
}

// MARK: the per-thread steps

enum { STEP_BEFORE_SETUID = 1, STEP_SETID = 2, STEP_AFTER_SETUID = 3 };

// The one drop in progress (a mutex keeps it to one at a time): read by the signal handler.
static struct {
    int step;
    uint64_t keep;
    int last_cap;
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    size_t group_count;
    atomic_int done;
    atomic_int failed_errno;
} job;

static const char *step_name(int step) {
    switch (step) {
    case STEP_BEFORE_SETUID: return "prctl (keep-caps, bounding set)";
    case STEP_SETID: return "setgroups/setresgid/setresuid";
    default: return "capset";
    }
}
static pthread_mutex_t job_lock = PTHREAD_MUTEX_INITIALIZER;

// Raw system calls only: this runs in a signal handler.
static int thread_step(int step, uint64_t keep, int last_cap) {
    if (step == STEP_SETID) {
        // The raw system calls change the calling thread only (glibc's wrappers broadcast, but only to the
        // threads glibc knows of): every thread makes them itself.
        if (syscall(SYS_setgroups, job.group_count, job.groups) != 0) return -errno;
        if (syscall(SYS_setresgid, job.gid, job.gid, job.gid) != 0) return -errno;
        if (syscall(SYS_setresuid, job.uid, job.uid, job.uid) != 0) return -errno;
        return 0;
    }
    if (step == STEP_BEFORE_SETUID) {
        // Keep the permitted set across setuid only when something is to be kept (CAP_SYS_TIME).
        if (prctl(PR_SET_KEEPCAPS, keep != 0 ? 1 : 0, 0, 0, 0) != 0) return -errno;
        // The bounding set: nothing outside `keep` can come back, not even through a set-user-ID program.
        // Needs CAP_SETPCAP, which root has now and nobody has after setuid.
        for (int cap = 0; cap <= last_cap && cap < 64; cap++) {
            if ((keep >> cap) & 1ull) continue;
            if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) return -errno;
        }
        return 0;
    }
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    data[0].effective = data[0].permitted = (uint32_t)keep;
    data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
    if (syscall(SYS_capset, &header, data) != 0) return -errno;
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return -errno;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) return -errno;
    // As systemd's NoNewPrivileges=yes: execve never grants privileges again.
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -errno;
    return 0;
}

static void step_handler(int signal) {
    (void)signal;
    int saved = errno;
    int result = thread_step(job.step, job.keep, job.last_cap);
    if (result != 0) {
        int none = 0;
        atomic_compare_exchange_strong(&job.failed_errno, &none, -result);
    }
    atomic_fetch_add(&job.done, 1);
    errno = saved;
}

static void fail(char *err, size_t errlen, const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(err, errlen, format, args);
    va_end(args);
}

static int contains(const pid_t *list, size_t count, pid_t tid) {
    for (size_t i = 0; i < count; i++)
        if (list[i] == tid) return 1;
    return 0;
}

// Runs `step` on every thread of the process: the calling thread first, or last for STEP_SETID (a thread
// that is no longer root may not signal one that still is).
static int on_every_thread(int step, uint64_t keep, int last_cap, char *err, size_t errlen) {
    int result = step == STEP_SETID ? 0 : thread_step(step, keep, last_cap);
    if (result != 0) {
        fail(err, errlen, "%s: %s", step_name(step), strerror(-result));
        return result;
    }
    job.step = step;
    job.keep = keep;
    job.last_cap = last_cap;
    atomic_store(&job.done, 0);
    atomic_store(&job.failed_errno, 0);

    // SIGPROF: libdispatch's worker threads (the Swift concurrency pool on Linux), and every thread they
    // start, block all signals but the synchronous ones, SIGPIPE and SIGPROF; the node runs no profiler.
    int signal_number = SIGPROF;
    struct sigaction action, previous;
    memset(&action, 0, sizeof action);
    action.sa_handler = step_handler;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sigaction(signal_number, &action, &previous) != 0) {
        fail(err, errlen, "sigaction: %s", strerror(errno));
        return -errno;
    }

    size_t capacity = 64, count = 0;
    pid_t *handled = malloc(capacity * sizeof *handled);
    if (handled == NULL) {
        sigaction(signal_number, &previous, NULL);
        fail(err, errlen, "out of memory");
        return -ENOMEM;
    }
    handled[count++] = (pid_t)syscall(SYS_gettid);
    pid_t process = getpid();
    int signalled = 0;
    result = 0;
    // A thread started during a pass by a thread not yet done would inherit the old credentials: passes go
    // on until one finds no new thread (threads started by a thread already done inherit the new ones).
    for (int pass = 0; pass < 100 && result == 0; pass++) {
        DIR *tasks = opendir("/proc/self/task");
        if (tasks == NULL) {
            result = -errno;
            fail(err, errlen, "/proc/self/task: %s", strerror(errno));
            break;
        }
        int found = 0;
        struct dirent *entry;
        while ((entry = readdir(tasks)) != NULL) {
            if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
            pid_t tid = (pid_t)atoi(entry->d_name);
            if (contains(handled, count, tid)) continue;
            if (count == capacity) {
                pid_t *bigger = realloc(handled, 2 * capacity * sizeof *handled);
                if (bigger == NULL) {
                    result = -ENOMEM;
                    fail(err, errlen, "out of memory");
                    break;
                }
                handled = bigger;
                capacity *= 2;
            }
            handled[count++] = tid;
            found = 1;
            if (syscall(SYS_tgkill, process, tid, signal_number) == 0) {
                signalled++;
            } else if (errno != ESRCH) {  // ESRCH: the thread has ended
                result = -errno;
                fail(err, errlen, "tgkill thread %d: %s", (int)tid, strerror(errno));
                break;
            }
        }
        closedir(tasks);
        if (result != 0 || !found) break;
        // Every signalled thread answers within milliseconds; 5 s means one blocks the signal.
        struct timespec pause = {.tv_sec = 0, .tv_nsec = 1000000};
        for (int waited = 0; atomic_load(&job.done) < signalled; waited++) {
            if (waited >= 5000) {
                result = -ETIMEDOUT;
                fail(err, errlen, "%d of %d threads did not answer the privilege-drop signal within 5 s",
                     signalled - atomic_load(&job.done), signalled);
                break;
            }
            nanosleep(&pause, NULL);
        }
    }
    free(handled);
    sigaction(signal_number, &previous, NULL);
    if (result == 0 && atomic_load(&job.failed_errno) != 0) {
        result = -atomic_load(&job.failed_errno);
        fail(err, errlen, "%s on another thread: %s", step_name(step), strerror(-result));
    }
    if (result == 0 && step == STEP_SETID) {
        result = thread_step(step, keep, last_cap);
        if (result != 0) fail(err, errlen, "%s: %s", step_name(step), strerror(-result));
    }
    return result;
}

// MARK: checking the result

// Every thread's status in /proc: user and group ids all four, capability sets as wanted.
static int check_every_thread(uid_t uid, gid_t gid, uint64_t keep, char *err, size_t errlen) {
    DIR *tasks = opendir("/proc/self/task");
    if (tasks == NULL) {
        fail(err, errlen, "/proc/self/task: %s", strerror(errno));
        return -errno;
    }
    int result = 0;
    struct dirent *entry;
    while (result == 0 && (entry = readdir(tasks)) != NULL) {
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
        char path[300];
        snprintf(path, sizeof path, "/proc/self/task/%s/status", entry->d_name);
        FILE *status = fopen(path, "r");
        if (status == NULL) continue;  // the thread ended
        char line[256];
        while (result == 0 && fgets(line, sizeof line, status) != NULL) {
            unsigned long ids[4];
            unsigned long long set = 0;
            char name[16];
            if (sscanf(line, "Uid: %lu %lu %lu %lu", &ids[0], &ids[1], &ids[2], &ids[3]) == 4) {
                for (int i = 0; i < 4; i++)
                    if (ids[i] != (unsigned long)uid) {
                        result = -EPERM;
                        fail(err, errlen, "thread %s still has user id %lu", entry->d_name, ids[i]);
                    }
            } else if (sscanf(line, "Gid: %lu %lu %lu %lu", &ids[0], &ids[1], &ids[2], &ids[3]) == 4) {
                for (int i = 0; i < 4; i++)
                    if (ids[i] != (unsigned long)gid) {
                        result = -EPERM;
                        fail(err, errlen, "thread %s still has group id %lu", entry->d_name, ids[i]);
                    }
            } else if (sscanf(line, "Cap%15[A-Za-z]: %llx", name, &set) == 2) {
                uint64_t wanted = (strcmp(name, "Inh") == 0 || strcmp(name, "Amb") == 0) ? 0 : keep;
                if (set != wanted) {
                    result = -EPERM;
                    fail(err, errlen, "thread %s has Cap%s %016llx, not %016llx", entry->d_name, name, set,
                         (unsigned long long)wanted);
                }
            }
        }
        fclose(status);
    }
    closedir(tasks);
    return result;
}

// MARK: the drop

#if CFS_THREAD_SANITIZER
// ThreadSanitizer builds only (`make sanitize-tsan`): TSan's runtime runs a background thread of its own
// (started at the first pthread_create) that blocks every signal, so it never answers the per-thread step
// signal (the drop timed out: "1 of N threads did not answer") and would keep root's credentials and
// capabilities (the check below would refuse it). The sanitizers' public sandbox notification stops that
// thread (TSan registers its StopBackgroundThread as the sandboxing callback, which joins it) and caches
// /proc/self/maps for the symbolizer, which is what a process about to lose privileges needs. Only memory
// flushing stops with it, which a test run does not need. Once per process (it joins the thread; called
// with job_lock held).
static void stop_sanitizer_background_thread(void) {
    static int stopped = 0;
    if (stopped) return;
    stopped = 1;
    __sanitizer_sandbox_arguments arguments;
    memset(&arguments, 0, sizeof arguments);
    arguments.coverage_fd = -1;
    __sanitizer_sandbox_on_notify(&arguments);
}
#endif

int cfs_drop_privileges(uint32_t uid, uint32_t gid, const uint32_t *groups, int group_count, uint64_t keep,
                        char *err, size_t errlen) {
    if (geteuid() != 0) {
        fail(err, errlen, "not running as root");
        return -EPERM;
    }
    int last_cap = cfs_cap_last_cap();
    if (last_cap < 0) last_cap = 40;
    pthread_mutex_lock(&job_lock);
#if CFS_THREAD_SANITIZER
    stop_sanitizer_background_thread();
#endif
    gid_t *list = calloc(group_count > 0 ? (size_t)group_count : 1, sizeof(gid_t));
    int result = 0;
    if (list == NULL) {
        result = -ENOMEM;
        fail(err, errlen, "out of memory");
    } else {
        for (int i = 0; i < group_count; i++) list[i] = (gid_t)groups[i];
        job.uid = (uid_t)uid;
        job.gid = (gid_t)gid;
        job.groups = list;
        job.group_count = group_count > 0 ? (size_t)group_count : 0;
    }
    if (result == 0) result = on_every_thread(STEP_BEFORE_SETUID, keep, last_cap, err, errlen);
    if (result == 0) result = on_every_thread(STEP_SETID, keep, last_cap, err, errlen);
    if (result == 0) result = on_every_thread(STEP_AFTER_SETUID, keep, last_cap, err, errlen);
    if (result == 0) result = check_every_thread((uid_t)uid, (gid_t)gid, keep, err, errlen);
    job.groups = NULL;
    free(list);
    pthread_mutex_unlock(&job_lock);
    return result;
}
