#!/usr/bin/env python3
"""A small NTP client load for instruction counting (scripts/callgrind-serving.sh, issue 18).

Sends REQUESTS plain NTP requests (default 4000) to HOST:PORT in bursts of one request from each of 16
virtual clients, each on its own loopback address (127.0.0.101..116, so that servers that keep state per
client address, as both chronyd and fleetnode do for interleaved mode, see 16 clients), and waits for the
burst's answers before sending the next one. Half of the clients speak interleaved mode as chrony's
`xleave` client does (draft-ietf-ntp-interleaved-modes / RFC 9769 §2): after a first basic exchange each
request names the server's receive timestamp of its last answer as origin and carries its own receive time
of that answer as receive timestamp; the other half send basic requests (origin and receive zero).

Prints one JSON line: requests sent, answers received (matched by origin), answers in interleaved mode
(origin = the request's receive timestamp) and bursts that timed out.
"""
import argparse
import json
import os
import select
import socket
import struct
import time

NTP_EPOCH_OFFSET = 2208988800


def ntp_now() -> int:
    ns = time.time_ns()
    seconds, rest = divmod(ns, 1_000_000_000)
    return ((seconds + NTP_EPOCH_OFFSET) << 32) | ((rest << 32) // 1_000_000_000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--xleave", type=float, default=0.5, help="share of the clients in interleaved mode")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for a burst's answers")
    parser.add_argument("--first-address", type=int, default=101, help="last byte of the first client's 127.0.0.x")
    args = parser.parse_args()

    interleaved_clients = int(args.clients * args.xleave)
    sockets = []
    for index in range(args.clients):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((f"127.0.0.{args.first_address + index}", 0))
        s.connect((args.host, args.port))
        s.setblocking(False)
        sockets.append(s)
    by_fd = {s.fileno(): i for i, s in enumerate(sockets)}
    # Per client: the server's receive timestamp of the last answer and our receive time of it.
    last_server_rx = [0] * args.clients
    last_local_rx = [0] * args.clients
    sent = answered = interleaved = timeouts = 0
    poller = select.poll()
    for s in sockets:
        poller.register(s, select.POLLIN)

    while sent < args.requests:
        outstanding = {}
        for index, s in enumerate(sockets):
            if sent >= args.requests:
                break
            transmit = int.from_bytes(os.urandom(8), "big")
            origin = receive = 0
            if index < interleaved_clients and last_server_rx[index] != 0:
                origin, receive = last_server_rx[index], last_local_rx[index]
            # LI 0, version 4, mode 3 (client); poll 6, precision 2^-20.
            packet = struct.pack("!BBbb5IQQQ", 0x23, 0, 6, -20, 0, 0, 0, 0, 0, origin, receive, transmit)
            s.send(packet)
            outstanding[index] = (transmit, receive)
            sent += 1
        deadline = time.monotonic() + args.timeout
        while outstanding:
            left = deadline - time.monotonic()
            if left <= 0:
                timeouts += 1
                break
            for fd, _ in poller.poll(left * 1000):
                index = by_fd[fd]
                try:
                    data = sockets[index].recv(2048)
                except BlockingIOError:
                    continue
                local = ntp_now()
                if len(data) < 48 or index not in outstanding:
                    continue
                reply_origin, reply_receive = struct.unpack("!QQ", data[24:40])
                transmit, receive = outstanding[index]
                if reply_origin == transmit:
                    pass
                elif receive != 0 and reply_origin == receive:
                    interleaved += 1
                else:
                    continue
                del outstanding[index]
                answered += 1
                last_server_rx[index] = reply_receive
                last_local_rx[index] = local
    print(json.dumps({"sent": sent, "answered": answered, "interleaved": interleaved, "timeouts": timeouts}))


if __name__ == "__main__":
    main()
