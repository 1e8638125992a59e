import NetworkEdges
import NodeModels
import NIOCore
import NTPCore

/// An NTS-protected NTP client for one server (RFC 8915): NTS-KE when it has no cookies, then authenticated
/// exchanges, each spending one cookie and asking for a refill; an NTS NAK or an empty jar means NTS-KE
/// again. Upstream NTS sources and fleet probes use it; `fleetctl query --nts` shows it.
public actor NTSTimeClient {
    public struct Configuration: Sendable {
        public var host: String
        public var kePort: UInt16
        /// The name the certificate must carry (defaults to `host`).
        public var serverName: String?
        public var trust: TLSContext
        public var ciphers: any AEADCipherFactory
        public var timeoutMilliseconds: Int32

        public init(host: String, kePort: UInt16 = 4460, serverName: String? = nil, trust: TLSContext,
                    ciphers: any AEADCipherFactory, timeoutMilliseconds: Int32 = 2000) {
            self.host = host
            self.kePort = kePort
            self.serverName = serverName
            self.trust = trust
            self.ciphers = ciphers
            self.timeoutMilliseconds = timeoutMilliseconds
        }
    }

    /// One authenticated measurement.
    public struct Result: Sendable {
        public var measurement: NTPMeasurement
        /// Where NTP was sent (from the NTS-KE negotiation).
        public var server: SocketEndpoint
        /// True when this query had to run NTS-KE first.
        public var ranKeyEstablishment: Bool
        public var cookiesLeft: Int
        public var aead: UInt16
    }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        case rejected(String)
        case nakAfterRekey
        public var description: String {
            switch self {
            case .rejected(let why): return "response rejected: \(why)"
            case .nakAfterRekey: return "the server answered NTS NAK even with fresh cookies"
            }
        }
    }

    public let configuration: Configuration
    private var jar: NTSCookieJar?
    private var ntpServer: SocketEndpoint?

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    public var cookiesLeft: Int { jar?.cookies.count ?? 0 }

    /// Forgets keys and cookies (the next query runs NTS-KE).
    public func reset() { jar = nil }

    public func query() async throws -> Result {
        var rekeyed = false
        if jar?.isEmpty ?? true {
            try await establish()
            rekeyed = true
        }
        do {
            return try exchange(rekeyed: rekeyed)
        } catch NTSClientOutcome.nak {
            guard !rekeyed else { throw Failure.nakAfterRekey }
            try await establish()
            do {
                return try exchange(rekeyed: true)
            } catch NTSClientOutcome.nak {
                throw Failure.nakAfterRekey
            }
        }
    }

    private func establish() async throws {
        let result = try await NTSKEClient.establish(
            host: configuration.host, port: configuration.kePort, serverName: configuration.serverName,
            trust: configuration.trust, ciphers: configuration.ciphers,
            timeout: .milliseconds(Int64(configuration.timeoutMilliseconds)))
        jar = NTSCookieJar(keys: result.keys, cookies: result.cookies)
        // RFC 8915 §4.1.7/4.1.8: NTP goes to the negotiated server and port, else the NTS-KE host on 123.
        ntpServer = SocketEndpoint(host: result.ntpServer ?? configuration.host, port: result.ntpPort ?? 123)
    }

    private enum NTSClientOutcome: Error { case nak }

    private func exchange(rekeyed: Bool) throws -> Result {
        guard var jar, let server = ntpServer, let (cookie, placeholders) = jar.take() else {
            throw Failure.rejected("no cookies")
        }
        self.jar = jar  // the cookie is spent whatever happens next
        switch try Self.exchange(
            cookie: cookie, placeholders: placeholders, keys: jar.keys, server: server, ciphers: configuration.ciphers,
            timeoutMilliseconds: configuration.timeoutMilliseconds)
        {
        case .authenticated(let measurement, let cookies):
            jar.add(cookies)
            self.jar = jar
            return Result(measurement: measurement, server: server, ranKeyEstablishment: rekeyed, cookiesLeft: jar.cookies.count, aead: jar.keys.algorithm)
        case .nak:
            self.jar = nil
            throw NTSClientOutcome.nak
        case .rejected(let why):
            throw Failure.rejected(why)
        }
    }

    /// What one NTS-protected exchange came to.
    public enum ExchangeOutcome: Sendable {
        /// An authenticated response (RFC 8915 §5.7), its measurement and the fresh cookies it carried.
        case authenticated(NTPMeasurement, cookies: [[UInt8]])
        /// NTS NAK: the server could not open the cookie (RFC 8915 §5.7).
        case nak
        case rejected(String)
    }

    /// One NTS-protected exchange with `server`, spending `cookie` under `keys`. A fleet probe also presents
    /// one node's cookie to another node this way, to prove the site's cookie keys are in step. Throws
    /// `NTPQueryClient.Failure` when nothing answers.
    public static func exchange(
        cookie: [UInt8], placeholders: Int = 0, keys: NTSKeys, server: SocketEndpoint, ciphers: any AEADCipherFactory,
        timeoutMilliseconds: Int32
    ) throws -> ExchangeOutcome {
        var random = SystemRandomNumberGenerator()
        let transmit = NTPTimestamp(rawValue: random.next())
        let (packet, uniqueIdentifier) = NTSClientRequest.build(
            header: ClientExchange.request(transmit: transmit), cookie: cookie, placeholders: placeholders,
            keys: keys, ciphers: ciphers, using: &random)
        let client = NTPQueryClient(server: server, timeoutMilliseconds: timeoutMilliseconds)
        let exchange = try client.exchange(packet) { response in
            (try? NTPHeader(parsing: response))?.originTimestamp == transmit
        }
        switch NTSClient.verify(response: exchange.response, uniqueIdentifier: uniqueIdentifier, keys: keys, ciphers: ciphers) {
        case .authenticated(let cookies):
            do {
                let measurement = try ClientExchange.measure(
                    response: exchange.response, sentTransmit: transmit, t1: exchange.t1, t4: exchange.t4, localPrecision: 1e-6)
                return .authenticated(measurement, cookies: cookies)
            } catch {
                return .rejected("\(error)")
            }
        case .nak:
            return .nak
        case .rejected(let why):
            return .rejected(why)
        }
    }
}
