import Foundation
import NTPCore
import XCTest

// chrony's key file format (chrony.conf(5) `keyfile`, chrony 4.3 keys.c/cmdparse.c) and SymmetricKey.

/// Bytes from hex text (spaces ignored); a name of its own so it cannot clash with other test files.
private func keyBytes(_ text: String) -> [UInt8] {
    let digits = Array(text.utf8.filter { $0 != UInt8(ascii: " ") })
    func value(_ c: UInt8) -> UInt8 {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        default: c - UInt8(ascii: "A") + 10
        }
    }
    return stride(from: 0, to: digits.count, by: 2).map { value(digits[$0]) << 4 | value(digits[$0 + 1]) }
}

private func parse(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [SymmetricKey] {
    do {
        return try SymmetricKeyFile.parse(text)
    } catch {
        XCTFail("parse failed: \(error)", file: file, line: line)
        return []
    }
}

/// The error `text` gives, failing the test when it parses.
private func parseError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> SymmetricKeyFileError? {
    do {
        let keys = try SymmetricKeyFile.parse(text)
        XCTFail("parsed \(keys) instead of failing", file: file, line: line)
        return nil
    } catch {
        return error
    }
}

final class SymmetricKeyFileTests: XCTestCase {
    /// Lines exactly as `chronyc keygen` (chrony 4.3) printed them: `chronyc keygen 5 AES128`,
    /// `keygen 1 SHA256 256`, `keygen 2` (SHA1, 160 bits by default), `keygen 10 MD5 64` (raised to 80 bits),
    /// `keygen 11 AES128 256` (AES keys keep their length), `keygen 4294967295 AES128`, `keygen 7 AES256`.
    func testParsesWhatChronycKeygenPrints() throws {
        let text = """
            5 AES128 HEX:A91A0799CECF64C3A68166D74BAA4093
            1 SHA256 HEX:EE69361CE37B0BFC67AD17A55B56D8E9353BB8516B9E2E61FCACEACD92673284
            2 SHA1 HEX:998AF364A40297B6A63A962801834D94853D8B33
            3 MD5 HEX:BF4C654F7D05D7A9FD29753B3DAE42950B6FBE21
            6 SHA512 HEX:E3162ECF6FB3B5976E6BC35ACE33AA73DEE32189
            8 SHA384 HEX:04F0DC89BE8C7859F6E4AF1A8C808980700CDE5E
            10 MD5 HEX:B4FD13D0AF158BC29AEC
            11 AES128 HEX:AC4EC3C3F2E313B04A0CD0706D46ED22
            4294967295 AES128 HEX:3B426C67B7D4FF9F89803CF8B7130B35
            7 AES256 HEX:E0C09C59F6A94C491835A1A58C833E13BA2A9F096E0594CDAEF8CBD6A6B23C90

            """
        let keys = parse(text)
        XCTAssertEqual(keys.map(\.id), [5, 1, 2, 3, 6, 8, 10, 11, 4_294_967_295, 7])
        XCTAssertEqual(keys.map(\.type), [.aes128, .sha256, .sha1, .md5, .sha512, .sha384, .md5, .aes128, .aes128, .aes256])
        XCTAssertEqual(keys.map { $0.secret.count }, [16, 32, 20, 20, 20, 20, 10, 16, 16, 32])
        XCTAssertEqual(keys[0].secret, keyBytes("A91A0799CECF64C3A68166D74BAA4093"))
        XCTAssertEqual(keys[0].description, "key 5 (AES128, 128 bits)")
        XCTAssertEqual(SymmetricKeyFile.encode(keys), text, "keygen's own format is what encode writes")
    }

    /// The example of chrony.conf(5): bare ASCII keys (MD5), `ASCII:`, `HEX:`.
    func testParsesTheManualExample() {
        let keys = parse("""
            10 tulip
            11 hyacinth
            20 MD5 ASCII:crocus
            25 SHA1 HEX:933F62BE1D604E68A81B557F18CFA200483F5B70
            30 AES128 HEX:7EA62AE64D190114D46D5A082F948EC1
            31 AES256 HEX:37DDCBC67BB902BCB8E995977FAB4D2B5642F5B32EBCEEE421921D97E5CBFE39
            """)
        XCTAssertEqual(keys.count, 6)
        XCTAssertEqual(keys[0], try SymmetricKey(id: 10, type: .md5, secret: Array("tulip".utf8)))
        XCTAssertEqual(keys[1], try SymmetricKey(id: 11, type: .md5, secret: Array("hyacinth".utf8)))
        XCTAssertEqual(keys[2], try SymmetricKey(id: 20, type: .md5, secret: Array("crocus".utf8)))
        XCTAssertEqual(keys[3].secret, keyBytes("933F62BE1D604E68A81B557F18CFA200483F5B70"))
        XCTAssertEqual(keys[4].type, .aes128)
        XCTAssertEqual(keys[5].type, .aes256)
        XCTAssertTrue(keys[0].isShorterThanRecommended, "chrony warns below 80 bits")
        XCTAssertFalse(keys[3].isShorterThanRecommended)
    }

    /// Prefixes as chrony reads them: HEX digits in either case; `HEX:` also in the two-field form; a bare
    /// word is ASCII even when it looks like hex or has a lower-case prefix; `#` inside a key is key.
    func testKeyEncodings() {
        let keys = parse("""
            1 SHA1 HEX:0aBcDeF1
            2 HEX:00FF
            3 SHA256 hex:00FF
            4 SHA256 00FF
            5 MD5 ASCII:pass#word:with:colons
            6 ASCII:ASCII:
            7 p\u{E4}ss
            """)
        XCTAssertEqual(keys.map(\.secret), [
            [0x0A, 0xBC, 0xDE, 0xF1], [0x00, 0xFF], Array("hex:00FF".utf8), Array("00FF".utf8),
            Array("pass#word:with:colons".utf8), Array("ASCII:".utf8), Array("p\u{E4}ss".utf8),
        ])
        XCTAssertEqual(keys.map(\.type), [.sha1, .md5, .sha256, .sha256, .md5, .md5, .md5])
    }

    /// Comment lines start (after blanks) with `#`, `!`, `;` or `%`; blank lines, tabs, CRLF line ends,
    /// trailing blanks and a missing final line break are all fine.
    func testCommentsBlankLinesAndWhitespace() {
        let keys = parse("# chrony keys\r\n\r\n   ! old\n\t; note\n% more\n \t1\tSHA1 \t HEX:0102  \r\n\n  2 MD5 ASCII:x \u{0B}\u{0C}\n3 y")
        XCTAssertEqual(keys.map(\.id), [1, 2, 3])
        XCTAssertEqual(keys.map(\.secret), [[1, 2], Array("x".utf8), Array("y".utf8)])
        XCTAssertEqual(parse(""), [])
        XCTAssertEqual(parse("\n\n# only comments\n"), [])
    }

    func testLineErrorsCarryTheLineNumber() {
        let cases: [(text: String, line: Int, message: String)] = [
            ("1 MD5 HEX:0102\n\n7", 3, "expected `ID [TYPE] KEY`, found only one field"),
            ("1 MD5 HEX:0102 # trailing comment", 1, "found 6 fields (comments must start the line)"),
            ("abc HEX:0102", 1, "invalid key ID"),
            ("1x MD5 HEX:0102", 1, "invalid key ID"),
            ("+1 MD5 HEX:0102", 1, "invalid key ID"),
            ("-1 MD5 HEX:0102", 1, "invalid key ID"),
            ("4294967296 MD5 HEX:0102", 1, "invalid key ID"),
            ("12345678901 MD5 HEX:0102", 1, "invalid key ID"),
            ("# c\n0 MD5 HEX:0102", 2, "key ID 0 is reserved"),
            ("1 md5 HEX:0102", 1, "key 1: unknown type (type names are case-sensitive: write MD5)"),
            ("1 Aes128 HEX:00112233445566778899AABBCCDDEEFF", 1, "write AES128"),
            ("1 SHA3-256 HEX:0102", 1, "key 1: type SHA3-256 is not supported"),
            ("1 RIPEMD160 HEX:0102", 1, "key 1: unknown type (supported: MD5, SHA1, SHA256, SHA384, SHA512, AES128, AES256)"),
            ("\n\n\n4 SHA1 HEX:012", 4, "key 4: HEX key with an odd number of digits"),
            ("4 SHA1 HEX:01G2", 1, "key 4: HEX key with a character that is not a hex digit"),
            ("4 SHA1 HEX:+1", 1, "not a hex digit"),
            ("4 SHA1 HEX:", 1, "key 4: the key is empty"),
            ("4 SHA1 ASCII:", 1, "key 4: the key is empty"),
            ("5 AES128 HEX:00112233445566778899AABBCCDDEE", 1, "key 5: AES128 needs a key of 128 bits, found 120 bits"),
            ("5 AES256 HEX:00112233445566778899AABBCCDDEEFF", 1, "key 5: AES256 needs a key of 256 bits, found 128 bits"),
            ("5 AES128 sixteen-chars-ok!", 1, "found 136 bits"),
            ("1 MD5 a\u{0}b", 1, "NUL character"),
            ("1 MD5 HEX:0102\n2 SHA1 HEX:0304\n1 SHA1 HEX:0506", 3, "duplicate key ID 1 (first on line 1)"),
        ]
        for (text, line, message) in cases {
            guard let error = parseError(text) else { continue }
            XCTAssertEqual(error.line, line, "\(text.debugDescription): \(error)")
            XCTAssertTrue(error.message.contains(message), "\(text.debugDescription): \(error.message)")
            XCTAssertEqual(error.description, "line \(line): \(error.message)")
        }
        XCTAssertEqual(parse("5 AES128 ASCII:sixteen-chars-ok").first?.secret.count, 16, "ASCII AES keys of the right length")
    }

    /// Whatever is wrong, the message repeats no word that could be the secret (not even a word in the type
    /// position, which on a malformed line may be the key).
    func testErrorMessagesNeverContainKeyMaterial() {
        let secrets = ["S3cretWord", "DEADBEEFCAFE", "deadbeefcafe", "hunter2hunter2"]
        let lines = [
            "1 MD5 HEX:DEADBEEFCAFE extra",
            "S3cretWord",
            "S3cretWord 1 MD5",
            "1 S3cretWord HEX:DEADBEEFCAFE",
            "1 HEX:DEADBEEFCAFE S3cretWord",
            "1 AES128 HEX:DEADBEEFCAFE",
            "1 AES256 ASCII:hunter2hunter2",
            "1 SHA1 HEX:deadbeefcafeX",
            "1 SHA1 HEX:deadbeefcafe0",
            "0 SHA1 HEX:DEADBEEFCAFE",
            "1 MD5 HEX:DEADBEEFCAFE\n1 MD5 HEX:DEADBEEFCAFE",
            "1 MD5 S3cretWord" + String(repeating: "x", count: 2100),
            "1 MD5 S3cretWord\u{0}hunter2hunter2",
        ]
        for text in lines {
            guard let error = parseError(text) else { continue }
            for secret in secrets {
                XCTAssertFalse(error.description.contains(secret), "\(error) repeats key material")
            }
        }
    }

    /// chrony reads lines into a 2048-byte buffer: 2047 characters (without the line break) is the most.
    func testLineLengthLimit() {
        // Trailing blanks count, as they do in chrony's buffer.
        let prefix = "1 MD5 ASCII:key"
        let longest = prefix + String(repeating: " ", count: SymmetricKeyFile.maximumLineLength - prefix.utf8.count)
        XCTAssertEqual(parse(longest + "\r\n# next").first?.secret, Array("key".utf8))
        let error = parseError("# first\n" + longest + " ")
        XCTAssertEqual(error?.line, 2)
        XCTAssertEqual(error?.message, "line longer than 2047 characters (chrony's limit)")
        // A key chrony would read from a line this long but that could not be written back as HEX.
        let tooLong = parseError("1 MD5 ASCII:" + String(repeating: "k", count: 1013))
        XCTAssertEqual(tooLong?.message, "key 1: the key is longer than 1012 bytes (1013 bytes)")
    }

    func testIDRange() {
        XCTAssertEqual(parse("4294967295 MD5 HEX:01").first?.id, UInt32.max)
        XCTAssertEqual(parse("0001 MD5 HEX:01").first?.id, 1)
        XCTAssertNotNil(parseError("0 MD5 HEX:01"))
    }

    func testSymmetricKeyValidation() throws {
        XCTAssertThrowsError(try SymmetricKey(id: 0, type: .md5, secret: [1])) { error in
            XCTAssertEqual((error as? SymmetricKeyFileError)?.line, nil)
        }
        XCTAssertThrowsError(try SymmetricKey(id: 1, type: .sha1, secret: []))
        XCTAssertThrowsError(try SymmetricKey(id: 1, type: .aes128, secret: [UInt8](repeating: 0, count: 32)))
        XCTAssertThrowsError(try SymmetricKey(id: 1, type: .aes256, secret: [UInt8](repeating: 0, count: 16)))
        XCTAssertThrowsError(try SymmetricKey(id: 1, type: .sha512, secret: [UInt8](repeating: 0, count: 1013)))
        let longest = try SymmetricKey(id: 1, type: .sha512, secret: [UInt8](repeating: 0, count: 1012))
        XCTAssertEqual(longest.secret.count, SymmetricKey.maximumSecretLength)
        _ = try SymmetricKey(id: 1, type: .md5, secret: [0])
        _ = try SymmetricKey(id: 1, type: .aes128, secret: [UInt8](repeating: 0, count: 16))
        _ = try SymmetricKey(id: 1, type: .aes256, secret: [UInt8](repeating: 0, count: 32))
    }

    /// Logging a key, printing it in a failed assertion or dumping it never shows the secret.
    func testKeysNeverShowTheirSecret() throws {
        let key = try SymmetricKey(id: 5, type: .aes128, secret: Array("SIXTEENBYTESECRT".utf8))
        XCTAssertEqual(key.description, "key 5 (AES128, 128 bits)")
        XCTAssertEqual(String(reflecting: key), "key 5 (AES128, 128 bits)")
        XCTAssertEqual("\(key)", "key 5 (AES128, 128 bits)")
        var dumped = ""
        dump(key, to: &dumped)
        XCTAssertFalse(dumped.contains("83"), dumped)  // "S" = 83
        XCTAssertFalse(dumped.contains("SIXTEEN"), dumped)
        XCTAssertTrue(dumped.contains("128"), dumped)
        let digest = try SymmetricKey(id: 4_000_000_000, type: .sha512, secret: [UInt8](repeating: 7, count: 64))
        XCTAssertEqual(digest.description, "key 4000000000 (SHA512, 512 bits)")
    }

    func testKeyTypeProperties() {
        XCTAssertEqual(SymmetricKeyType.allCases.map(\.rawValue), ["MD5", "SHA1", "SHA256", "SHA384", "SHA512", "AES128", "AES256"])
        XCTAssertEqual(SymmetricKeyType.allCases.map(\.macLength), [16, 20, 20, 20, 20, 16, 16])
        XCTAssertEqual(SymmetricKeyType.allCases.map(\.fullMACLength), [16, 20, 32, 48, 64, 16, 16])
        XCTAssertEqual(SymmetricKeyType.allCases.map(\.isCMAC), [false, false, false, false, false, true, true])
        XCTAssertEqual(SymmetricKeyType.allCases.map(\.requiredKeyLength), [nil, nil, nil, nil, nil, 16, 32])
    }

    /// encode writes `ID TYPE HEX:...` lines that parse back to the same keys, for every type and the
    /// extreme lengths and IDs; every line stays within chrony's limit.
    func testEncodeRoundTrips() throws {
        var random = SeededRandom(seed: 5905)
        var keys: [SymmetricKey] = []
        var id: UInt32 = 1
        for type in SymmetricKeyType.allCases {
            let lengths = type.requiredKeyLength.map { [$0] } ?? [1, 10, 20, 64, 1012]
            for length in lengths {
                let secret = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
                keys.append(try SymmetricKey(id: id, type: type, secret: secret))
                id = id == 1 ? UInt32.max : id - 1
            }
        }
        let text = SymmetricKeyFile.encode(keys)
        XCTAssertEqual(try SymmetricKeyFile.parse(text), keys)
        for line in text.split(separator: "\n") {
            XCTAssertLessThanOrEqual(line.utf8.count, SymmetricKeyFile.maximumLineLength)
            XCTAssertTrue(line.contains(" HEX:"))
        }
        XCTAssertEqual(
            SymmetricKeyFile.encode([try SymmetricKey(id: 9, type: .sha1, secret: [0x0A, 0xFF])]), "9 SHA1 HEX:0AFF\n")
        XCTAssertEqual(SymmetricKeyFile.encode([]), "")
    }

    /// Random lines (bytes, words and near-misses of valid lines) never trap: they parse or throw.
    func testParsingArbitraryTextNeverTraps() {
        var random = SeededRandom(seed: 8573)
        let pieces = ["1", "0", "4294967295", "99999999999", " ", "\t", "\n", "\r", "#", "MD5", "AES128", "AES256",
                      "SHA512", "HEX:", "ASCII:", "00", "0", "G", "\u{0}", "é", "!", "%", ";", "HEX:00112233445566778899AABBCCDDEEFF"]
        var parsed = 0
        for _ in 0..<3000 {
            var text = ""
            for _ in 0..<Int.random(in: 0...12, using: &random) {
                if Bool.random(using: &random) {
                    text += pieces.randomElement(using: &random)!
                } else {
                    let scalar = Unicode.Scalar(UInt8.random(in: 0...127, using: &random))
                    text.unicodeScalars.append(scalar)
                }
            }
            if (try? SymmetricKeyFile.parse(text)) != nil { parsed += 1 }
        }
        XCTAssertGreaterThan(parsed, 0)
    }

    /// The real `chronyc keygen` (no daemon needed): every type and a range of sizes parse, with the
    /// lengths keygen documents (80-bit minimum, 4096-bit maximum, AES keys fixed).
    func testParsesLiveChronycKeygenOutput() throws {
        guard let chronyc = ["/usr/bin/chronyc", "/usr/sbin/chronyc", "/bin/chronyc"].first(where: {
            FileManager.default.isExecutableFile(atPath: $0)
        }) else {
            throw XCTSkip("chronyc is not installed (apt-get install chrony)")
        }
        var cases: [(arguments: [String], type: SymmetricKeyType, bytes: Int)] = [
            (["1"], .sha1, 20), (["2", "MD5"], .md5, 20), (["3", "AES128"], .aes128, 16), (["4", "AES256"], .aes256, 32),
            (["5", "AES128", "64"], .aes128, 16), (["6", "MD5", "8"], .md5, 10), (["7", "SHA512", "8192"], .sha512, 512),
            (["4294967295", "SHA1", "4096"], .sha1, 512),
        ]
        for type in [SymmetricKeyType.sha1, .sha256, .sha384, .sha512] {
            for bits in [80, 128, 160, 256, 512] {
                cases.append(([String(10 + bits), type.rawValue, String(bits)], type, bits / 8))
            }
        }
        for (arguments, type, bytes) in cases {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: chronyc)
            process.arguments = ["-n", "keygen"] + arguments
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, "chronyc keygen \(arguments)")
            let text = String(decoding: data, as: UTF8.self)
            let keys = parse(text)
            XCTAssertEqual(keys.count, 1, text)
            guard let key = keys.first else { continue }
            XCTAssertEqual(key.id, UInt32(arguments[0]))
            XCTAssertEqual(key.type, type, text)
            XCTAssertEqual(key.secret.count, bytes, text)
            XCTAssertEqual(SymmetricKeyFile.encode(keys), text, "encode writes keygen's exact format")
        }
    }
}
