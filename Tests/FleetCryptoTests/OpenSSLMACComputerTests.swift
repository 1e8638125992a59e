import Foundation
import XCTest

@testable import FleetCrypto
import NTPCore

#if canImport(Glibc)
import Glibc
#endif

// OpenSSLMACComputer: digest(key || message) vectors computed independently (Python's hashlib), AES-CMAC
// vectors of RFC 4493 and NIST SP 800-38B, requests captured from chronyd 4.3, and live interoperability
// with chronyd 4.3 as a client: its requests verify, and it accepts our authenticated responses.

private func macKey(_ id: UInt32, _ type: SymmetricKeyType, _ secret: [UInt8]) -> SymmetricKey {
    do {
        return try SymmetricKey(id: id, type: type, secret: secret)
    } catch {
        fatalError("\(error)")
    }
}

/// The secret of the digest vectors and of the chrony captures: bytes 00 01 ... 13.
private let twentyBytes = (0..<20).map { UInt8($0) }
private let aes128Secret = (0..<16).map { UInt8($0) }
private let aes256Secret = (0..<32).map { UInt8($0) }

/// RFC 4493 §4 / SP 800-38B example messages (the first 0, 16, 40 and 64 bytes of this).
private let cmacMessage = hex(
    "6bc1bee2 2e409f96 e93d7e11 7393172a ae2d8a57 1e03ac9c 9eb76fac 45af8e51 30c81c46 a35ce411 e5fbc119 1a0a52ef f69f2445 df4f9b17 ad2b417b e66c3710")

private func computeMAC(_ key: SymmetricKey, _ message: [UInt8]) -> [UInt8] {
    message.withUnsafeBytes { OpenSSLMACComputer().mac(key, $0) }
}

final class OpenSSLMACComputerTests: XCTestCase {
    /// digest(key || message), full length, as `hashlib.new(name, key + message).hexdigest()` gives.
    func testDigestVectors() {
        let message = Array("timefleet symmetric key vector".utf8)
        let expected: [(SymmetricKeyType, String)] = [
            (.md5, "97e1f591892269748f86cb98daceeed3"),
            (.sha1, "833d5a686906e2091b9418e6d51081917841e4d5"),
            (.sha256, "26b3e9267bc118ef08c1659adcc945dfa0c0c6ce3a6e86f4d1a8287621831ca1"),
            (.sha384, "eb44b6f044bc203b4fcca49762a951e32984844e2912a7c5a775145c30d5828af2bc8ad5b886381df5fd8ef91626575a"),
            (.sha512, "ee9444a3265a0bec883ffaec0107ab249d63fb4dc79d8fb7077e6c729990c084e8ada9501a9e7ed12d5a927f0e2b900034912a6db933f308f980b081d831051a"),
        ]
        for (type, digest) in expected {
            XCTAssertEqual(computeMAC(macKey(1, type, twentyBytes), message), hex(digest), "\(type)")
        }
        // A key longer than any block, an empty message; an ASCII key over a zero header.
        XCTAssertEqual(computeMAC(macKey(2, .md5, [UInt8](repeating: 0xA5, count: 300)), []), hex("a31ceb00db63c5efa87218935488bb25"))
        XCTAssertEqual(computeMAC(macKey(3, .sha1, Array("crocus".utf8)), [UInt8](repeating: 0, count: 48)),
                       hex("b5ae0c42814c6106ea2d012149760d36b046f3fe"))
    }

