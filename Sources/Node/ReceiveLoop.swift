import CFleetShim
import NIOConcurrencyHelpers
import FleetCrypto
import Logging
import NTPCore
import Synchronization

/// One receive loop on one SO_REUSEPORT socket, on its own thread: recvmmsg a batch, decide every datagram
/// with the protocol core, stamp and send the replies (`[ntp] send`: each in its own call, stamped just
/// before it, or the batch in one sendmmsg). The batch buffers belong to this loop alone.
///
/// A struct that its thread runs in place (`var loop = loop; loop.run()`): its state is then a local
/// variable whose accesses the compiler checks statically. As a class, every access to a stored `var`
/// (the per-batch arrays, the tally, the random generator) paid a dynamic exclusivity check, which
/// callgrind showed to be a fifth of the instructions per answer.
struct ReceiveLoop: @unchecked Sendable {
    /// Large enough for any valid NTP packet (NTPPacket.maximumLength); longer datagrams arrive cut and are
    /// then rejected by the parser as too long.
    static let bufferSize = 2048
    static let pollTimeoutMilliseconds: Int32 = 200

    private let socket: UDPSocket
    private let shared: ServerShared
    private let buffers: ReceiveBatch
    private var batch: OpaquePointer { buffers.pointer }
    private let capacity: Int
    /// The per-batch arrays hold trivially copyable elements only, so emptying and refilling them costs no
    /// runtime call per element: an `NTPPacket` or a `ServerReply` (arrays, enum payloads, keys inside) was
    /// copied and destroyed through value witnesses, about a fifth of the instructions per plain answer.
    /// The rarer requests and replies with a trailer (extension fields, MAC) go to `packets` and
    /// `sealedReplies`, referred to by index.
    private var admissions: BatchBuffer<Admitted>
    /// The admitted requests with extension fields or a MAC, in datagram order (`Admitted.packet`).
    private var packets: [NTPPacket] = []
    /// Per received datagram: what became of it.
    private var outcomes: BatchBuffer<Outcome>
    /// Per reply, in datagram order: the reply without trailer (all of a plain one) and the facts the passes
    /// after the decision need.
    private var facts: BatchBuffer<ReplyFacts>
    /// The replies with a trailer (MAC or NTS), in datagram order (`ReplyFacts.sealed`), except NTS replies to
    /// requests read in place, whose requests stay in `ntsRequests`.
    private var sealedReplies: [ServerReply] = []
    /// Per datagram of the batch: the authenticated NTS request read in place there, kept where it was made
    /// (`respond(toNTS:...keeping:)`) until its reply is sealed, so that its keys are not copied from the
    /// decision into the loop's arrays (issue 18, callgrind). Only slots whose fact says so are read.
    private var ntsRequests: [NTSRequest]
    /// The ciphers of recent NTS clients' keys: a client polling again costs no AES key schedule.
    private let keyCiphers: NTSKeyCipherCache

    private struct Admitted {
        /// The request's header, when admitted.
        var header: NTPHeader
        var source: IPAddress
        var receivedAt: NTPTimestamp
        var verdict: RateLimitVerdict?
        /// Why it is not answered; nil: admitted (a well-formed client request).
        var drop: ServerDropReason?
        /// Its index in `packets` when it has extension fields or a MAC; -1 for a request that is its header
        /// alone; `ntsInPlace` for an NTS request read where it lies (`HeaderAdmission.nts`).
        var packet: Int
        static let ntsInPlace = -2
        /// Admitted and in the interleaved form (RFC 9769 §2).
        var interleavedForm: Bool
        /// For a request in the interleaved form: the earlier response's transmit timestamp, when the table
        /// still keeps it, and where (-1: nowhere), so the send path's `sent` need not hash its key again.
        var earlier: (timestamp: NTPTimestamp, source: TransmitTimestampSource)? = nil
        var earlierSlot = -1
        var admitted: Bool { drop == nil }

        /// Not admitted: the header is a placeholder that nothing reads.
        init(dropped reason: ServerDropReason, source: IPAddress, receivedAt: NTPTimestamp) {
            self.header = NTPHeader(mode: .reserved)
            self.source = source
            self.receivedAt = receivedAt
            self.drop = reason
            self.packet = -1
            self.interleavedForm = false
        }

