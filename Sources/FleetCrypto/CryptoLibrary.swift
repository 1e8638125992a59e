import CFleetCrypto

/// The library AES-SIV and AES-CMAC run on, for `fleetnode version`.
public enum CryptoLibrary {
    /// "Nettle 3.8": the linked GNU Nettle's version.
    public static var version: String {
        var major: Int32 = 0, minor: Int32 = 0
        cfc_nettle_version(&major, &minor)
        return "Nettle \(major).\(minor)"
    }
}
