import CFleetShim
import FleetCrypto
import Logging
import NTPCore
import Synchronization

/// One receive loop on one SO_REUSEPORT socket, on its own thread: recvmmsg a batch, decide every datagram
/// with the protocol core, stamp and sendmmsg the replies. The batch buffers belong to this loop alone.
final class ReceiveLoop: @unchecked Sendable {
    /// Large enough for any valid NTP packet (NTPPacket.maximumLength); longer datagrams arrive cut and are
    /// then rejected by the parser as too long.
    static let bufferSize = 2048
    static let pollTimeoutMilliseconds: Int32 = 200

    private let socket: UDPSocket
    private let shared: ServerShared
    private let batch: OpaquePointer
    private let capacity: Int
    private var decisions: [ServerDecision]
    private var admissions: [Admitted] = []

    private struct Admitted {
        var admission: NTPServerRules.Admission
        var source: IPAddress
        var receivedAt: NTPTimestamp
        var verdict: RateLimitVerdict?
    }
    private var tally = BatchTally()
    private var random = SecureRandomGenerator()

    init(socket: UDPSocket, shared: ServerShared, batchSize: Int) throws(NodeStartError) {
        guard let batch = cfs_batch_create(Int32(batchSize), Int32(Self.bufferSize)) else {
            throw NodeStartError(message: "cannot allocate receive buffers")
        }
        self.socket = socket
        self.shared = shared
        self.batch = batch
        self.capacity = batchSize
        self.decisions = []
        self.decisions.reserveCapacity(batchSize)
    }

    deinit { cfs_batch_destroy(batch) }

    func run() {
        while !shared.stopping.load(ordering: .relaxed) {
            let received = Int(cfs_batch_recv(socket.descriptor, batch, Self.pollTimeoutMilliseconds))
            if received < 0 {
                shared.logger.warning("receive failed", metadata: ["errno": "\(-received)", "listen": "\(socket.endpoint)"])
                continue
            }
            if received > 0 { process(count: received) }
        }
    }