        init(header: NTPHeader, source: IPAddress, receivedAt: NTPTimestamp, packet: Int, interleavedForm: Bool) {
            self.header = header
            self.source = source
            self.receivedAt = receivedAt
            self.drop = nil
            self.packet = packet
            self.interleavedForm = interleavedForm
        }
    }

    private enum Outcome {
        case drop(ServerDropReason)
        /// Answered by `facts[index]`.
        case reply(Int)
    }

    private struct ReplyFacts {
        enum Trailer { case none, symmetric, nts, ntsNAK, ntsAuthenticationFailed }
        /// The reply's header and interleaving: the whole reply when it has no trailer.
        var reply: HeaderReply
        var datagram: Int
        var trailer: Trailer
        /// Its index in `sealedReplies` when it has a trailer; `ntsInPlace` for an NTS reply whose request
        /// is in `ntsRequests` at its datagram; -1 for no trailer.
        var sealed: Int
        static let ntsInPlace = -2
        /// For `ntsInPlace`: the fresh cookies it carries.
        var cookies = 0
        var isSealed: Bool { sealed != -1 }
        var kissOfDeath: Bool
        /// `ServerReply.isInterleaved`.
        var interleaved: Bool
        var interleaving: ServerReply.Interleaving? { reply.interleaving }
        /// Whether its timestamps are saved for the client's next request.
        var saved: Bool { reply.interleaving != nil }
        var receive: NTPTimestamp { reply.header.receiveTimestamp }

        init(_ reply: HeaderReply, datagram: Int) {
            self.reply = reply
            self.datagram = datagram
            self.trailer = .none
            self.sealed = -1
            if case .kissOfDeath = reply.kind { kissOfDeath = true } else { kissOfDeath = false }
            interleaved = reply.isInterleaved
        }

        /// An authenticated NTS reply to a request read in place (`ntsRequests[datagram]`).
        init(_ reply: HeaderReply, datagram: Int, ntsCookies: Int) {
            self.init(reply, datagram: datagram)
            trailer = .nts
            sealed = Self.ntsInPlace
            cookies = ntsCookies
        }

        /// A reply with a trailer, kept at `sealed` (when it has none, it is written as a `HeaderReply`).
        init(_ reply: ServerReply, datagram: Int, sealed: Int) {
            self.init(HeaderReply(header: reply.header, kind: reply.kind, interleaving: reply.interleaving), datagram: datagram)
            switch reply.trailer {
            case .none: return
            case .symmetric: trailer = .symmetric
            case .nts: trailer = .nts
            case .ntsNAK(_, let authenticationFailed): trailer = authenticationFailed ? .ntsAuthenticationFailed : .ntsNAK
            }
            self.sealed = sealed
        }
    }
    /// The rules and keys, read again only when they change.
    private var loopRules: LoopRules
    /// This batch's counts, recorded for status when it is done.
    private var tally = BatchTally()
    /// The precision and metric counts gathered since they were last published.
    private var unpublished = PendingStatistics(now: cfs_monotonic_ns())
    /// How long the socket has stayed non-empty: load shedding applies only to a lasting backlog.
    private var backlog = ReceiveBacklog()
    /// 4 KiB per OpenSSL call: an NTS response draws 32 bytes (two nonces).
    private var random = SecureRandomGenerator(words: 512)

    // Interleaved mode and transmit timestamps (RFC 9769 §2), reused batch after batch.
    /// Per queued reply: its index in `facts` and what the error queue's timestamp will be matched with.
    private var queuedReplies: BatchBuffer<(reply: Int, sent: PendingTransmits.Sent)>
    /// Sent replies by the socket's datagram number (SOF_TIMESTAMPING_OPT_ID), until their stamps come back.
    private var pending: PendingTransmits
    private var nextTransmitID: UInt32 = 0
    private var stamps: [cfs_tx_stamp]
    private var kernelUpdates: [(client: IPAddress, receive: NTPTimestamp, transmit: NTPTimestamp, slot: Int?)] = []
    /// When replies leave, learned from their kernel stamps (`[ntp] predict_transmit`).
    private var predictor = TransmitTimePredictor()
    private var sealedWritten: [(reply: Int, slot: Int, length: Int, transmit: NTPTimestamp)] = []
    private var plainWritten: [(reply: Int, interleaved: Bool)] = []
    /// The clock readings before and after the plain replies' stamping pass (the latter just before the send).
    private var stampTimeRead = NTPTimestamp.zero
    private var predictedSendTime = NTPTimestamp.zero

