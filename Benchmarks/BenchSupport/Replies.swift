// Collecting the servers' replies, the same way in both benchmarks.
import CBenchShim
import CFleetShim
import Foundation

/// Replies waiting on `sockets` now (non-blocking batches of up to 256 each).
public func receiveReplies(_ sockets: [Int32]) -> Int {
    var got = 0
    for fd in sockets { got += Int(cbs_recv_many(fd, 256, 0)) }
    return got
}

/// Late replies still count: collects for 300 ms after a step's sending ends.
public func drainReplies(_ sockets: [Int32]) -> Int {
    var received = 0
    let drainEnd = cfs_monotonic_ns() + 300_000_000
    while cfs_monotonic_ns() < drainEnd {
        let got = receiveReplies(sockets)
        received += got
        if got == 0 { usleep(1000) }
    }
    return received
}
