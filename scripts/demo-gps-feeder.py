#!/usr/bin/env python3
"""The demo's simulated GPS + PPS: writes NTP shared-memory segments exactly as gpsd does (ntpshm.h's 96-byte
shmTime, mode 1 count protocol), one unit per node, five times a second, with this machine's clock as "true
time" and microsecond precision (what a GPS with PPS gives a Raspberry Pi).

    demo-gps-feeder.py CONTROL_DIR UNIT...

While the file CONTROL_DIR/UNIT.off exists that unit is not written (a lost GPS: antenna unplugged, gpsd
stopped). Run inside a private IPC namespace (`unshare --ipc`, as scripts/demo.sh does) so these segments are
not the machine's: keys 0x4E545030 + unit are machine-wide otherwise. Removes its segments on SIGTERM/SIGINT.
"""
import ctypes
import os
import signal
import sys
import time

IPC_CREAT, IPC_RMID = 0o1000, 0
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmdt.argtypes = [ctypes.c_void_p]
libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]


class ShmTime(ctypes.Structure):
    _fields_ = [
        ("mode", ctypes.c_int), ("count", ctypes.c_int),
        ("clockTimeStampSec", ctypes.c_long), ("clockTimeStampUSec", ctypes.c_int),
        ("receiveTimeStampSec", ctypes.c_long), ("receiveTimeStampUSec", ctypes.c_int),
        ("leap", ctypes.c_int), ("precision", ctypes.c_int), ("nsamples", ctypes.c_int),
        ("valid", ctypes.c_int),
        ("clockTimeStampNSec", ctypes.c_uint), ("receiveTimeStampNSec", ctypes.c_uint),
        ("dummy", ctypes.c_int * 8),
    ]


assert ctypes.sizeof(ShmTime) == 96, ctypes.sizeof(ShmTime)
control, units = sys.argv[1], [int(u) for u in sys.argv[2:]]
segments = {}
for unit in units:
    key = 0x4E545030 + unit
    ident = libc.shmget(key, ctypes.sizeof(ShmTime), IPC_CREAT | 0o600)
    if ident < 0:
        sys.exit(f"demo-gps-feeder: shmget unit {unit}: errno {ctypes.get_errno()}")
    address = libc.shmat(ident, None, 0)
    if address in (None, ctypes.c_void_p(-1).value):
        sys.exit(f"demo-gps-feeder: shmat unit {unit}: errno {ctypes.get_errno()}")
    segments[unit] = (ident, address, ShmTime.from_address(address))


def stop(*_):
    for ident, address, _ in segments.values():
        libc.shmdt(address)
        libc.shmctl(ident, IPC_RMID, None)
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
while True:
    for unit, (_, _, shm) in segments.items():
        if os.path.exists(os.path.join(control, f"{unit}.off")):
            continue
        now = time.clock_gettime_ns(time.CLOCK_REALTIME)
        sec, nsec = divmod(now, 1_000_000_000)
        shm.mode, shm.valid = 1, 0
        shm.count += 1
        shm.clockTimeStampSec = shm.receiveTimeStampSec = sec
        shm.clockTimeStampUSec = shm.receiveTimeStampUSec = nsec // 1000
        shm.clockTimeStampNSec = shm.receiveTimeStampNSec = nsec
        shm.leap, shm.precision, shm.nsamples = 0, -20, 3
        shm.count += 1
        shm.valid = 1
    time.sleep(0.2)