    init(socket: UDPSocket, shared: ServerShared, batchSize: Int) throws(NodeStartError) {
        self.buffers = try ReceiveBatch(count: batchSize, bufferSize: Self.bufferSize)
        self.socket = socket
        self.shared = shared
        self.loopRules = LoopRules(from: shared)
        self.capacity = batchSize
        self.admissions = BatchBuffer(capacity: batchSize)
        self.outcomes = BatchBuffer(capacity: batchSize)
        self.facts = BatchBuffer(capacity: batchSize)
        // Stamps come back within the send call on loopback and within microseconds from a card's driver:
        // a few batches' worth of pending entries is plenty.
        self.pending = PendingTransmits(capacity: batchSize * 8)
        self.stamps = [cfs_tx_stamp](repeating: cfs_tx_stamp(), count: batchSize)
        self.ntsRequests = [NTSRequest](repeating: NTSRequest(), count: batchSize)
        self.keyCiphers = NTSKeyCipherCache(capacity: shared.ntsKeyCache)
        self.queuedReplies = BatchBuffer(capacity: batchSize)
        self.kernelUpdates.reserveCapacity(batchSize)
        self.sealedWritten.reserveCapacity(batchSize)
        self.plainWritten.reserveCapacity(batchSize)
    }

    mutating func run() {
        while !shared.stopping.load(ordering: .relaxed) {
            // With something unpublished, a short wait: a quiet server's status and metrics catch up soon.
            let timeout = unpublished.isEmpty ? Self.pollTimeoutMilliseconds : PendingStatistics.quietMilliseconds
            let received = Int(cfs_batch_recv(socket.descriptor, batch, timeout))
            if received < 0 {
                shared.logger.warning("receive failed", metadata: ["errno": "\(-received)", "listen": "\(socket.endpoint)"])
                continue
            }
            if received > 0 {
                process(count: received)
                continue
            }
            backlog.caughtUp()
            if socket.transmitTimestamps {
                // A wake-up for the error queue alone (POLLERR): stamps that came back after their batch.
                collectTransmitStamps(conversion: shared.clock.systemConversion())
            }
            // Quiet (a poll timeout) or nearly: the precision and metrics catch up with the last batches.
            if !unpublished.isEmpty { shared.statistics.publish(&unpublished, now: cfs_monotonic_ns()) }
        }
        if !unpublished.isEmpty { shared.statistics.publish(&unpublished, now: cfs_monotonic_ns()) }
    }

