/// The server rules of RFC 5905 for client requests, with access control and rate limiting, free of I/O:
/// the receive time, a monotonic time for the rate limiter, the node's published state and a random source
/// are passed in, and a decision comes out. Every rule is therefore a unit test and a fuzz target.
///
/// One instance is shared by the receive loops of a listener (behind a lock) so a client's rate-limit record
/// is the same whichever `SO_REUSEPORT` socket its datagrams land on.
public struct NTPServerCore: Sendable {
    public private(set) var policy: ServerPolicy
    private var limiter: RateLimiter
    /// NTS (RFC 8915): the site's cookie master keys and the AEADs; nil when the node serves no NTS.
    public var nts: NTSServerConfiguration?

    public init(policy: ServerPolicy, rateLimitCapacity: Int = 65_536, nts: NTSServerConfiguration? = nil) {
        self.policy = policy
        self.limiter = RateLimiter(policy: policy.rateLimit ?? .chronyDefault, capacity: rateLimitCapacity)
        self.nts = nts
    }

    /// Applies a reloaded policy; clients' rate-limit records are kept.
    public mutating func update(policy: ServerPolicy) {
        self.policy = policy
        if let rateLimit = policy.rateLimit { limiter.policy = rateLimit }
    }

    /// The clients that asked most (for status), from the rate limiter's table.
    public func busiestClients(limit: Int) -> [ClientActivity] {
        limiter.busiestClients(limit: limit)
    }

    /// Decides what to do with one datagram.
    /// - Parameters:
    ///   - request: the datagram as received.
    ///   - source: the sender's address.
    ///   - receivedAt: the receive timestamp (T2) on the node's served timescale.
    ///   - monotonicNow: nanoseconds of a monotonic clock, for the rate limiter.
    ///   - state: what the node tells clients now.
    public mutating func handle(
        request: UnsafeRawBufferPointer,
        from source: IPAddress,
        receivedAt: NTPTimestamp,
        monotonicNow: UInt64,
        state: ServerState,
        random: inout some RandomNumberGenerator
    ) -> ServerDecision {
        // Access first, as chrony does: a denied client learns nothing, not even whether its packet parsed.
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

        var kind = ServerReply.Kind.time
        if policy.rateLimit != nil {
            switch limiter.check(source, now: monotonicNow, using: &random) {
            case .respond: break
            case .drop: return .drop(.rateLimited)
            case .kissOfDeath: kind = .kissOfDeath(.rate)
            }
        }

        var trailer: ServerReply.Trailer
        // RFC 5905 §7.5: a request authenticated with a key this server does not hold gets a crypto-NAK.
        // (Symmetric keys arrive with sibling peering; until then no key is known.)
        if let mac = packet.mac, !mac.isCryptoNAK {
            trailer = .cryptoNAK
        } else {
            trailer = .none
        }

        // RFC 8915 §5.7. Rate limiting came first: a flood is refused before any cryptography is done.
        if let nts, packet.extensionFields.contains(where: { NTSExtensionType.isNTS($0.type) }) {
            switch NTSServer.check(request: request, packet: packet, configuration: nts) {
            case .notNTS:
                break
            case .invalid:
                return .drop(.ntsInvalid)
            case .nak(let uniqueIdentifier):
                // One kiss code per response: when RATE was due as well, send nothing (as chrony does).
                if case .kissOfDeath = kind { return .drop(.rateLimited) }
                kind = .kissOfDeath(.ntsNak)
                trailer = .ntsNAK(uniqueIdentifier: uniqueIdentifier, authenticationFailed: false)
            case .authenticationFailed(let uniqueIdentifier):
                // RFC 8915 §5.7: a request that cannot be authenticated SHOULD get a NAK too (chrony does).
                if case .kissOfDeath = kind { return .drop(.rateLimited) }
                kind = .kissOfDeath(.ntsNak)
                trailer = .ntsNAK(uniqueIdentifier: uniqueIdentifier, authenticationFailed: true)
            case .valid(let ntsRequest):
                // A RATE kiss for an NTS client travels authenticated.
                let cookies = NTSServer.freshCookies(
                    for: ntsRequest, requestLength: request.count, configuration: nts, using: &random)
                trailer = .nts(ntsRequest, cookies: cookies)
            }
        }

        let header = Self.responseHeader(to: packet.header, receivedAt: receivedAt, state: state, kind: kind)
        return .reply(ServerReply(header: header, trailer: trailer, kind: kind, requestLength: request.count))
    }

    /// The response header for a client request (RFC 5905 §9.2 fast_xmit / §7.3 field semantics).
    public static func responseHeader(
        to request: NTPHeader, receivedAt: NTPTimestamp, state: ServerState, kind: ServerReply.Kind
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
            originTimestamp: request.transmitTimestamp,
            receiveTimestamp: receivedAt,
            transmitTimestamp: .zero)
    }
}
