/// Why the server did not answer a datagram. Every received datagram ends either answered or counted under
/// exactly one of these reasons, so the counters always add up.
public enum ServerDropReason: String, Sendable, CaseIterable, Hashable {
    /// Shorter than a header, cut by the receive buffer, bad length, bad extension fields or MAC layout.
    case malformed
    /// Version 0 or above 4.
    case unsupportedVersion
    /// Mode 6 or 7 (control and private queries): never answered, they are the classic amplification vector.
    case controlQuery
    /// Any other mode than a client request (symmetric modes arrive with peering).
    case unexpectedMode
    /// Refused by the access list.
    case denied
    /// Over the client's rate limit, and neither the leak nor a Kiss-o'-Death let it through.
    case rateLimited
    /// NTS extension fields present but unusable (RFC 8915 §5.7): no or short Unique Identifier, not exactly
    /// one cookie or authenticator, the authenticator not last.
    case ntsInvalid
    /// A MAC under a key this server does not hold, or one that does not verify (a crypto-NAK-shaped MAC
    /// included). Dropped without an answer, as chrony 4.3 does (ntp_core.c answers a failed authentication
    /// only with an NTS NAK): a crypto-NAK would tell an attacker which key ids exist and costs a reply.
    case authenticationFailed
    /// Waited in the socket's queue longer than the policy's bound (``ServerPolicy/maximumQueueDelay``)
    /// between its kernel receive timestamp and the server reading it: under overload an answer that late
    /// would reach the client after its next request or with a useless delay, so none is sent (load shed).
    case tooOld
}