    private mutating func process(count: Int) {
        tally.reset()
        tally.received = count
        let clock = shared.clock
        let conversion = clock.systemConversion()
        // The batch's time through its frozen mapping: one clock reading, no second trip through the clock's lock.
        let batchTime = conversion.now()
        let state = shared.serving.snapshot(at: NTPTimestamp(batchTime))
        let monotonic = cfs_monotonic_ns()
        // A batch that was not filled emptied the queue; a full one may have (one system call tells).
        backlog.read(count: count, leftWaiting: count == capacity && cfs_udp_pending(socket.descriptor) != 0, at: NTPTimestamp(batchTime))

        // Phase 1, no lock: who asks and what (access list, mode, parse).
        // A constant for the batch: a `var` here was copied field by field (retains included) for each call
        // on it, twice per packet.
        if loopRules.isStale(shared) { loopRules = LoopRules(from: shared) }
        let current = loopRules
        admissions.removeAll()
        if !packets.isEmpty { packets.removeAll(keepingCapacity: true) }
        let interleaved = current.rules.policy.interleaved
        var interleavedForm = false
        for index in 0..<count {
            let i = Int32(index)
            var receivedAt = batchTime
            var seconds: Int64 = 0
            var nanoseconds: Int32 = 0
            var stamped = false
            if cfs_batch_rx_stamp(batch, i, &seconds, &nanoseconds) == 1 {
                receivedAt = conversion.served(fromSystem: UnixTime(seconds: seconds, nanoseconds: UInt32(nanoseconds)))
                tally.kernelTimestamps += 1
                stamped = true
            }
            let source = source(of: i)
            // Load shedding first: under a lasting backlog, a request that waited too long is not worth parsing.
            if stamped && current.rules.policy.isTooOld(receivedAt: NTPTimestamp(receivedAt), now: NTPTimestamp(batchTime), backlog: backlog) {
                admissions.append(Admitted(dropped: .tooOld, source: source, receivedAt: NTPTimestamp(receivedAt)))
                continue
            }
            switch current.rules.admitHeader(request: request(at: i), from: source) {
            case .drop(let reason):
                admissions.append(Admitted(dropped: reason, source: source, receivedAt: NTPTimestamp(receivedAt)))
            case .header(let header):
                let form = interleaved && NTPServerRules.interleavedOrigin(of: header) != nil
                interleavedForm = interleavedForm || form
                admissions.append(Admitted(
                    header: header, source: source, receivedAt: NTPTimestamp(receivedAt), packet: -1, interleavedForm: form))
            case .nts(let header):
                // Answered from its bytes in place (`respond(toNTS:)`): no NTPPacket is built or kept.
                let form = interleaved && NTPServerRules.interleavedOrigin(of: header) != nil
                interleavedForm = interleavedForm || form
                admissions.append(Admitted(
                    header: header, source: source, receivedAt: NTPTimestamp(receivedAt), packet: Admitted.ntsInPlace,
                    interleavedForm: form))
            case .packet(let packet):
                var index = -1
                if !packet.extensionFields.isEmpty || packet.mac != nil {
                    index = packets.count
                    packets.append(packet)
                }
                let form = interleaved && NTPServerRules.interleavedOrigin(of: packet.header) != nil
                interleavedForm = interleavedForm || form
                admissions.append(Admitted(
                    header: packet.header, source: source, receivedAt: NTPTimestamp(receivedAt), packet: index, interleavedForm: form))
            }
        }
        // Phase 2: the shared rate limiter, one lock for the whole batch.
        if current.rules.policy.rateLimit != nil {
            shared.limiter.withLockedValue { limiter in
                for index in 0..<admissions.count where admissions[index].admitted {
                    admissions[index].verdict = limiter.check(admissions[index].source, now: monotonic, using: &random)
                }
            }
        }
        // Phase 2b: the earlier responses that requests in the interleaved form name, one lock per batch.
        if interleavedForm {
            shared.timestamps.withLockedValue { table in
                for index in 0..<admissions.count where admissions[index].interleavedForm {
                    if let found = table.earlierIndexed(for: admissions[index].header, from: admissions[index].source) {
                        admissions[index].earlier = (found.timestamp, found.source)
                        admissions[index].earlierSlot = found.index
                    }
                }
            }
        }
        // Phase 3, no lock: the answers, NTS cryptography included. Drops are counted here.
        outcomes.removeAll()
        facts.removeAll()
        if !sealedReplies.isEmpty { sealedReplies.removeAll(keepingCapacity: true) }
        for index in 0..<admissions.count {
            let admitted = admissions[index]
            if let reason = admitted.drop {
                tally.drop(reason)
                outcomes.append(.drop(reason))
                continue
            }
            if admitted.packet == -1 {
                guard let reply = current.rules.respond(
                    toHeader: admitted.header, rateLimit: admitted.verdict, receivedAt: admitted.receivedAt, state: state,
                    earlier: admitted.earlier)
                else {
                    tally.drop(.rateLimited)
                    outcomes.append(.drop(.rateLimited))
                    continue
                }
                outcomes.append(.reply(facts.count))
                facts.append(ReplyFacts(reply, datagram: index))
                continue
            }
            let decision: ServerDecision
            let bytes = request(at: Int32(index))
            if admitted.packet == Admitted.ntsInPlace {
                switch current.rules.respond(
                    toNTS: admitted.header, request: bytes, rateLimit: admitted.verdict, receivedAt: admitted.receivedAt,
                    state: state, earlier: admitted.earlier, keeping: &ntsRequests[index], ciphers: keyCiphers)
                {
                case .sealed(let reply, let cookies):
                    outcomes.append(.reply(facts.count))
                    facts.append(ReplyFacts(reply, datagram: index, ntsCookies: cookies))
                    continue
                case .drop(let reason):
                    decision = .drop(reason)
                case .decided(let other):
                    decision = other
                }
            } else {
                decision = current.rules.respond(
                    to: packets[admitted.packet], request: bytes, rateLimit: admitted.verdict,
                    receivedAt: admitted.receivedAt, state: state, client: admitted.source, earlier: admitted.earlier, random: &random)
            }
            switch decision {
            case .drop(let reason):
                tally.drop(reason)
                outcomes.append(.drop(reason))
            case .reply(let reply):
                outcomes.append(.reply(facts.count))
                facts.append(ReplyFacts(reply, datagram: index, sealed: sealedReplies.count))
                if facts[facts.count - 1].sealed >= 0 { sealedReplies.append(reply) }
            }
        }
        if current.recordsSiblings, let symmetric = current.rules.symmetric {
            recordSiblingTraffic(symmetric)
        }
        let nts = current.rules.nts
        let mac = current.mac

        queuedReplies.removeAll()
        let queued: Int
        let delivered: Int
        let sendError: Int
        if shared.send == .each {
            (queued, delivered, sendError) = sendEach(clock: conversion, nts: nts, mac: mac)
        } else {
            let predict = shared.predictTransmit
            queued = predict ? writePredicted(clock: clock, nts: nts, mac: mac) : writeAsRead(clock: clock, nts: nts, mac: mac)
            // Nothing between the last clock reading and the send call: the bookkeeping comes after.
            let sent = queued > 0 ? Int(cfs_batch_send(socket.descriptor, batch)) : 0
            if predict { recordPredicted() }
            delivered = max(0, sent)
            sendError = sent < 0 ? -sent : 0
        }
        for position in 0..<queuedReplies.count {
            let fact = facts[queuedReplies[position].reply]
            if fact.kissOfDeath { tally.kissOfDeath += 1 }
            switch fact.trailer {
            case .none: break
            case .symmetric: tally.symmetricAuthenticated += 1
            case .nts: tally.ntsAuthenticated += 1
            case .ntsNAK: tally.ntsNAK += 1
            case .ntsAuthenticationFailed: tally.ntsAuthenticationFailed += 1
            }
        }
        if queued > 0 {
            tally.answered = delivered
            tally.sendFailed = queued - delivered
            if sendError != 0 {
                shared.logger.warning("send failed", metadata: ["errno": "\(sendError)", "listen": "\(socket.endpoint)"])
            }
            afterSend(delivered: delivered, queued: queued, conversion: conversion)
        }
        shared.statistics.record(tally)
        unpublished.counts.add(tally)
        if unpublished.isDue(now: monotonic) { shared.statistics.publish(&unpublished, now: monotonic) }
    }

