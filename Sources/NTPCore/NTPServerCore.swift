/// The server rules of RFC 5905 (and RFC 8915 for NTS) for client requests, free of I/O: time, the node's
/// published state and randomness are passed in, and a decision comes out, so every rule is a unit test
/// and a fuzz target. The rules are immutable values; the one piece of shared mutable state, the per-client
/// rate limiter, is consulted between the two phases by whoever owns it:
///
/// 1. `admit`: access list, control queries, parsing, mode (cheap, no shared state);
/// 2. the rate-limit verdict for the client (the caller's `RateLimiter`, behind its lock);
/// 3. `respond`: kiss codes, symmetric-key MACs and all NTS cryptography (no lock held, so receive loops on
///    different cores verify and seal in parallel).
public struct NTPServerRules: Sendable {
    public var policy: ServerPolicy
    /// NTS (RFC 8915): the site's cookie master keys and the AEADs; nil when the node serves no NTS.
    public var nts: NTSServerConfiguration?
    /// Symmetric keys (RFC 5905 §7.5, RFC 8573); nil when the node has no key file.
    public var symmetric: SymmetricServerConfiguration?

    public init(policy: ServerPolicy, nts: NTSServerConfiguration? = nil, symmetric: SymmetricServerConfiguration? = nil) {
        self.policy = policy
        self.nts = nts
        self.symmetric = symmetric
    }

    /// Phase 1 of a datagram's way through the server.
    public enum Admission: Sendable {
        case drop(ServerDropReason)
        /// A well-formed client request, to be rate-limited (when the policy says so) and answered.
        case admitted(NTPPacket)
    }

    /// Checks who is asking and what: access list first (as chrony does: a denied client learns nothing,
    /// not even whether its packet parsed), then control queries, then the packet itself.
    public func admit(request: UnsafeRawBufferPointer, from source: IPAddress) -> Admission {
        guard policy.access.permits(source) else { return .drop(.denied) }

        // Control (6) and private (7) queries are recognised from the first byte alone, whatever their length.
        if let first = request.first {
            let mode = first & 0x07
            if mode == NTPMode.control.rawValue || mode == NTPMode.privateUse.rawValue {
                return .drop(.controlQuery)
            }
        }

        let packet: NTPPacket
        do {
            packet = try NTPPacket(parsing: request)
        } catch {
            if case .unsupportedVersion = error { return .drop(.unsupportedVersion) }
            return .drop(.malformed)
        }
        guard packet.header.mode == .client else { return .drop(.unexpectedMode) }
        return .admitted(packet)
    }

    /// Phase 1 as `admit`, for a receive loop that keeps its requests in arrays: a request that is its header
    /// alone (48 bytes: every valid one of that length, as `NTPPacket(parsing:)` finds neither extension
    /// field nor MAC in it) comes back as its header, without an `NTPPacket` (whose array and optional MAC
    /// make its copy and destroy runtime calls: callgrind, about 120 instructions per plain answer); any
    /// other as `admit` returns it. ServerRulesTests checks that the two agree.
    public func admitHeader(request: UnsafeRawBufferPointer, from source: IPAddress) -> HeaderAdmission {
        guard request.count == NTPHeader.length else {
            if nts != nil, let header = ntsHeader(of: request, from: source) { return .nts(header) }
            switch admit(request: request, from: source) {
            case .drop(let reason): return .drop(reason)
            case .admitted(let packet): return .packet(packet)
            }
        }
        guard policy.access.permits(source) else { return .drop(.denied) }
        let mode = request[0] & 0x07
        if mode == NTPMode.control.rawValue || mode == NTPMode.privateUse.rawValue { return .drop(.controlQuery) }
        guard let header = try? NTPHeader(parsing: request) else { return .drop(.malformed) }
        guard (1...4).contains(header.version) else { return .drop(.unsupportedVersion) }
        guard header.mode == .client else { return .drop(.unexpectedMode) }
        return .header(header)
    }

    /// What ``admitHeader(request:from:)`` makes of a datagram.
    public enum HeaderAdmission: Sendable {
        case drop(ServerDropReason)
        /// A well-formed client request of 48 bytes: `admit` would return `NTPPacket(header:)`.
        case header(NTPHeader)
        /// A well-formed NTPv4 client request with at least one NTS extension field and no MAC, from a node
        /// that serves NTS: `admit` would return it as a packet with that header; it is answered by
        /// ``respond(toNTS:request:rateLimit:receivedAt:state:earlier:)`` from its bytes in place.
        case nts(NTPHeader)
        /// A well-formed client request with extension fields or a MAC.
        case packet(NTPPacket)
    }

