/// What a rotation changes across the fleet.
public enum RotationKind: String, Sendable, Codable, Equatable, CaseIterable {
    /// The siblings' symmetric NTP keys (RFC 8573 MACs between the nodes of a site).
    case symmetric
    /// A site's NTS cookie master key (RFC 8915 §6).
    case cookie
    /// The nodes' NTS-KE certificates.
    case certs

    public var title: String {
        switch self {
        case .symmetric: "sibling symmetric keys"
        case .cookie: "NTS cookie master keys"
        case .certs: "NTS-KE certificates"
        }
    }
}
