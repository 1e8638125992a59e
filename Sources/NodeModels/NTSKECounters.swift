/// What the NTS-KE server did, for status and metrics. Every refusal, eviction and deadline is counted by
/// kind (ISSUE 14: the connection budget). Decoded leniently: a counter a node does not send reads as 0, so
/// a newer fleetctl reads an older node's status.
public struct NTSKECounters: Codable, Sendable, Equatable {
    /// Connections accepted and given a TLS session.
    public var connections: UInt64 = 0
    /// Sessions that ended with keys established and cookies sent.
    public var keysEstablished: UInt64 = 0
    /// Valid requests with no protocol or AEAD in common.
    public var noCommonAlgorithm: UInt64 = 0
    /// Requests answered with an Error record (bad request, unknown critical record, internal error).
    public var errorResponses: UInt64 = 0
    /// TLS handshakes that failed (wrong ALPN, TLS 1.2, garbage, certificate problems on the client side).
    public var handshakeFailures: UInt64 = 0
    /// Connections closed at the deadline (`[nts] timeout` from accept to a complete request).
    public var timeouts: UInt64 = 0
    /// Of `timeouts`, those closed before their TLS handshake had completed.
    public var handshakeTimeouts: UInt64 = 0
    /// Connections refused at accept: every place held by a session being answered (none to evict).
    public var refusedOverLimit: UInt64 = 0
    /// Connections refused at accept: the source (IPv4 address, IPv6 /64) already held
    /// `max_connections_per_source` unfinished connections.
    public var refusedPerSource: UInt64 = 0
    /// Connections refused at accept: the source opened connections faster than its rate while the listener
    /// was under pressure (half its places taken).
    public var refusedConnectionRate: UInt64 = 0
    /// Connections refused at accept: the client opened sessions faster than `[nts.ratelimit]` allows.
    public var refusedRateLimited: UInt64 = 0
    /// Unfinished connections closed to make room for a newcomer (the oldest first).
    public var evicted: UInt64 = 0
    /// Accepts that failed for want of descriptors or memory (the listener then pauses for 1 s).
    public var acceptBackoffs: UInt64 = 0

    public init() {}

    /// Every connection refused at accept, whatever the reason.
    public var refused: UInt64 { refusedOverLimit + refusedPerSource + refusedConnectionRate + refusedRateLimited }

    private enum CodingKeys: String, CodingKey {
        case connections, keysEstablished, noCommonAlgorithm, errorResponses, handshakeFailures, timeouts,
            handshakeTimeouts, refusedOverLimit, refusedPerSource, refusedConnectionRate, refusedRateLimited, evicted,
            acceptBackoffs
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func value(_ key: CodingKeys) throws -> UInt64 { try container.decodeIfPresent(UInt64.self, forKey: key) ?? 0 }
        connections = try value(.connections)
        keysEstablished = try value(.keysEstablished)
        noCommonAlgorithm = try value(.noCommonAlgorithm)
        errorResponses = try value(.errorResponses)
        handshakeFailures = try value(.handshakeFailures)
        timeouts = try value(.timeouts)
        handshakeTimeouts = try value(.handshakeTimeouts)
        refusedOverLimit = try value(.refusedOverLimit)
        refusedPerSource = try value(.refusedPerSource)
        refusedConnectionRate = try value(.refusedConnectionRate)
        refusedRateLimited = try value(.refusedRateLimited)
        evicted = try value(.evicted)
        acceptBackoffs = try value(.acceptBackoffs)
    }
}
