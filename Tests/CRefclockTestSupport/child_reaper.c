// Kills the processes the tests started when a sanitizer aborts the test process (see
// crt_reap_on_sanitizer_abort). The table is process-wide state by necessity: the sanitizer's death
// callback takes no argument. It is lock-free (atomic slots) and the callback allocates nothing (raw
// getdents64 and read into stack buffers): it may run while the crashing thread holds the allocator's lock.
#define _GNU_SOURCE
#include "crefclocktestsupport.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CRT_MAX_CHILDREN 512
#define CRT_MAX_TREE 2048

static _Atomic int32_t children[CRT_MAX_CHILDREN];

// Defined by the sanitizer runtimes only; null in other builds (weak reference).
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

static void reap_on_death(void) { (void)crt_reap_children_now(); }

static pthread_once_t install_once = PTHREAD_ONCE_INIT;
// FLEET_CHILD_REAPER=off leaves the callback out: orphan-check.sh shows with it what happens without.
static void install(void) {
    const char *setting = getenv("FLEET_CHILD_REAPER");
    if (setting != NULL && strcmp(setting, "off") == 0) return;
    if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(reap_on_death);
}

int crt_reap_on_sanitizer_abort(int32_t pid) {
    pthread_once(&install_once, install);
    if (pid <= 0) return 0;
    for (int i = 0; i < CRT_MAX_CHILDREN; i++) {
        int32_t empty = 0;
        if (atomic_compare_exchange_strong(&children[i], &empty, pid)) return 1;
    }
    return 0;
}

void crt_forget_child(int32_t pid) {
    if (pid <= 0) return;
    for (int i = 0; i < CRT_MAX_CHILDREN; i++) {
        int32_t expected = pid;
        atomic_compare_exchange_strong(&children[i], &expected, 0);
    }
}

// The parent of `pid` from /proc/PID/stat ("PID (comm) S PPID ..."; comm may hold spaces and parentheses),
// or -1.
static int32_t parent_of(int32_t pid) {
    char path[48], text[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) return -1;
    text[n] = 0;
    char *end = strrchr(text, ')');
    if (!end || end[1] != ' ' || end[2] == 0 || end[3] != ' ') return -1;
    return (int32_t)strtol(end + 4, NULL, 10);
}

static int contains(const int32_t *set, int count, int32_t pid) {
    for (int i = 0; i < count; i++)
        if (set[i] == pid) return 1;
    return 0;
}

struct dirent64_raw {
    uint64_t ino;
    int64_t off;
    unsigned short reclen;
    unsigned char type;
    char name[];
};

int crt_reap_children_now(void) {
    int32_t tree[CRT_MAX_TREE];
    int count = 0;
    for (int i = 0; i < CRT_MAX_CHILDREN; i++) {
        int32_t pid = atomic_exchange(&children[i], 0);
        if (pid > 0 && !contains(tree, count, pid)) tree[count++] = pid;
    }
    if (count == 0) return 0;
    // Their descendants (a script's nodes, `ip netns exec`'s child...), found before anything is killed:
    // a killed parent's children move to init and could no longer be told apart. Scanned until a pass
    // finds no new one.
    for (int pass = 0; pass < 16; pass++) {
        int added = 0;
        int dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0) break;
        char buffer[8192];
        long n;
        while ((n = syscall(SYS_getdents64, dir, buffer, sizeof buffer)) > 0) {
            for (long offset = 0; offset < n;) {
                struct dirent64_raw *entry = (struct dirent64_raw *)(buffer + offset);
                offset += entry->reclen;
                char *digits_end;
                long pid = strtol(entry->name, &digits_end, 10);
                if (pid <= 0 || *digits_end != 0 || contains(tree, count, (int32_t)pid)) continue;
                if (count < CRT_MAX_TREE && contains(tree, count, parent_of((int32_t)pid))) {
                    tree[count++] = (int32_t)pid;
                    added++;
                }
            }
        }
        close(dir);
        if (added == 0) break;
    }
    int signalled = 0;
    for (int i = 0; i < count; i++)
        if (kill(tree[i], SIGKILL) == 0) signalled++;
    return signalled;
}
