/// The NTPv4 extension field types of NTS (RFC 8915 §5.3-§5.6, IANA "NTP Extension Field Types").
public enum NTSExtensionType {
    /// Unique Identifier (RFC 8915 §5.3): at least 32 random bytes, echoed by the server, for replay protection.
    public static let uniqueIdentifier: UInt16 = 0x0104
    /// NTS Cookie (RFC 8915 §5.4): one opaque server cookie; clear in requests, encrypted in responses.
    public static let cookie: UInt16 = 0x0204
    /// NTS Cookie Placeholder (RFC 8915 §5.5): asks for one more cookie; only its length matters.
    public static let cookiePlaceholder: UInt16 = 0x0304
    /// NTS Authenticator and Encrypted Extension Fields (RFC 8915 §5.6).
    public static let authenticator: UInt16 = 0x0404

    /// Whether `type` is one of the four NTS types.
    public static func isNTS(_ type: UInt16) -> Bool {
        type == uniqueIdentifier || type == cookie || type == cookiePlaceholder || type == authenticator
    }
}
