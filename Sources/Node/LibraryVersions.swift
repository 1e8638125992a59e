import CGPS
import FleetCrypto
import NodeModels
import NTSKE

/// The versions of the system libraries the node is linked with, for `fleetnode version`.
public struct LibraryVersions: Sendable {
    public var openSSL: String
    /// AES-SIV and AES-CMAC (GNU Nettle).
    public var crypto: String
    public var gpsdAPI: String
    public var sqlite: String

    public static func current() -> LibraryVersions {
        LibraryVersions(
            openSSL: TLSLibrary.version,
            crypto: CryptoLibrary.version,
            gpsdAPI: "\(GPSD_API_MAJOR_VERSION).\(GPSD_API_MINOR_VERSION)",
            sqlite: (try? StoreLibrary.sqliteVersion()) ?? "unavailable")
    }
}