    func testCMACVectors() {
        let aes128 = macKey(1, .aes128, hex("2b7e1516 28aed2a6 abf71588 09cf4f3c"))
        let aes256 = macKey(2, .aes256, hex("603deb10 15ca71be 2b73aef0 857d7781 1f352c07 3b6108d7 2d9810a3 0914dff4"))
        let expected128 = ["bb1d6929 e9593728 7fa37d12 9b756746", "070a16b4 6b4d4144 f79bdd9d d04a287c",
                           "dfa66747 de9ae630 30ca3261 1497c827", "51f0bebf 7e3b9d92 fc497417 79363cfe"]
        let expected256 = ["028962f6 1b7bf89e fc6b551f 4667d983", "28a7023f 452e8f82 bd4bf28d 8c37c35c",
                           "aaf3d8f1 de5640c2 32f5b169 b9c911e6", "e1992190 549f6ed5 696a2c05 6c315410"]
        for (index, length) in [0, 16, 40, 64].enumerated() {
            let message = Array(cmacMessage.prefix(length))
            XCTAssertEqual(computeMAC(aes128, message), hex(expected128[index]), "RFC 4493, \(length) bytes")
            XCTAssertEqual(computeMAC(aes256, message), hex(expected256[index]), "SP 800-38B AES-256, \(length) bytes")
        }
    }

    /// Every type computes, with `fullMACLength` bytes, and OpenSSL here supports them all.
    func testLengthsAndSupport() {
        for type in SymmetricKeyType.allCases {
            XCTAssertTrue(OpenSSLMACComputer.isSupported(type), "\(type)")
            let key = macKey(1, type, type.requiredKeyLength.map { [UInt8](repeating: 1, count: $0) } ?? [1])
            XCTAssertEqual(computeMAC(key, Array(0..<48)).count, type.fullMACLength, "\(type)")
            // The raw-buffer entry point also takes an empty buffer without a base address.
            XCTAssertEqual(OpenSSLMACComputer().mac(key, UnsafeRawBufferPointer(start: nil, count: 0)), computeMAC(key, []))
        }
    }

    /// Client requests chronyd 4.3 sent with these keys (key file lines in the comments), recorded from
    /// the wire: the NTPv4 ones with MACs truncated to 20 bytes or less, the NTPv3 ones (chrony's choice
    /// for SHA256/384/512 keys without `version 4`) with full MACs. All verify; any changed byte fails.
    func testRequestsCapturedFromChronyd() throws {
        let zeroHeader = String(repeating: "00", count: 36)
        let captures: [(SymmetricKey, String)] = [
            // 1 MD5 HEX:000102...13
            (macKey(1, .md5, twentyBytes),
             "23000020" + zeroHeader + "cc8c0f6bb7414bfd" + "00000001b814689e3bdd2ce09ac77942bfac5a3b"),
            // 2 SHA1 HEX:000102...13
            (macKey(2, .sha1, twentyBytes),
             "23000020" + zeroHeader + "70c440b89ff5f038" + "00000002638fbc342f00538ee9241e32ae342ea00192fb2e"),
            // 3 SHA256 HEX:000102...13 (NTPv3, full MAC)
            (macKey(3, .sha256, twentyBytes),
             "1b000020" + zeroHeader + "cdd5c0a92f2681e1" + "00000003d0992584a4d0d80cbcef758339f40e835ba09a4d64ec23d3ad0bf69458031307"),
            // the same key with `version 4`: truncated to 20
            (macKey(3, .sha256, twentyBytes),
             "23000020" + zeroHeader + "48e9ddbbba761350" + "00000003b72dcbe34aa7b41ab6dfa43cbd9844faddec5614"),
            // 4 SHA512 (NTPv3, 64 bytes), and with `version 4`
            (macKey(4, .sha512, twentyBytes),
             "1b000020" + zeroHeader + "f199d4e1437fd236" + "00000004bbb63a61e834d01f8bd4c0f0a824356e98cf382edab350d3385ef19d505b80ed19ccef422760388d3a7aa1c11616ae418d0978e1bcf0ca38f303d1e5ddb7f03e"),
            (macKey(4, .sha512, twentyBytes),
             "23000020" + zeroHeader + "fc9083a285eec20b" + "0000000499cac211e16c738ac72ab75342f73b8e299a806e"),
            // 5 AES128 HEX:000102...0F
            (macKey(5, .aes128, aes128Secret),
             "23000020" + zeroHeader + "cca56e1a50a09209" + "0000000577a2371e7de5096b7fe4cd70bfaf84cf"),
            // 6 AES256 HEX:000102...1F
            (macKey(6, .aes256, aes256Secret),
             "23000020" + zeroHeader + "64a26c70b4a86396" + "0000000655a6725b89a968962e292492b3f5f14f"),
            // 7 SHA384 (NTPv3, 48 bytes), and with `version 4`
            (macKey(7, .sha384, twentyBytes),
             "1b000020" + zeroHeader + "05fd75d5a0146a56" + "00000007c4124d1b0bfc7a3cc427db9a9921250265c5709207639c0f33411fb2fda0fd82d8cbf427d6b067bbcd2ae7222f7ca969"),
            (macKey(7, .sha384, twentyBytes),
             "23000020" + zeroHeader + "34620e04a2082a43" + "0000000725968fcfa9fe47b14147ae42b0a31c06463b25a3"),
            // 8 sneakyascii (bare ASCII: MD5)
            (try XCTUnwrap(SymmetricKeyFile.parse("8 sneakyascii").first),
             "23000020" + zeroHeader + "f3cefba25f6cc3af" + "000000085074d3292c083c7106be155a6e4db420"),
        ]
        let computer = OpenSSLMACComputer()
        for (key, text) in captures {
            var wire = hex(text)
            let packet = try NTPPacket(parsing: wire)
            let mac = try XCTUnwrap(packet.mac, "\(key)")
            let version = packet.header.version
            XCTAssertEqual(mac.digest.count, version == 4 ? key.type.macLength : key.type.fullMACLength, "\(key)")
            XCTAssertTrue(wire.withUnsafeBytes {
                SymmetricAuthentication.verify(mac, message: UnsafeRawBufferPointer(rebasing: $0[0..<48]), key: key, version: version, computer: computer)
            }, "\(key) NTPv\(version)")
            XCTAssertTrue(wire.withUnsafeBytes {
                SymmetricAuthentication.verify(mac, message: UnsafeRawBufferPointer(rebasing: $0[0..<48]), key: key, computer: computer)
            })
            // We make the same MAC from the same bytes.
            XCTAssertEqual(wire.withUnsafeBytes {
                SymmetricAuthentication.mac(for: UnsafeRawBufferPointer(rebasing: $0[0..<48]), key: key, version: version, computer: computer)
            }, mac)
            wire[47] ^= 0x01
            XCTAssertFalse(wire.withUnsafeBytes {
                SymmetricAuthentication.verify(mac, message: UnsafeRawBufferPointer(rebasing: $0[0..<48]), key: key, computer: computer)
            })
        }
    }