    /// `[ntp] send = "each"`: every reply in a send call of its own, its basic-mode T3 read immediately
    /// before that call plus the learned time from such a reading to the kernel's transmit stamp (`lead`),
    /// as chronyd stamps each reply just before its sendmsg. A sealed reply (MAC or NTS: T3 must be written
    /// before it is sealed) adds the learned sealing time. Interleaved replies carry an earlier reply's
    /// kernel stamp and leave the same way. Returns the replies attempted, those the kernel took, and the
    /// first send error (an errno, 0 for none). Only sent replies are recorded (`queuedReplies`), in order.
    private mutating func sendEach(clock: SystemTimeConversion, nts: NTSServerConfiguration?, mac: (any MACComputer)?) -> (Int, Int, Int) {
        let batch = self.batch
        let descriptor = socket.descriptor
        // Every reply is written into the first slot and gone before the next one is written.
        let slot = cfs_batch_tx_buffer(batch, 0)!
        let buffer = UnsafeMutableRawBufferPointer(start: slot, count: Self.bufferSize)
        var attempted = 0
        var delivered = 0
        var firstError = 0
        // A plain reply's term is the learned lead alone, which only `learn()` changes: computed once.
        let lead = predictor.delay(position: 0)
        for index in 0..<facts.count {
            let length: Int
            let transmit: NTPTimestamp
            let sendTime: NTPTimestamp
            if !facts[index].isSealed {
                length = facts[index].reply.write(transmit: .zero, to: buffer)
                sendTime = NTPTimestamp(clock.now())
                transmit = sendTime.adding(lead)
                if length > 0, !facts[index].interleaved {
                    // The transmit timestamp field (RFC 5905 §7.3: bytes 40-47), big-endian, lowest bit clear as `write` leaves it.
                    UnsafeMutableRawPointer(slot).storeBytes(of: (transmit.rawValue & ~1).bigEndian, toByteOffset: 40, as: UInt64.self)
                }
            } else {
                let start = NTPTimestamp(clock.now())
                transmit = start.adding(predictor.delay(position: 0, sealsAfter: 1))
                length = writeSealed(index, transmit: transmit, to: buffer, nts: nts, mac: mac)
                sendTime = NTPTimestamp(clock.now())
                predictor.observeSealing(1, took: sendTime - start)
            }
            guard length > 0 else {
                tally.drop(.malformed)
                continue
            }
            cfs_batch_queue(batch, 0, Int32(length), Int32(facts[index].datagram))
            attempted += 1
            let sent = Int(cfs_batch_send(descriptor, batch))
            if sent == 1 {
                delivered += 1
                record(reply: index, position: 0, transmit: transmit, sendTime: sendTime)
            } else if sent < 0, firstError == 0 {
                firstError = -sent
            }
        }
        return (attempted, delivered, firstError)
    }

