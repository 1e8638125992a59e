/// The admin API's paths (version 1). Versioned so a later incompatible body gets /v2 beside these.
public enum AdminPath {
    // Reads (GET).
    public static let tracking = "/v1/tracking"
    public static let sources = "/v1/sources"
    public static let sourceStats = "/v1/sourcestats"
    public static let serverStats = "/v1/serverstats"
    public static let clients = "/v1/clients"
    public static let gps = "/v1/gps"
    public static let keys = "/v1/keys"
    public static let certificates = "/v1/certificates"
    public static let health = "/v1/health"
    /// Health, tracking, sources, keys and certificates at once (`AdminOverview`), for fleet sweeps.
    public static let overview = "/v1/overview"
    /// The clock's stored updates over a time range (`AdminHistory`), for the site report's plots.
    public static let history = "/v1/history"

    // Writes.
    /// PUT `CertificateInstallRequest`: validate, persist and swap in the NTS-KE certificate.
    public static let ntsCertificate = "/v1/certificates/nts"
    /// POST `CookieKeyStageRequest` / `CookieKeyRequest`: NTS cookie master keys.
    public static let cookieKeyStage = "/v1/keys/cookie/stage"
    public static let cookieKeyActivate = "/v1/keys/cookie/activate"
    public static let cookieKeyRetire = "/v1/keys/cookie/retire"
    /// POST, empty body: what SIGHUP does.
    public static let configReload = "/v1/config/reload"
    /// POST `SymmetricKeyChangeRequest`: the siblings' symmetric (NTP MAC) keys. Stage a key on every node
    /// (accepted, not sent), activate it (sent), retire the old one (no longer accepted).
    public static let symmetricKeyStage = "/v1/keys/symmetric/stage"
    public static let symmetricKeyActivate = "/v1/keys/symmetric/activate"
    public static let symmetricKeyRetire = "/v1/keys/symmetric/retire"
}