    private func process(count: Int) {
        tally.reset()
        tally.received = count
        let clock = shared.clock
        let batchTime = clock.now()
        let conversion = clock.systemConversion()
        let state = shared.serving.snapshot(at: NTPTimestamp(batchTime))
        let monotonic = cfs_monotonic_ns()

        // Phase 1, no lock: who asks and what (access list, mode, parse).
        var rules = shared.rules.withLock { $0 }
        rules.nts = shared.cookieKeys.withLock { $0 }?.current
        admissions.removeAll(keepingCapacity: true)
        for index in 0..<count {
            let i = Int32(index)
            var receivedAt = batchTime
            var seconds: Int64 = 0
            var nanoseconds: Int32 = 0
            if cfs_batch_rx_stamp(batch, i, &seconds, &nanoseconds) == 1 {
                receivedAt = conversion.served(fromSystem: UnixTime(seconds: seconds, nanoseconds: UInt32(nanoseconds)))
                tally.kernelTimestamps += 1
            }
            let source = source(of: i)
            admissions.append(Admitted(
                admission: rules.admit(request: request(at: i), from: source), source: source,
                receivedAt: NTPTimestamp(receivedAt), verdict: nil))
        }
        // Phase 2: the shared rate limiter, one lock for the whole batch.
        if rules.policy.rateLimit != nil {
            shared.limiter.withLock { limiter in
                for index in admissions.indices {
                    if case .admitted = admissions[index].admission {
                        admissions[index].verdict = limiter.check(admissions[index].source, now: monotonic, using: &random)
                    }
                }
            }
        }
        // Phase 3, no lock: the answers, NTS cryptography included.
        decisions.removeAll(keepingCapacity: true)
        for (index, admitted) in admissions.enumerated() {
            switch admitted.admission {
            case .drop(let reason):
                decisions.append(.drop(reason))
            case .admitted(let packet):
                decisions.append(rules.respond(
                    to: packet, request: request(at: Int32(index)), rateLimit: admitted.verdict,
                    receivedAt: admitted.receivedAt, state: state, client: admitted.source, random: &random))
            }
        }
        if let symmetric = rules.symmetric, !symmetric.restrictions.isEmpty {
            recordSiblingTraffic(symmetric)
        }
        let nts = rules.nts
        let mac = rules.symmetric?.computer

        var queued = 0
        for (index, decision) in decisions.enumerated() {
            switch decision {
            case .drop(let reason):
                tally.drop(reason)
            case .reply(let reply):
                let buffer = UnsafeMutableRawBufferPointer(
                    start: cfs_batch_tx_buffer(batch, Int32(queued)), count: Self.bufferSize)
                // T3 as late as possible: read the clock for each reply just before it is queued for sendmmsg.
                let length = reply.write(transmit: NTPTimestamp(clock.now()), to: buffer, nts: nts, mac: mac, random: &random)
                guard length > 0 else {
                    tally.drop(.malformed)
                    continue
                }
                cfs_batch_queue(batch, Int32(queued), Int32(length), Int32(index))
                queued += 1
                if case .kissOfDeath = reply.kind { tally.kissOfDeath += 1 }
                switch reply.trailer {
                case .none: break
                case .symmetric: tally.symmetricAuthenticated += 1
                case .nts: tally.ntsAuthenticated += 1
                case .ntsNAK(_, let authenticationFailed):
                    if authenticationFailed { tally.ntsAuthenticationFailed += 1 } else { tally.ntsNAK += 1 }
                }
            }
        }
        if queued > 0 {
            let sent = Int(cfs_batch_send(socket.descriptor, batch))
            let delivered = max(0, sent)
            tally.answered = delivered
            tally.sendFailed = queued - delivered
            if sent < 0 {
                shared.logger.warning("send failed", metadata: ["errno": "\(-sent)", "listen": "\(socket.endpoint)"])
            }
        }
        shared.statistics.record(tally)
    }

    /// Siblings' keyed requests, answered or rejected, for the sibling report (only their addresses).
    private func recordSiblingTraffic(_ symmetric: SymmetricServerConfiguration) {
        for (index, decision) in decisions.enumerated() {
            let source = admissions[index].source
            guard symmetric.restrictions[source] != nil, case .admitted(let packet) = admissions[index].admission,
                  let mac = packet.mac
            else { continue }
            switch decision {
            case .reply:
                shared.siblingTraffic.answered(from: source, keyID: mac.keyID)
            case .drop(.authenticationFailed):
                shared.siblingTraffic.rejected(
                    from: source, keyID: mac.keyID,
                    reason: SiblingTraffic.reason(keyID: mac.keyID, from: source, configuration: symmetric))
            case .drop:
                break
            }
        }
    }

    /// Datagram `index` of the batch; a cut one is reported at the slot size, which the parser rejects.
    private func request(at index: Int32) -> UnsafeRawBufferPointer {
        let data = UnsafeRawBufferPointer(start: cfs_batch_rx_data(batch, index), count: Int(cfs_batch_rx_length(batch, index)))
        return cfs_batch_rx_truncated(batch, index) != 0
            ? UnsafeRawBufferPointer(start: data.baseAddress, count: ReceiveLoop.bufferSize) : data
    }

    private func source(of index: Int32) -> IPAddress {
        var family: Int32 = 0
        var port: UInt16 = 0
        var bytes = (UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &bytes) { raw in
            cfs_batch_rx_source(batch, index, &family, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), &port)
        }
        // The shim fills network byte order: the first eight bytes are the high half of an IPv6 address.
        let high = UInt64(bigEndian: bytes.0)
        let low = UInt64(bigEndian: bytes.1)
        if family == 4 { return .v4(UInt32(truncatingIfNeeded: high >> 32)) }
        return IPAddress.v6(high: high, low: low).unmapped
    }
}
