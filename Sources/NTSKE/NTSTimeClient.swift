import FleetCrypto
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
        /// Interleaved client mode (RFC 9769 §2, chrony's `xleave`): see ``InterleavedClient``.
        public var xleave: Bool

        public init(host: String, kePort: UInt16 = 4460, serverName: String? = nil, trust: TLSContext,
                    ciphers: any AEADCipherFactory, timeoutMilliseconds: Int32 = 2000, xleave: Bool = false) {
            self.xleave = xleave
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
    private var interleave: InterleavedClient

    public init(configuration: Configuration) {
        self.configuration = configuration
        interleave = InterleavedClient(enabled: configuration.xleave)
    }

    /// How the answers came (basic, interleaved, dropped): for status.
    public var interleaveStatistics: InterleavedClient.Statistics { interleave.statistics }

    public var cookiesLeft: Int { jar?.cookies.count ?? 0 }

    /// Forgets keys and cookies (the next query runs NTS-KE).
    public func reset() { jar = nil }

    /// One authenticated measurement. With `xleave`, an answer that gives no new sample (see
    /// ``InterleavedClient``) is reported as rejected; ``poll()`` tells it apart.
    public func query() async throws -> Result {
        guard let result = try await poll() else { throw Failure.rejected("the answer named an exchange already measured") }
        return result
    }

    /// One authenticated exchange: its measurement, or nil for a good answer without a new sample (an
    /// interleaved answer naming an exchange that a basic answer already measured).
    public func poll() async throws -> Result? {
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
        // Perhaps another server: nothing earlier to name.
        interleave.reset()
    }

    private enum NTSClientOutcome: Error { case nak }

    private func exchange(rekeyed: Bool) throws -> Result? {
        guard var jar, let server = ntpServer, let (cookie, placeholders) = jar.take() else {
            throw Failure.rejected("no cookies")
        }
        self.jar = jar  // the cookie is spent whatever happens next
        var interleave = self.interleave
        defer { self.interleave = interleave }
        switch try Self.exchange(
            cookie: cookie, placeholders: placeholders, keys: jar.keys, server: server, ciphers: configuration.ciphers,
            timeoutMilliseconds: configuration.timeoutMilliseconds, interleaved: &interleave)
        {
        case .authenticated(let measurement, let cookies):
            jar.add(cookies)
            self.jar = jar
            guard let measurement else { return nil }
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
        var basic = InterleavedClient(enabled: false)
        switch try exchange(
            cookie: cookie, placeholders: placeholders, keys: keys, server: server, ciphers: ciphers,
            timeoutMilliseconds: timeoutMilliseconds, interleaved: &basic)
        {
        case .authenticated(let measurement?, let cookies): return .authenticated(measurement, cookies: cookies)
        case .authenticated(nil, _): return .rejected("no sample")  // only interleaved answers give none
        case .nak: return .nak
        case .rejected(let why): return .rejected(why)
        }
    }

    /// What one NTS-protected exchange of a source in (possibly) interleaved mode came to.
    enum PollOutcome: Sendable {
        /// Authenticated; the measurement is nil for an answer that gives no new sample.
        case authenticated(NTPMeasurement?, cookies: [[UInt8]])
        case nak
        case rejected(String)
    }

    /// One NTS-protected exchange whose request `state` shapes (RFC 9769 §2 with RFC 8915 §5.7): the
    /// interleaved fields are in the header that the authenticator covers, each request has its own unique
    /// identifier, and an answer's origin must be one of the request's values (others are dropped and
    /// counted in `state`). With `state` enabled, T1 is the kernel's transmit timestamp.
    static func exchange(
        cookie: [UInt8], placeholders: Int, keys: NTSKeys, server: SocketEndpoint, ciphers: any AEADCipherFactory,
        timeoutMilliseconds: Int32, interleaved state: inout InterleavedClient
    ) throws -> PollOutcome {
        // The request's nonce and unique identifier (RFC 8915 §5.3, §5.6) come from OpenSSL's CSPRNG.
        var random = SecureRandomGenerator()
        let request = state.request(using: &random)
        let (packet, uniqueIdentifier) = NTSClientRequest.build(
            header: request.header, cookie: cookie, placeholders: placeholders,
            keys: keys, ciphers: ciphers, using: &random)
        let client = NTPQueryClient(server: server, timeoutMilliseconds: timeoutMilliseconds)
        let exchange = try client.exchange(packet, transmitStamp: state.enabled) { response in
            guard let header = try? NTPHeader(parsing: response) else { return false }
            if request.classify(origin: header.originTimestamp) == .foreign {
                state.droppedForeign()
                return false
            }
            return true
        }
        switch NTSClient.verify(response: exchange.response, uniqueIdentifier: uniqueIdentifier, keys: keys, ciphers: ciphers) {
        case .authenticated(let cookies):
            do {
                let measurement = try state.complete(
                    request, response: exchange.response, localTransmit: exchange.kernelTransmit ?? exchange.t1,
                    localReceive: exchange.t4, localPrecision: 1e-6)
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