    /// `[ntp] send = "batch"`, `predict_transmit = false`: each reply written in turn with the clock as it is written; the batch
    /// leaves afterwards, so a reply's T3 is early by the writing of the replies after it and by the kernel's
    /// sending of the replies before it. Returns how many were queued.
    private mutating func writeAsRead(clock: any NodeClock, nts: NTSServerConfiguration?, mac: (any MACComputer)?) -> Int {
        var queued = 0
        for index in 0..<facts.count {
            let transmit = NTPTimestamp(clock.now())
            if enqueue(reply: index, slot: queued, position: queued, transmit: transmit, sendTime: .zero, nts: nts, mac: mac) {
                queued += 1
            }
        }
        return queued
    }

    /// Each reply's T3 written for when it is expected to leave (`TransmitTimePredictor`). The plain replies
    /// go first in the send call: they are written whole first, without T3. The authenticated ones follow,
    /// each stamped for its place and the sealing still to come after it. Then one clock reading stamps every
    /// plain reply for its place, eight bytes each, and the caller sends at once. Returns how many were queued;
    /// `recordPredicted` does their bookkeeping after the send.
    private mutating func writePredicted(clock: any NodeClock, nts: NTSServerConfiguration?, mac: (any MACComputer)?) -> Int {
        var sealed = 0
        for index in 0..<facts.count where facts[index].isSealed { sealed += 1 }
        var queued = 0
        let batch = self.batch
        if !plainWritten.isEmpty { plainWritten.removeAll(keepingCapacity: true) }
        for index in 0..<facts.count where !facts[index].isSealed {
            let buffer = UnsafeMutableRawBufferPointer(start: cfs_batch_tx_buffer(batch, Int32(queued)), count: Self.bufferSize)
            // A plain reply draws no randomness and needs no NTS keys.
            let length = facts[index].reply.write(transmit: .zero, to: buffer)
            guard length > 0 else {
                tally.drop(.malformed)
                continue
            }
            cfs_batch_queue(batch, Int32(queued), Int32(length), Int32(facts[index].datagram))
            plainWritten.append((index, facts[index].interleaved))
            queued += 1
        }
        if !sealedWritten.isEmpty { sealedWritten.removeAll(keepingCapacity: true) }
        if sealed > 0 {
            var seen = 0
            let start = clock.now()
            for index in 0..<facts.count where facts[index].isSealed {
                let transmit = NTPTimestamp(clock.now()).adding(
                    predictor.delay(position: queued, sealsAfter: sealed - 1 - seen, stamps: plainWritten.count))
                seen += 1
                let buffer = UnsafeMutableRawBufferPointer(start: cfs_batch_tx_buffer(batch, Int32(queued)), count: Self.bufferSize)
                let length = writeSealed(index, transmit: transmit, to: buffer, nts: nts, mac: mac)
                guard length > 0 else {
                    tally.drop(.malformed)
                    continue
                }
                cfs_batch_queue(batch, Int32(queued), Int32(length), Int32(facts[index].datagram))
                sealedWritten.append((index, queued, length, transmit))
                queued += 1
            }
            predictor.observeSealing(seen, took: NTPTimestamp(clock.now()) - NTPTimestamp(start))
        }
        let stampTime = NTPTimestamp(clock.now())
        stampTimeRead = stampTime
        let plain = plainWritten.count
        var position = 0
        while position < plain {
            if !plainWritten[position].interleaved {
                // The transmit timestamp field (RFC 5905 §7.3: bytes 40-47), big-endian, lowest bit clear as `write` leaves it.
                let transmit = stampTime.adding(predictor.delay(position: position, stamps: plain)).rawValue & ~1
                UnsafeMutableRawPointer(cfs_batch_tx_buffer(batch, Int32(position))!).storeBytes(
                    of: transmit.bigEndian, toByteOffset: 40, as: UInt64.self)
            }
            position += 1
        }
        // The stamping pass's own time, learned, and the reading the send path's terms are learned from.
        predictedSendTime = plain > 0 ? NTPTimestamp(clock.now()) : stampTime
        return queued
    }

