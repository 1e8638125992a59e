import NTPCore
import XCTest

@testable import FleetCrypto

// AES-CMAC (Nettle): RFC 4493 §4 examples (AES-128) and the NIST SP 800-38B examples for AES-192 and AES-256
// (the same four messages), and a cross-check against OpenSSL's EVP_MAC CMAC (test-only C in
// CCryptoReference). Also the other primitives: constant-time comparison and the CSPRNG.

private let message = hex(
    "6bc1bee2 2e409f96 e93d7e11 7393172a ae2d8a57 1e03ac9c 9eb76fac 45af8e51 30c81c46 a35ce411 e5fbc119 1a0a52ef f69f2445 df4f9b17 ad2b417b e66c3710")
private let lengths = [0, 16, 40, 64]

private func cmac(_ key: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> AESCMAC {
    do {
        return try AESCMAC(key: key)
    } catch {
        XCTFail("\(error)", file: file, line: line)
        fatalError()
    }
}

final class AESCMACTests: XCTestCase {
    func testRFC4493Examples() {
        let mac = cmac(hex("2b7e1516 28aed2a6 abf71588 09cf4f3c"))
        let expected = [
            "bb1d6929 e9593728 7fa37d12 9b756746",  // Example 1: empty
            "070a16b4 6b4d4144 f79bdd9d d04a287c",  // Example 2: 16 bytes
            "dfa66747 de9ae630 30ca3261 1497c827",  // Example 3: 40 bytes
            "51f0bebf 7e3b9d92 fc497417 79363cfe",  // Example 4: 64 bytes
        ]
        for (length, tag) in zip(lengths, expected) {
            XCTAssertEqual(mac.mac(Array(message.prefix(length))), hex(tag), "\(length) bytes")
        }
    }

    func testSP800_38BAES256Examples() {
        let mac = cmac(hex("603deb10 15ca71be 2b73aef0 857d7781 1f352c07 3b6108d7 2d9810a3 0914dff4"))
        let expected = [
            "028962f6 1b7bf89e fc6b551f 4667d983",
            "28a7023f 452e8f82 bd4bf28d 8c37c35c",
            "aaf3d8f1 de5640c2 32f5b169 b9c911e6",
            "e1992190 549f6ed5 696a2c05 6c315410",
        ]
        for (length, tag) in zip(lengths, expected) {
            XCTAssertEqual(mac.mac(Array(message.prefix(length))), hex(tag), "\(length) bytes")
        }
    }

    func testSP800_38BAES192Examples() {
        let mac = cmac(hex("8e73b0f7 da0e6452 c810f32b 809079e5 62f8ead2 522c6b7b"))
        let expected = [
            "d17ddf46 adaacde5 31cac483 de7a9367",
            "9e99a7bf 31e71090 0662f65e 617c5184",
            "8a1de5be 2eb31aad 089a82e6 ee908b0e",
            "a1d5df0e ed790f79 4d775896 59f39a11",
        ]
        for (length, tag) in zip(lengths, expected) {
            XCTAssertEqual(mac.mac(Array(message.prefix(length))), hex(tag), "\(length) bytes")
        }
    }

    func testRawBufferFormMatchesAndIsReusable() {
        let mac = cmac(hex("2b7e1516 28aed2a6 abf71588 09cf4f3c"))
        // A slice of a larger buffer, as when a packet's MAC covers only its start.
        let packet = message + [0xde, 0xad]
        let tag = packet.withUnsafeBytes { mac.mac(UnsafeRawBufferPointer(rebasing: $0[0..<40])) }
        XCTAssertEqual(tag, hex("dfa66747 de9ae630 30ca3261 1497c827"))
        XCTAssertEqual(UnsafeRawBufferPointer(start: nil, count: 0).withMemoryRebound(to: UInt8.self) { _ in
            mac.mac(UnsafeRawBufferPointer(start: nil, count: 0))
        }, hex("bb1d6929 e9593728 7fa37d12 9b756746"))
        // The same key object many times gives the same answers (the keyed context is reused).
        for _ in 0..<3 {
            XCTAssertEqual(mac.mac(Array(message.prefix(16))), hex("070a16b4 6b4d4144 f79bdd9d d04a287c"))
        }
    }

    /// AESCMAC against OpenSSL's EVP_MAC CMAC on random messages of every length 0...300 plus longer ones,
    /// for all key sizes, with one key object reused and with fresh key objects in between.
    func testMatchesOpenSSLEVPMACOnRandomLengths() {
        var random = SeededRandom(seed: 4493)
        for size in [16, 24, 32] {
            let reusedKey = random.bytes(size)
            let reused = cmac(reusedKey)
            let lengths = Array(0...300) + [495, 496, 497, 511, 512, 513, 527, 528, 1023, 1024, 1025, 1500, 4096]
            for length in lengths {
                let m = random.bytes(length)
                let expected = OpenSSLReference.cmac(key: reusedKey, m)
                XCTAssertEqual(reused.mac(m), expected, "key \(size) length \(length)")
                let freshKey = random.bytes(size)
                XCTAssertEqual(cmac(freshKey).mac(m), OpenSSLReference.cmac(key: freshKey, m), "fresh key \(size) length \(length)")
            }
        }
    }

    /// Many keys of all sizes in use on one thread, interleaved: every answer stays right.
    func testManyKeysInterleavedOnOneThread() {
        var random = SeededRandom(seed: 8573)
        let keys = (0..<11).map { i in random.bytes([16, 24, 32][i % 3]) }
        let macs = keys.map { cmac($0) }
        let messages = (0..<7).map { random.bytes($0 * 23) }
        let expected = keys.map { key in messages.map { OpenSSLReference.cmac(key: key, $0) } }
        for round in 0..<20 {
            for (i, m) in macs.enumerated() where (i + round) % 3 != 0 {
                let j = (i * 5 + round) % messages.count
                XCTAssertEqual(m.mac(messages[j]), expected[i][j])
            }
        }
    }

    /// One key object hammered by 8 threads (run under ThreadSanitizer too).
    func testSharedAcrossThreads() {
        var random = SeededRandom(seed: 88)
        for size in [16, 32] {
            let key = random.bytes(size)
            let shared = cmac(key)
            let messages = (0..<32).map { random.bytes($0 * 9) }
            let expected = messages.map { OpenSSLReference.cmac(key: key, $0) }
            let failures = Counter()
            DispatchQueue.concurrentPerform(iterations: 8) { worker in
                let own = try! AESCMAC(key: Array(repeating: UInt8(worker), count: size))
                for round in 0..<300 {
                    let i = (worker * 3 + round) % messages.count
                    if shared.mac(messages[i]) != expected[i] { failures.add() }
                    if round % 7 == 0 { _ = own.mac(messages[i]) }
                }
            }
            XCTAssertEqual(failures.value, 0)
        }
    }

    func testInvalidKeyLengthsThrow() {
        for length in [0, 1, 15, 17, 20, 23, 25, 31, 33, 48, 64] {
            XCTAssertThrowsError(try AESCMAC(key: Array(repeating: 0, count: length))) { error in
                XCTAssertEqual(error as? CryptoError, .invalidKeyLength(length))
            }
        }
        for length in [16, 24, 32] {
            XCTAssertNoThrow(try AESCMAC(key: Array(repeating: 0, count: length)))
        }
    }
}

final class ConstantTimeTests: XCTestCase {
    func testEqual() {
        XCTAssertTrue(ConstantTime.equal([], []))
        XCTAssertTrue(ConstantTime.equal([1, 2, 3], [1, 2, 3]))
        XCTAssertFalse(ConstantTime.equal([1, 2, 3], [1, 2, 4]))
        XCTAssertFalse(ConstantTime.equal([0, 2, 3], [1, 2, 3]))
        XCTAssertFalse(ConstantTime.equal([1, 2, 3], [1, 2]))
        XCTAssertFalse(ConstantTime.equal([], [0]))
        let tag = (0..<16).map(UInt8.init)
        for i in 0..<16 {
            for bit in 0..<8 {
                var other = tag
                other[i] ^= 1 << bit
                XCTAssertFalse(ConstantTime.equal(tag, other))
            }
        }
        tag.withUnsafeBytes { a in
            (tag + [9]).withUnsafeBytes { b in
                XCTAssertTrue(ConstantTime.equal(a, UnsafeRawBufferPointer(rebasing: b[0..<16])))
                XCTAssertFalse(ConstantTime.equal(a, b))
            }
        }
    }
}

final class SecureRandomTests: XCTestCase {
    func testBytesAreDistinctAndNotZero() {
        XCTAssertEqual(SecureRandom.bytes(0), [])
        let a = SecureRandom.bytes(32), b = SecureRandom.bytes(32)
        XCTAssertEqual(a.count, 32)
        XCTAssertEqual(b.count, 32)
        XCTAssertNotEqual(a, b)
        XCTAssertNotEqual(a, Array(repeating: 0, count: 32))
        XCTAssertNotEqual(b, Array(repeating: 0, count: 32))
        // A larger draw uses (nearly) every byte value: a stuck or constant generator would not.
        let big = SecureRandom.bytes(4096)
        XCTAssertGreaterThan(Set(big).count, 200)
        var seen = Set<[UInt8]>()
        for _ in 0..<1000 { seen.insert(SecureRandom.bytes(16)) }
        XCTAssertEqual(seen.count, 1000)
    }
}
