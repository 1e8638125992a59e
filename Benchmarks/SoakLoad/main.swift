// The soak's clients (`make soak`, scripts/soak.sh): well-behaved load on one node for a long time, counted.
//
//   soak-load measure   a short ladder of offered rates (half plain NTP, half NTS-protected NTP); prints the
//                       highest rate answered with at most 1 % loss as `lossless RATE`
//   soak-load run       offers SOAK_RATE requests per second (half plain, half NTS) for SOAK_SECONDS, and meanwhile
//                       runs good NTS-KE clients and an NTS probe client; prints one JSON line a second with
//                       cumulative counters (the soak's monitor turns them into rates and shares)
//
// What runs during `run`, each on its own thread or task:
// - the load: open loop, sendmmsg batches from 8 sockets of 127.0.0.1 (4 plain, 4 NTS), replies counted per kind.
//   The NTS requests are a pool of 32 built from the cookies of the 4 latest good NTS-KE sessions, replayed
//   (an NTS server keeps no per-client state: a replayed request costs it the work of a fresh one) and
//   rebuilt every SOAK_POOL_REFRESH seconds (10), as clients re-key: a cookie rotation retires a key only
//   `cookie_lifetime` after the new one seals, and the pool never holds a cookie that old.
// - good NTS-KE clients: one session every 1/SOAK_KE_RATE seconds (2/s) with the project's NTSKEClient, 3 s
//   limit each, counted as completed or failed (with the first reasons).
// - the NTS probe: a client as chrony is one (one NTS-KE session, then a jar of 8 cookies, one spent per request
//   and the fresh one from each response put back), SOAK_PROBE_RATE requests a second (5), every response
//   verified: authenticated, NTS NAK, rejected (bad authenticator, ...) or lost (no answer within 1 s). A NAK
//   or an empty jar makes it run NTS-KE again, as chrony does. It lives across the cookie rotation: its
//   NAKs are the authentication failures a real client would see.
//
// Environment: SOAK_NTP (host:port of the node's NTP), SOAK_KE (host:port of its NTS-KE), SOAK_CA (the NTS
// trust anchors, PEM), SOAK_SERVER_NAME (localhost), SOAK_RATE, SOAK_SECONDS, SOAK_KE_RATE, SOAK_PROBE_RATE,
// SOAK_POOL_REFRESH; measure: SOAK_RATES (the ladder), SOAK_STEP_SECONDS (3).
import BenchSupport
import CBenchShim
import CFleetShim
import FleetCrypto
import Foundation
import NetworkEdges
import NodeModels
import NTPCore
import NTSKE
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

signal(SIGPIPE, SIG_IGN)
let mode = CommandLine.arguments.dropFirst().first ?? "run"
let plain = plainPool()

// The first sessions and pool, before any load (the node must answer NTS-KE at all).
var firstSessions: [NTSKEClientResult] = []
for attempt in 0..<50 {
    do {
        firstSessions.append(try establish())
        if firstSessions.count == 4 { break }
    } catch {
        if attempt == 49 { fail("no NTS-KE session with \(ke.host):\(ke.port): \(error)") }
        usleep(200_000)
    }
}
shared.recent.withLockedValue { $0 = firstSessions }
shared.pool.withLockedValue { $0 = ntsPool(firstSessions) }

switch mode {
case "measure":
    let rates = (environment["SOAK_RATES"] ?? "2000,4000,8000,12000,16000,24000,32000,48000,64000,96000")
        .split(separator: ",").compactMap { Int($0) }
    let stepSeconds = Double(environment["SOAK_STEP_SECONDS"] ?? "") ?? 3
    var best = 0
    var failures = 0
    for rate in rates {
        shared.counters.withLockedValue { $0 = Counters() }
        offer(rate: rate, until: cfs_monotonic_ns() + UInt64(stepSeconds * 1e9), plain: plain)
        let counters = shared.counters.withLockedValue { $0 }
        let sent = counters.plainSent + counters.ntsSent
        let received = counters.plainReceived + counters.ntsReceived
        let loss = sent == 0 ? 1 : 1 - Double(received) / Double(sent)
        let kept = Double(sent) >= 0.97 * Double(rate) * stepSeconds
        say(String(format: "offered %6d/s: sent %8d, answered %8d, loss %6.2f %%%@", rate, sent, received, loss * 100,
                   kept ? "" : " (the generator could not send it all)"))
        if loss <= 0.01 && kept {
            best = rate
        } else {
            failures += 1
            if failures >= 2 { break }
        }
        usleep(500_000)
    }
    say("lossless \(best)")
case "run":
    let rate = Int(environment["SOAK_RATE"] ?? "") ?? 1000
    let seconds = Double(environment["SOAK_SECONDS"] ?? "") ?? 60
    let start = cfs_monotonic_ns()
    let end = start + UInt64(seconds * 1e9)
    signal(SIGTERM, SIG_IGN)
    let termination = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
    termination.setEventHandler { shared.stop.store(true, ordering: .relaxed) }
    termination.resume()
    let threads = [
        startThread { offer(rate: rate, until: end, plain: plain) },
        startThread { keClients(until: end) },
        startThread { probe(until: end) },
    ]
    while !shared.stop.load(ordering: .relaxed) && cfs_monotonic_ns() < end {
        usleep(1_000_000)
        say(json(shared.counters.withLockedValue { $0 }, seconds: Double(cfs_monotonic_ns() - start) / 1e9))
    }
    for thread in threads { thread.wait() }
    say(json(shared.counters.withLockedValue { $0 }, seconds: Double(cfs_monotonic_ns() - start) / 1e9))
default:
    fail("usage: soak-load measure|run (see the comment at the top of Benchmarks/SoakLoad/main.swift)")
}
