import NTSKECore

/// What the client offered: AEAD_AES_SIV_CMAC_256 and AEAD_AES_128_GCM_SIV, NTPv4.
private let offered: [UInt16] = [NTSKEAEADAlgorithm.aesSIVCMAC256.rawValue, NTSKEAEADAlgorithm.aes128GCMSIV.rawValue]

/// One libFuzzer input: the bytes of an NTS-KE response as the client decrypts them (RFC 8915 §4), framed at
/// the client's limit and validated twice (no warning codes recognised, as RFC 8915 defines none, and two
/// private ones recognised). Checks:
/// - nothing traps; framing fails only with ``NTSKEMessageError`` and validation only with
///   ``NTSKEResponseError`` (typed throws);
/// - an accepted response holds what a client may use: NTPv4, one offered AEAD, at least one non-empty cookie,
///   a valid server name if any (§4.1.2, §4.1.5-§4.1.7), only recognised warnings (§4.1.4);
/// - the server's own builder, given what was accepted, makes a response the client reads the same way.
public func fuzzNTSKEResponse(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: count))
    guard case .success(let records) = Result(catching: { () throws(NTSKEMessageError) in
        try NTSKEMessageReader.parse(bytes, maximumMessageLength: NTSKEConstants.recommendedResponseLimit)
    }) else { return 0 }

    for recognized: Set<UInt16> in [[], [0x4000, 0x7FFF]] {
        let result = Result { () throws(NTSKEResponseError) in
            try NTSKEResponse(parsing: records, offered: offered, recognizedWarnings: recognized)
        }
        guard case .success(let response) = result else { continue }
        precondition(response.nextProtocol == NTSKENextProtocol.ntpv4, "a protocol other than NTPv4")
        precondition(offered.contains(response.aeadAlgorithm), "an AEAD that was not offered")
        precondition(!response.cookies.isEmpty && response.cookies.allSatisfy { !$0.isEmpty }, "no cookie, or an empty one")
        precondition(response.server.map(NTSKERecord.isValidServerName) ?? true, "an invalid server name")
        precondition(response.warnings.allSatisfy(recognized.contains), "an unrecognised warning accepted")

        let policy = NTSKEServerPolicy(
            supportedAEAD: [response.aeadAlgorithm], cookieCount: response.cookies.count, ntpServer: response.server,
            ntpPort: response.port)
        let rebuilt = NTSKENegotiation.responseRecords(
            agreement: .ntpv4(aead: response.aeadAlgorithm), policy: policy, cookies: response.cookies)
        var expected = response
        expected.warnings = []
        expected.compliantAES128GCMSIVExporterContext = false
        let again = try? NTSKEResponse(parsing: rebuilt, offered: offered)
        precondition(again == expected, "the server's builder and the client's parser disagree")
    }
    return 0
}