    /// The header of a datagram that `admit` would admit as an NTPv4 client request with an NTS field and
    /// no MAC, found without building its `NTPPacket`; nil for any other datagram (`admit` decides those).
    private func ntsHeader(of request: UnsafeRawBufferPointer, from source: IPAddress) -> NTPHeader? {
        guard policy.access.permits(source), let header = try? NTPHeader(parsing: request),
              header.version == 4, header.mode == .client
        else { return nil }
        var nts = false
        guard ExtensionFieldScan.scan(request, { nts = nts || NTSExtensionType.isNTS($0.type) }) == false, nts else { return nil }
        return header
    }

    /// Phase 3: the answer to an admitted request.
    /// - Parameters:
    ///   - packet: the request as `admit` parsed it; `request` its bytes (NTS authenticates them).
    ///   - rateLimit: the limiter's verdict for the client, nil when the policy has no rate limit.
    ///   - receivedAt: the receive timestamp (T2) on the node's served timescale.
    ///   - state: what the node tells clients now.
    ///   - client: the request's source address, for per-address symmetric key sets (siblings).
    ///   - earlier: for a request in the interleaved form (``interleavedOrigin(of:)``), the transmit
    ///     timestamp of the earlier response it names, looked up by the caller in its
    ///     ``ServerTimestampTable``; nil when not kept (then the answer is basic).
    public func respond(
        to packet: NTPPacket,
        request: UnsafeRawBufferPointer,
        rateLimit: RateLimitVerdict?,
        receivedAt: NTPTimestamp,
        state: ServerState,
        client: IPAddress? = nil,
        earlier: (timestamp: NTPTimestamp, source: TransmitTimestampSource)? = nil,
        random: inout some RandomNumberGenerator
    ) -> ServerDecision {
        guard var kind = Self.kind(after: rateLimit) else { return .drop(.rateLimited) }
        var trailer = ServerReply.Trailer.none
        if let mac = packet.mac {
            // RFC 5905 §7.5 / RFC 8573: answered under the same key when it verifies; otherwise no answer at
            // all, as chrony does (see `ServerDropReason.authenticationFailed`). The MAC covers everything
            // before it: the header and any extension fields.
            guard let symmetric, let key = symmetric.key(mac.keyID, from: client),
                  SymmetricAuthentication.verify(
                    mac, message: UnsafeRawBufferPointer(rebasing: request[0..<(request.count - mac.encodedLength)]),
                    key: key, version: packet.header.version, computer: symmetric.computer)
            else { return .drop(.authenticationFailed) }
            trailer = .symmetric(key)
        } else if let nts, packet.extensionFields.contains(where: { NTSExtensionType.isNTS($0.type) }) {
            // RFC 8915 §5.7. Rate limiting came first: a flood is refused before any cryptography is done.
            let check = NTSServer.check(request: request, packet: packet, configuration: nts)
            if let reason = Self.apply(check, kind: &kind, trailer: &trailer, requestLength: request.count, configuration: nts) {
                return .drop(reason)
            }
        }

        let reply = answer(to: packet.header, kind: kind, receivedAt: receivedAt, state: state, earlier: earlier)
        return .reply(ServerReply(
            header: reply.header, trailer: trailer, kind: kind, requestLength: request.count, interleaving: reply.interleaving))
    }

    /// Phase 3 for a request that ``admitHeader(request:from:)`` admitted as ``HeaderAdmission/nts(_:)``:
    /// the decision `respond(to:request:...)` takes for it, with its NTS fields read in place from `request`
    /// (no `NTPPacket`). ServerRulesTests checks that the two agree.
    public func respond(
        toNTS header: NTPHeader,
        request: UnsafeRawBufferPointer,
        rateLimit: RateLimitVerdict?,
        receivedAt: NTPTimestamp,
        state: ServerState,
        earlier: (timestamp: NTPTimestamp, source: TransmitTimestampSource)? = nil
    ) -> ServerDecision {
        var slot = NTSRequest()
        switch respond(
            toNTS: header, request: request, rateLimit: rateLimit, receivedAt: receivedAt, state: state, earlier: earlier,
            keeping: &slot, ciphers: nil)
        {
        case .drop(let reason):
            return .drop(reason)
        case .decided(let decision):
            return decision
        case .sealed(let reply, let cookies):
            return .reply(ServerReply(
                header: reply.header, trailer: .nts(slot, cookies: cookies), kind: reply.kind, requestLength: request.count,
                interleaving: reply.interleaving))
        }
    }