    /// The bookkeeping of `writePredicted`'s replies, in their order in the send call.
    private mutating func recordPredicted() {
        let plain = plainWritten.count
        for position in 0..<plain {
            record(reply: plainWritten[position].reply, position: position,
                   transmit: stampTimeRead.adding(predictor.delay(position: position, stamps: plain)),
                   sendTime: predictedSendTime)
        }
        for written in 0..<sealedWritten.count {
            record(reply: sealedWritten[written].reply, position: sealedWritten[written].slot,
                   transmit: sealedWritten[written].transmit, sendTime: predictedSendTime)
        }
        predictor.observeStamping(plainWritten.count, took: predictedSendTime - stampTimeRead)
    }

    /// Writes reply `reply` (`facts`, `sealedReplies`) into buffer `slot` with `transmit` and queues it; false (counted as malformed)
    /// when it cannot be written.
    private mutating func enqueue(
        reply: Int, slot: Int, position: Int, transmit: NTPTimestamp, sendTime: NTPTimestamp,
        nts: NTSServerConfiguration?, mac: (any MACComputer)?
    ) -> Bool {
        let batch = self.batch
        let buffer = UnsafeMutableRawBufferPointer(start: cfs_batch_tx_buffer(batch, Int32(slot)), count: Self.bufferSize)
        let length = facts[reply].isSealed
            ? writeSealed(reply, transmit: transmit, to: buffer, nts: nts, mac: mac)
            : facts[reply].reply.write(transmit: transmit, to: buffer)
        guard length > 0 else {
            tally.drop(.malformed)
            return false
        }
        cfs_batch_queue(batch, Int32(slot), Int32(length), Int32(facts[reply].datagram))
        record(reply: reply, position: position, transmit: transmit, sendTime: sendTime)
        return true
    }

    /// Writes sealed reply `reply` (MAC or NTS, `facts`) with `transmit`, sealing it now; 0 when it cannot be written.
    private mutating func writeSealed(
        _ reply: Int, transmit: NTPTimestamp, to buffer: UnsafeMutableRawBufferPointer, nts: NTSServerConfiguration?, mac: (any MACComputer)?
    ) -> Int {
        let fact = facts[reply]
        guard fact.sealed == ReplyFacts.ntsInPlace else {
            return sealedReplies[fact.sealed].write(transmit: transmit, to: buffer, nts: nts, mac: mac, random: &random)
        }
        guard let nts else { return 0 }
        let requests = ntsRequests
        let requestLength = request(at: Int32(fact.datagram)).count
        let ciphers = keyCiphers
        return withUnsafeMutablePointer(to: &random) { generator in
            ServerReply.writeNTS(
                fact.reply, request: requests[fact.datagram], cookies: fact.cookies, requestLength: requestLength, transmit: transmit,
                to: buffer, nts: nts, random: { generator.pointee.fill($0) }, ciphers: ciphers)
        }
    }

