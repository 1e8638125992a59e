// Whether the process holds CAP_SYS_TIME (the system-clock driver refuses to start without it).
#include "cfleetshim.h"

#include <errno.h>
#include <stdio.h>

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
