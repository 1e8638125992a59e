#!/usr/bin/env python3
"""The connection-slot attacker of the soak (scripts/soak.sh) and of the TCP listener flood tests
(Tests/NodeTests/Support/ConnectionFlood.swift).

    connection-attacker.py PORT ADDRESSES PER_ADDRESS SECONDS [tls|http] [HOST]

Holds PER_ADDRESS connections from each of ADDRESSES loopback source addresses (127.1.0.1 and up) to
127.0.0.1:PORT, sends one byte of a request that never ends every half second on each (a TLS ClientHello
prefix, or an HTTP header), and reconnects 10 ms after the node closes one. Prints one JSON line a second:
connections open from its side, connects made and closes seen. Stops after SECONDS or on SIGTERM.
"""
import json, resource, selectors, signal, socket, sys, time

port, addresses, per_address, duration = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
payload = sys.argv[5] if len(sys.argv) > 5 else "tls"
host = sys.argv[6] if len(sys.argv) > 6 else "127.0.0.1"
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
data = bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]) + bytes(500) if payload == "tls" \
    else b"GET /metrics HTTP/1.1\r\nHost: node\r\nX-Slow: " + b"a" * 4000
sel = selectors.DefaultSelector()
slots = [{"source": "127.1.%d.%d" % (a // 250, a % 250 + 1), "sock": None, "connected": False, "sent": 0, "next": 0.0, "retry": 0.0}
         for a in range(addresses) for _ in range(per_address)]
connects = closes = 0


def drop(slot, now):
    global closes
    if slot["sock"] is not None:
        try:
            sel.unregister(slot["sock"])
        except Exception:
            pass
        slot["sock"].close()
        closes += 1
    slot.update(sock=None, connected=False, sent=0, retry=now + 0.01)


def connect(slot, now):
    global connects
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.bind((slot["source"], 0))
        s.connect_ex((host, port))
    except OSError:
        s.close()
        slot["retry"] = now + 0.1
        return
    slot.update(sock=s, connected=False, sent=0, next=now)
    sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, slot)
    connects += 1


start = time.monotonic()
report = start + 1
while time.monotonic() - start < duration:
    now = time.monotonic()
    for slot in slots:
        if slot["sock"] is None and now >= slot["retry"]:
            connect(slot, now)
        elif slot["connected"] and now >= slot["next"] and slot["sent"] < len(data):
            try:
                slot["sock"].send(data[slot["sent"]:slot["sent"] + 1])
                slot["sent"] += 1
                slot["next"] = now + 0.5
            except OSError:
                drop(slot, now)
    for key, events in sel.select(timeout=0.02):
        slot = key.data
        if slot["sock"] is None:
            continue
        if events & selectors.EVENT_READ:
            try:
                if slot["sock"].recv(4096) == b"":
                    drop(slot, now)
                    continue
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                drop(slot, now)
                continue
        if events & selectors.EVENT_WRITE and not slot["connected"]:
            if slot["sock"].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                drop(slot, now)
                continue
            slot["connected"] = True
            sel.modify(slot["sock"], selectors.EVENT_READ, slot)
    if now >= report:
        report += 1
        print(json.dumps({"t": round(now - start, 1), "open": sum(1 for s in slots if s["connected"]),
                          "connects": connects, "closes": closes}), flush=True)