    /// chronyd 4.3 as a one-shot client (`-Q`: measures, never touches the clock, and runs without
    /// CAP_SYS_TIME anyway) of a loopback "server" that is a socket of this test, once per key type (plus
    /// SHA512 and an ASCII SHA256 key with `version 4`, and a bare ASCII MD5 key). Every request chronyd
    /// sends must verify under chrony's rule with the length chrony uses (NTPv3 and the full MAC for
    /// SHA256/384/512 by default, NTPv4 and at most 20 bytes otherwise), and chronyd must accept our
    /// authenticated responses: its packet tests 1-3 and 5-7 (test 5 is authentication) all pass in
    /// measurements.log and it reports the offset.
    func testChronydInteroperates() throws {
        guard let chronyd = ["/usr/sbin/chronyd", "/usr/bin/chronyd", "/sbin/chronyd"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }),
              let setpriv = ["/usr/bin/setpriv", "/bin/setpriv", "/usr/sbin/setpriv"].first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else {
            throw XCTSkip("chronyd or setpriv is not installed (apt-get install chrony util-linux)")
        }
        guard getuid() == 0 else { throw XCTSkip("chronyd -Q -u root needs root") }

        let keyText = """
            1 MD5 HEX:000102030405060708090A0B0C0D0E0F10111213
            2 SHA1 HEX:000102030405060708090A0B0C0D0E0F10111213
            3 SHA256 HEX:000102030405060708090A0B0C0D0E0F10111213
            4 SHA384 HEX:000102030405060708090A0B0C0D0E0F10111213
            5 SHA512 HEX:000102030405060708090A0B0C0D0E0F10111213
            6 AES128 HEX:000102030405060708090A0B0C0D0E0F
            7 AES256 HEX:000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F
            8 a-bare-ascii-secret
            9 SHA256 ASCII:a-longer-ascii-secret

            """
        let keys = try SymmetricKeyFile.parse(keyText)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "keys-chrony-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyFile = directory.appendingPathComponent("chrony.keys")
        try keyText.write(to: keyFile, atomically: true, encoding: .utf8)
        chmod(keyFile.path, 0o600)