    /// ``respond(toNTS:request:rateLimit:receivedAt:state:earlier:)`` with an authenticated request kept in
    /// `slot` (the caller's, reused) instead of inside the decision: the answer is then a `HeaderReply` and a
    /// cookie count, which a receive loop keeps without copying the request's keys from enum to enum (issue
    /// 18, callgrind: about a twentieth of the instructions per NTS response). The request is opened with its
    /// C2S key's cipher from `ciphers` (the receive loop's, kept for the client's next request). Written with
    /// ``ServerReply/writeNTS(_:request:cookies:requestLength:transmit:to:nts:random:ciphers:)``.
    public func respond(
        toNTS header: NTPHeader,
        request: UnsafeRawBufferPointer,
        rateLimit: RateLimitVerdict?,
        receivedAt: NTPTimestamp,
        state: ServerState,
        earlier: (timestamp: NTPTimestamp, source: TransmitTimestampSource)? = nil,
        keeping slot: inout NTSRequest,
        ciphers: NTSKeyCipherCache?
    ) -> NTSAnswer {
        guard var kind = Self.kind(after: rateLimit) else { return .drop(.rateLimited) }
        var trailer = ServerReply.Trailer.none
        if let nts {
            let check = NTSServer.check(request: request, header: header, configuration: nts, into: &slot, ciphers: ciphers)
            if case .valid = check {
                // A RATE kiss for an NTS client travels authenticated, as in `apply`.
                let cookies = NTSServer.freshCookieCount(for: slot, requestLength: request.count, configuration: nts)
                return .sealed(answer(to: header, kind: kind, receivedAt: receivedAt, state: state, earlier: earlier), cookies: cookies)
            }
            // NAKs and drops (rare) as the packet path decides them.
            if let reason = Self.apply(
                check.check(request: request, keeping: slot), kind: &kind, trailer: &trailer, requestLength: request.count, configuration: nts)
            {
                return .drop(reason)
            }
        }
        let reply = answer(to: header, kind: kind, receivedAt: receivedAt, state: state, earlier: earlier)
        return .decided(.reply(ServerReply(
            header: reply.header, trailer: trailer, kind: kind, requestLength: request.count, interleaving: reply.interleaving)))
    }

    /// What ``respond(toNTS:request:rateLimit:receivedAt:state:earlier:keeping:)`` decides.
    public enum NTSAnswer: Sendable {
        case drop(ServerDropReason)
        /// Authenticated (RFC 8915 §5.7): `reply` with `cookies` fresh cookies, sealed with the request in the slot.
        case sealed(HeaderReply, cookies: Int)
        /// Any other answer (an NTS NAK), whole.
        case decided(ServerDecision)
    }

    /// The kind of answer a rate-limit verdict leaves (RFC 5905 §7.4: a RATE kiss, or none at all); nil when
    /// the request gets no answer. One place for the three phase-3 entry points.
    @inline(__always)
    private static func kind(after rateLimit: RateLimitVerdict?) -> ServerReply.Kind? {
        switch rateLimit {
        case nil, .respond?: return .time
        case .drop?: return nil
        case .kissOfDeath?: return .kissOfDeath(.rate)
        }
    }

    /// What an NTS check makes of the response (RFC 8915 §5.7): its kind and trailer, or why it is dropped.
    private static func apply(
        _ check: NTSServerCheck, kind: inout ServerReply.Kind, trailer: inout ServerReply.Trailer, requestLength: Int,
        configuration nts: NTSServerConfiguration
    ) -> ServerDropReason? {
        switch check {
        case .notNTS:
            return nil
        case .invalid:
            return .ntsInvalid
        case .nak(let uniqueIdentifier):
            // One kiss code per response: when RATE was due as well, send nothing (as chrony does).
            if case .kissOfDeath = kind { return .rateLimited }
            kind = .kissOfDeath(.ntsNak)
            trailer = .ntsNAK(uniqueIdentifier: uniqueIdentifier, authenticationFailed: false)
        case .authenticationFailed(let uniqueIdentifier):
            // RFC 8915 §5.7: a request that cannot be authenticated SHOULD get a NAK too (chrony does).
            if case .kissOfDeath = kind { return .rateLimited }
            kind = .kissOfDeath(.ntsNak)
            trailer = .ntsNAK(uniqueIdentifier: uniqueIdentifier, authenticationFailed: true)
        case .valid(let ntsRequest):
            // A RATE kiss for an NTS client travels authenticated.
            let cookies = NTSServer.freshCookieCount(for: ntsRequest, requestLength: requestLength, configuration: nts)
            trailer = .nts(ntsRequest, cookies: cookies)
        }
        return nil
    }

