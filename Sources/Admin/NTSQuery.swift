import NodeModels
import FleetCrypto
import NTPCore
import NTSKE

/// `fleetctl query --nts`: NTS-KE with the server (certificate verified against `trustedCertificates`, or the
/// system store), then one NTS-authenticated NTP exchange.
public enum NTSQuery {
    public static func run(
        host: String, kePort: UInt16, serverName: String?, trustedCertificates: String?, timeoutMilliseconds: Int32
    ) async throws -> NTSTimeClient.Result {
        let trust = try TLSContext.client(trustedCertificates: trustedCertificates, alpn: NTSKEServer.alpn)
        let client = NTSTimeClient(configuration: .init(
            host: host, kePort: kePort, serverName: serverName, trust: trust, ciphers: NettleCipherFactory(),
            timeoutMilliseconds: timeoutMilliseconds))
        return try await client.query()
    }
}