    /// A queued reply's bookkeeping: queueing delay, interleaved count, and what its kernel stamp is matched to.
    private mutating func record(reply: Int, position: Int, transmit: NTPTimestamp, sendTime: NTPTimestamp) {
        let fact = facts[reply]
        let datagram = fact.datagram
        unpublished.precision.queueingDelay.record(nanoseconds: (transmit - admissions[datagram].receivedAt).nanoseconds)
        if fact.interleaved { unpublished.precision.interleaved += 1 }
        queuedReplies.append((reply, PendingTransmits.Sent(
            client: admissions[datagram].source, receive: fact.receive, transmit: transmit,
            saved: fact.saved, interleaved: fact.interleaved, position: position, sendTime: sendTime)))
    }

    /// Interleaved mode's bookkeeping once a batch has left: the sent replies wait for their kernel transmit
    /// timestamps by datagram number, responses to requests in the interleaved form are saved for the
    /// client's next request, and the stamps already back (all of them on loopback) are read.
    private mutating func afterSend(delivered: Int, queued: Int, conversion: SystemTimeConversion) {
        var saved = false
        for position in 0..<delivered where queuedReplies[position].sent.saved { saved = true }
        if saved {
            shared.timestamps.withLockedValue { table in
                for position in 0..<delivered where queuedReplies[position].sent.saved {
                    let sent = queuedReplies[position].sent
                    let reply = queuedReplies[position].reply
                    if let interleaving = facts[reply].interleaving {
                        let hint = admissions[facts[reply].datagram].earlierSlot
                        queuedReplies[position].sent.slot = table.sent(
                            interleaving, receive: sent.receive, to: sent.client, transmit: sent.transmit, using: &random,
                            earlierHint: hint >= 0 ? hint : nil)
                    }
                }
            }
        }
        guard socket.transmitTimestamps else { return }
        for position in 0..<delivered {
            pending.record(id: nextTransmitID &+ UInt32(truncatingIfNeeded: position), queuedReplies[position].sent)
        }
        nextTransmitID &+= UInt32(truncatingIfNeeded: delivered)
        collectTransmitStamps(conversion: conversion)
        if delivered < queued {
            // A failed datagram may or may not have taken a number: start the numbering again.
            _ = cfs_reset_tx_counter(socket.descriptor)
            pending.removeAll()
            nextTransmitID = 0
        }
    }

    /// Reads the error queue's transmit timestamps, matches them to the replies sent, measures the basic-mode
    /// error (kernel minus the daemon's T3) and gives saved responses their kernel timestamp.
    private mutating func collectTransmitStamps(conversion: SystemTimeConversion) {
        if !kernelUpdates.isEmpty { kernelUpdates.removeAll(keepingCapacity: true) }
        let descriptor = socket.descriptor
        let batch = self.batch
        while true {
            let count = Int(stamps.withUnsafeMutableBufferPointer { buffer in
                cfs_batch_tx_stamps(descriptor, batch, buffer.baseAddress, Int32(buffer.count))
            })
            guard count > 0 else { break }
            for stamp in stamps.prefix(count) where stamp.source == Int32(CFS_TX_KERNEL.rawValue) {
                guard let sent = pending.take(id: stamp.id) else { continue }
                let kernel = NTPTimestamp(conversion.served(fromSystem: UnixTime(seconds: stamp.sec, nanoseconds: UInt32(clamping: stamp.nsec))))
                unpublished.precision.kernelTransmitTimestamps += 1
                unpublished.precision.transmitTimestampError.record(nanoseconds: (kernel - sent.transmit).nanoseconds)
                if sent.sendTime != .zero { predictor.observe(position: sent.position, delay: kernel - sent.sendTime) }
                if sent.saved { kernelUpdates.append((sent.client, sent.receive, kernel, sent.slot)) }
            }
            if count < stamps.count { break }
        }
        predictor.learn()
        guard !kernelUpdates.isEmpty else { return }
        shared.timestamps.withLockedValue { table in
            for update in kernelUpdates {
                table.update(client: update.client, receive: update.receive, transmit: update.transmit, source: .kernel, hint: update.slot)
            }
        }
    }

    /// Siblings' keyed requests, answered or rejected, for the sibling report (only their addresses).
    private func recordSiblingTraffic(_ symmetric: SymmetricServerConfiguration) {
        for index in 0..<outcomes.count {
            let source = admissions[index].source
            let packet = admissions[index].packet
            guard symmetric.restrictions[source] != nil, packet >= 0, let mac = packets[packet].mac else { continue }
            switch outcomes[index] {
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