    /// Phase 3 for a request that is its header alone (no extension field, no MAC: a plain client request,
    /// which `admit` returns as an `NTPPacket` with neither): the answer `respond` gives it, as a
    /// ``HeaderReply`` that a receive loop keeps without runtime calls per copy. nil: no answer, rate limited
    /// (``ServerDropReason/rateLimited``). ServerRulesTests checks that the two agree.
    public func respond(
        toHeader header: NTPHeader,
        rateLimit: RateLimitVerdict?,
        receivedAt: NTPTimestamp,
        state: ServerState,
        earlier: (timestamp: NTPTimestamp, source: TransmitTimestampSource)? = nil
    ) -> HeaderReply? {
        guard let kind = Self.kind(after: rateLimit) else { return nil }
        return answer(to: header, kind: kind, receivedAt: receivedAt, state: state, earlier: earlier)
    }

    /// The response's header and interleaving once kind and trailer are decided.
    private func answer(
        to request: NTPHeader, kind: ServerReply.Kind, receivedAt: NTPTimestamp, state: ServerState,
        earlier: (timestamp: NTPTimestamp, source: TransmitTimestampSource)?
    ) -> HeaderReply {
        // RFC 9769 §2 as chrony answers it: only a normal time response (no kiss, no NAK) is interleaved.
        var interleaving: ServerReply.Interleaving?
        if policy.interleaved, case .time = kind, let origin = Self.interleavedOrigin(of: request) {
            interleaving = ServerReply.Interleaving(earlierReceive: origin, earlierTransmit: earlier?.timestamp, earlierSource: earlier?.source)
        }
        let header = Self.responseHeader(
            to: request, receivedAt: receivedAt, state: state, kind: kind, interleaved: interleaving?.earlierTransmit != nil)
        return HeaderReply(header: header, kind: kind, interleaving: interleaving)
    }

    /// The receive timestamp of ours that a request names as its origin when it is in the interleaved form
    /// (RFC 9769 §2), by chrony's test: NTPv4, an origin with its lowest bit set (every receive timestamp we
    /// send has it, see ``responseHeader(to:receivedAt:state:kind:interleaved:)``: a client's own transmit
    /// timestamp or zero seldom does, and those requests are not looked up or saved at all), and receive and
    /// transmit timestamps that differ. nil for a basic request.
    public static func interleavedOrigin(of request: NTPHeader) -> NTPTimestamp? {
        guard request.version == 4, request.originTimestamp.rawValue & 1 == 1,
              request.receiveTimestamp != request.transmitTimestamp
        else { return nil }
        return request.originTimestamp
    }

    /// The response header for a client request (RFC 5905 §9.2 fast_xmit / §7.3 field semantics).
    /// In interleaved mode (RFC 9769 §2) the origin is the request's receive timestamp, which tells the client
    /// that the transmit timestamp belongs to its previous exchange. Our receive timestamp has its lowest bit
    /// set (a quarter of a nanosecond), as chrony's: it marks a client's origin as one of ours.
    public static func responseHeader(
        to request: NTPHeader, receivedAt: NTPTimestamp, state: ServerState, kind: ServerReply.Kind, interleaved: Bool = false
    ) -> NTPHeader {
        var leap = state.leap
        var stratum = state.stratum
        var referenceID = state.referenceID
        if !state.isSynchronized {
            // RFC 5905 §7.3: unsynchronised is leap 3; stratum 16 travels as 0.
            leap = .unsynchronized
            stratum = 0
        }
        if case .kissOfDeath(let code) = kind {
            // RFC 5905 §7.4: a kiss is stratum 0 with the code in the reference id.
            leap = .unsynchronized
            stratum = 0
            referenceID = code
        }
        return NTPHeader(
            leap: leap,
            version: request.version,
            mode: .server,
            stratum: stratum,
            poll: request.poll,
            precision: state.precision,
            rootDelay: NTPShort(seconds: state.rootDelay),
            rootDispersion: NTPShort(seconds: state.rootDispersion(at: receivedAt)),
            referenceID: referenceID,
            referenceTimestamp: state.referenceTime,
            // The client's transmit timestamp, unchanged: chrony clients send random ones and match on them.
            originTimestamp: interleaved ? request.receiveTimestamp : request.transmitTimestamp,
            receiveTimestamp: NTPTimestamp(rawValue: receivedAt.rawValue | 1),
            transmitTimestamp: .zero)
    }
}

