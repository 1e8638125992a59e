import FleetCrypto
import NTPCore
import NTSKECore

/// The site's keys, fixed: two master keys (cookies sealed under the newer one) and the real AEADs.
private let ciphers = NettleCipherFactory()
private let cookieKeys = CookieKeyProvider(
    keySet: try! CookieKeySet(keys: [
        CookieKey(id: 7, key: [UInt8](repeating: 0x17, count: CookieKey.keyLength), createdAt: 0),
        CookieKey(id: 8, key: [UInt8](repeating: 0x42, count: CookieKey.keyLength), createdAt: 1),
    ]),
    ciphers: ciphers)
/// A policy that sends every kind of record a success response can hold (Server and Port included).
private let policy = NTSKEServerPolicy(supportedAEAD: ciphers.supportedAlgorithms, ntpServer: "ntp.example.net", ntpPort: 11123)
private let responder = NTSKEResponder(policy: policy, cookieKeys: cookieKeys)

/// One libFuzzer input: the bytes of an NTS-KE request as the server decrypts them (RFC 8915 §4). Frames it
/// at the server's limit, then runs the responder with a fake TLS exporter. Checks:
/// - nothing traps; framing fails only with ``NTSKEMessageError`` and validation only with ``NTSKEError``
///   (typed throws), and either is answered with an Error record;
/// - every response is well-formed records ending in its only End of Message (§4.1.1), framed back to the same
///   records, and what a client makes of it (``NTSKEResponse``) matches the outcome: keys established with
///   `cookieCount` cookies that open under the site's keys to the exported keys, no common algorithm, or the
///   server's error code;
/// - a request that validates rebuilds (``NTSKERequest/records()``) to the same request.
public func fuzzNTSKERequest(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: count))

    switch Result(catching: { () throws(NTSKEMessageError) in try NTSKEMessageReader.parse(bytes, maximumMessageLength: 4096) }) {
    case .failure(let error):
        // What the server sends when a request cannot be framed (§4.1.3: Bad Request).
        let failure = NTSKEError(error)
        check(failure.records, answers: nil, outcome: .rejected(failure))
    case .success(let records):
        let request = try? NTSKERequest(parsing: records)
        if let request {
            precondition((try? NTSKERequest(parsing: request.records())) == request, "a valid request did not rebuild to itself")
        }
        // A fake exporter: keying material from the context, or a failure for one input in five.
        let exportFails = count % 5 == 4
        var exported: [[UInt8]: [UInt8]] = [:]
        var random = SeededRandom(seed: UInt64(count))
        let (reply, outcome) = responder.respond(to: records, export: { context, length in
            guard !exportFails else { return nil }
            let material = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(context.last ?? 0) &+ count) }
            exported[context] = material
            return material
        }, random: &random)
        check(reply, answers: request, outcome: outcome, exported: exported)
    }
    return 0
}

/// The invariants of one response; `request` is the validated request, if it was valid.
private func check(_ response: [NTSKERecord], answers request: NTSKERequest?, outcome: NTSKEResponder.Outcome, exported: [[UInt8]: [UInt8]] = [:]) {
    let endOfMessage = NTSKERecordType.endOfMessage.rawValue
    precondition(response.last == .endOfMessage(), "a response not ending in End of Message")
    precondition(response.dropLast().allSatisfy { $0.type != endOfMessage }, "End of Message before the end of a response")
    let wire = response.encoded()
    precondition((try? NTSKEMessageReader.parse(wire)) == response, "a response that does not frame back to itself")

    let offered = request?.aeadAlgorithms ?? []
    let client = Result { () throws(NTSKEResponseError) in try NTSKEResponse(parsing: response, offered: offered) }
    switch outcome {
    case .keysEstablished(let aead, let cookies):
        guard case .success(let parsed) = client else { preconditionFailure("keys established but the client refuses: \(client)") }
        precondition(request?.offersNTPv4 == true, "keys established for a request without NTPv4")
        precondition(parsed.aeadAlgorithm == aead && offered.contains(aead), "the chosen AEAD was not offered")
        precondition(cookies == policy.cookieCount && parsed.cookies.count == cookies, "not the policy's cookie count")
        precondition(parsed.server == policy.ntpServer && parsed.port == policy.ntpPort, "Server or Port lost")
        let keys = NTSKeys(
            algorithm: aead,
            clientToServer: exported[NTSKEExporter.clientToServerContext(aead: aead)] ?? [],
            serverToClient: exported[NTSKEExporter.serverToClientContext(aead: aead)] ?? [])
        for cookie in parsed.cookies {
            let opened = NTSCookie.open(cookie, keySet: cookieKeys.current!.keySet, ciphers: ciphers)
            precondition(opened == keys, "a cookie that does not open to the exported keys")
        }
    case .noCommonAlgorithm:
        switch client {
        case .failure(.noCommonProtocol), .failure(.noCommonAEAD): break
        default: preconditionFailure("no common algorithm, but the client reads \(client)")
        }
    case .rejected(let error):
        precondition(response == [.error(error.code), .endOfMessage()], "a rejection that is not Error + End of Message")
        precondition(client == .failure(.serverError(error.code.rawValue)), "the client does not read the error code")
    case .exportFailed:
        precondition(response == [.error(.internalServerError), .endOfMessage()], "export failure not answered with error 2")
    }
}