        // Key ID, extra source options, the NTP version chrony is expected to use.
        let plan: [(UInt32, String, UInt8)] = [
            (1, "", 4), (2, "", 4), (3, "", 3), (4, "", 3), (5, "", 3), (6, "", 4), (7, "", 4), (8, "", 4),
            (5, "version 4", 4), (9, "version 4", 4),
        ]
        for (run, (id, options, expectedVersion)) in plan.enumerated() {
            let key = try XCTUnwrap(keys.first { $0.id == id })
            try exchange(chronyd: chronyd, setpriv: setpriv, keyFile: keyFile,
                         directory: directory.appendingPathComponent("run\(run)"),
                         key: key, options: options, expectedVersion: expectedVersion)
        }
        // The negative control: chrony refuses an NTPv3 reply whose SHA256 MAC is truncated to the NTPv4
        // length (so a server must answer in the request's version with the full MAC), and one with a bad byte.
        let sha256 = try XCTUnwrap(keys.first { $0.id == 3 })
        try exchange(chronyd: chronyd, setpriv: setpriv, keyFile: keyFile, directory: directory.appendingPathComponent("truncated"),
                     key: sha256, options: "", expectedVersion: 3, corruptReply: { $0.digest = Array($0.digest.prefix(20)) })
        let aes = try XCTUnwrap(keys.first { $0.id == 6 })
        try exchange(chronyd: chronyd, setpriv: setpriv, keyFile: keyFile, directory: directory.appendingPathComponent("flipped"),
                     key: aes, options: "", expectedVersion: 4, corruptReply: { $0.digest[15] ^= 1 })
    }

    /// One chronyd -Q run against one socket of ours, answering every request it sends.
    private func exchange(chronyd: String, setpriv: String, keyFile: URL, directory: URL, key: SymmetricKey,
                          options: String, expectedVersion: UInt8, corruptReply: ((inout MAC) -> Void)? = nil) throws {
        let accepting = corruptReply == nil
        let what = "\(key)\(options.isEmpty ? "" : ", " + options)"
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let (fd, port) = try bindUDP("127.0.0.1")
        defer { close(fd) }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: setpriv)
        process.arguments = [
            "--bounding-set=-sys_time", chronyd, "-Q", "-t", accepting ? "10" : "2", "-u", "root", "-f", "/dev/null",
            "server 127.0.0.1 port \(port) key \(key.id) \(options) minpoll -6 maxpoll -6 maxsamples 1",
            "keyfile \(keyFile.path)", "pidfile \(directory.path)/chronyd.pid", "logdir \(directory.path)", "log measurements",
        ]
        let logURL = directory.appendingPathComponent("chronyd.out")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        defer { try? log.close() }
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }

        // Serve until chronyd exits (once it has its sample) or 15 s pass.
        let computer = OpenSSLMACComputer()
        let deadline = Date().addingTimeInterval(15)
        var buffer = [UInt8](repeating: 0, count: 2048)
        var verified = 0
        while process.isRunning && Date() < deadline {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 1, 100) > 0 else { continue }
            var peer = sockaddr_in()
            var peerLength = socklen_t(MemoryLayout<sockaddr_in>.size)
            let count = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, bytes.baseAddress, bytes.count, 0, $0, &peerLength) }
                }
            }
            guard count > 0 else { continue }
            let received = NTPTimestamp(UnixTime(nanosecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1e9)))
            let request = Array(buffer[0..<count])
            guard let packet = try? NTPPacket(parsing: request), let mac = packet.mac else {
                XCTFail("\(what): chronyd's request did not parse with a MAC: \(request)")
                continue
            }
            let version = packet.header.version
            XCTAssertEqual(version, expectedVersion, what)
            XCTAssertEqual(mac.digest.count, version == 4 ? key.type.macLength : key.type.fullMACLength, what)
            let authentic = request.withUnsafeBytes {
                SymmetricAuthentication.verify(mac, message: UnsafeRawBufferPointer(rebasing: $0[0..<packet.macOffset]),
                                               key: key, version: version, computer: computer)
            }
            XCTAssertTrue(authentic, "\(what): chronyd's NTPv\(version) request does not verify")
            guard authentic else { continue }
            verified += 1

            // A stratum-2 answer in the request's version, authenticated as chrony would.
            let now = NTPTimestamp(UnixTime(nanosecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1e9)))
            var reply = NTPPacket(header: NTPHeader(
                leap: .noWarning, version: version, mode: .server, stratum: 2, poll: packet.header.poll, precision: -20,
                rootDelay: NTPShort(seconds: 0.001), rootDispersion: NTPShort(seconds: 0.001),
                referenceID: ReferenceID(rawValue: 0x7F00_0001), referenceTimestamp: received.adding(NTPDuration(seconds: -1)),
                originTimestamp: packet.header.transmitTimestamp, receiveTimestamp: received, transmitTimestamp: now))
            let header = reply.header.serialized()
            var replyMAC = header.withUnsafeBytes { SymmetricAuthentication.mac(for: $0, key: key, version: version, computer: computer) }
            corruptReply?(&replyMAC)
            reply.mac = replyMAC
            let bytes = reply.serialized()
            _ = bytes.withUnsafeBytes { raw in
                withUnsafePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, raw.baseAddress, raw.count, 0, $0, peerLength) }
                }
            }
        }
        let stillRunning = process.isRunning
        if stillRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let output = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
        XCTAssertFalse(stillRunning, "\(what): chronyd -Q did not finish: \(output)")
        XCTAssertGreaterThan(verified, 0, "\(what): no verified request; chronyd said: \(output)")

        // measurements.log: Date Time IP-address L St 123 567 ABCD LP RP Score Offset ...
        let measurements = (try? String(contentsOf: directory.appendingPathComponent("measurements.log"), encoding: .utf8)) ?? ""
        let samples = measurements.split(separator: "\n").filter { $0.contains("127.0.0.1") }
        guard accepting else {
            XCTAssertFalse(output.contains("System clock wrong by"), "\(what): chronyd accepted a corrupted MAC: \(output)")
            XCTAssertTrue(output.contains("Timeout reached"), "\(what): \(output)")
            // chrony drops a reply that fails authentication before logging a measurement.
            for sample in samples {
                let columns = sample.split(separator: " ", omittingEmptySubsequences: true)
                XCTAssertNotEqual(columns[6], "111", "\(what): chronyd passed a corrupted MAC: \(sample)")
            }
            return
        }
        XCTAssertTrue(output.contains("System clock wrong by"), "\(what): chronyd did not report a measurement: \(output)")
        XCTAssertFalse(samples.isEmpty, "\(what): chronyd accepted no response\n\(measurements)\n\(output)")
        for sample in samples {
            let columns = sample.split(separator: " ", omittingEmptySubsequences: true)
            XCTAssertEqual(columns[5], "111", "\(what): \(sample)")
            XCTAssertEqual(columns[6], "111", "\(what): test 5 is authentication: \(sample)")
        }
    }
}

/// A UDP socket bound to `address` on an ephemeral port.
private func bindUDP(_ address: String) throws -> (Int32, UInt16) {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    var sin = sockaddr_in()
    sin.sin_family = sa_family_t(AF_INET)
    sin.sin_port = 0
    guard inet_pton(AF_INET, address, &sin.sin_addr) == 1 else { close(fd); throw POSIXError(.EINVAL) }
    let bound = withUnsafePointer(to: &sin) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else {
        let code = errno
        close(fd)
        throw POSIXError(.init(rawValue: code) ?? .EIO)
    }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &sin) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return (fd, UInt16(bigEndian: sin.sin_port))
}