/// The server rules with their own rate limiter, one datagram at a time: what tests, the fuzzer and
/// single-threaded callers use. The node's receive loops run the same phases with a shared limiter.
public struct NTPServerCore: Sendable {
    public private(set) var rules: NTPServerRules
    private var limiter: RateLimiter
    /// The responses kept for interleaved mode.
    public private(set) var timestamps: ServerTimestampTable

    public init(
        policy: ServerPolicy, rateLimitCapacity: Int = 65_536, nts: NTSServerConfiguration? = nil,
        symmetric: SymmetricServerConfiguration? = nil, timestampCapacity: Int = 65_536, timestampSeed: UInt64? = nil
    ) {
        self.rules = NTPServerRules(policy: policy, nts: nts, symmetric: symmetric)
        self.limiter = RateLimiter(policy: policy.rateLimit ?? .chronyDefault, capacity: rateLimitCapacity)
        self.timestamps = ServerTimestampTable(capacity: timestampCapacity, hashSeed: timestampSeed)
    }

    public var policy: ServerPolicy { rules.policy }

    public var nts: NTSServerConfiguration? {
        get { rules.nts }
        set { rules.nts = newValue }
    }

    public var symmetric: SymmetricServerConfiguration? {
        get { rules.symmetric }
        set { rules.symmetric = newValue }
    }

    /// Applies a reloaded policy; clients' rate-limit records are kept.
    public mutating func update(policy: ServerPolicy) {
        rules.policy = policy
        if let rateLimit = policy.rateLimit { limiter.policy = rateLimit }
    }

    /// The clients that asked most (for status), from the rate limiter's table.
    public func busiestClients(limit: Int) -> [ClientActivity] {
        limiter.busiestClients(limit: limit)
    }

    /// Decides what to do with one datagram: `admit`, the rate limit, `respond`.
    /// - Parameter monotonicNow: nanoseconds of a monotonic clock, for the rate limiter.
    public mutating func handle(
        request: UnsafeRawBufferPointer,
        from source: IPAddress,
        receivedAt: NTPTimestamp,
        monotonicNow: UInt64,
        state: ServerState,
        random: inout some RandomNumberGenerator
    ) -> ServerDecision {
        switch rules.admit(request: request, from: source) {
        case .drop(let reason):
            return .drop(reason)
        case .admitted(let packet):
            let verdict = rules.policy.rateLimit == nil ? nil : limiter.check(source, now: monotonicNow, using: &random)
            let earlier = rules.policy.interleaved ? timestamps.earlier(for: packet.header, from: source) : nil
            return rules.respond(
                to: packet, request: request, rateLimit: verdict, receivedAt: receivedAt, state: state, client: source,
                earlier: earlier, random: &random)
        }
    }

    /// Tells the core that `reply` left for `client` with `transmit` as the daemon's transmit timestamp (read
    /// just before the send): kept for the client's next interleaved request when it asked for that.
    public mutating func sent(_ reply: ServerReply, to client: IPAddress, transmit: NTPTimestamp, random: inout some RandomNumberGenerator) {
        timestamps.sent(reply, to: client, transmit: transmit, using: &random)
    }

    /// The kernel's (or the card's) transmit timestamp of the response that carried `receive` to `client`.
    @discardableResult
    public mutating func transmitted(
        to client: IPAddress, receive: NTPTimestamp, at transmit: NTPTimestamp, source: TransmitTimestampSource = .kernel
    ) -> Bool {
        timestamps.update(client: client, receive: receive, transmit: transmit, source: source)
    }
}
