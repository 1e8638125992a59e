import FleetCrypto
import NTPCore
import XCTest

// SHA-1 against the FIPS 180 examples (FIPS 180-2 Appendix A, the NIST "SHA1" example values) and the
// leap-seconds.list hash it exists for.

private func hexString(_ bytes: [UInt8]) -> String { HexText.encode(bytes) }

final class SHA1Tests: XCTestCase {
    func testFIPS180Vectors() {
        XCTAssertEqual(hexString(Digest.sha1.hash(Array("abc".utf8))), "a9993e364706816aba3e25717850c26c9cd0d89d")
        XCTAssertEqual(hexString(Digest.sha1.hash([])), "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        XCTAssertEqual(
            hexString(Digest.sha1.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        // One million 'a' (FIPS 180-2 Appendix A.3), which crosses many blocks.
        XCTAssertEqual(
            hexString(Digest.sha1.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))),
            "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
        XCTAssertEqual(Digest.sha1.hash(Array("abc".utf8)).count, Digest.sha1.length)
    }

    func testLeapSecondsListHash() {
        // The digits leap-seconds.list's '#h' covers (update, expiry, then every data line's two numbers),
        // from the IERS file of 2025 that expires on 28 June 2026.
        let digits = "3960835200" + "3991593600" + [
            "227206080010", "228778560011", "230368320012", "233521920013", "236675520014", "239829120015",
            "242991360016", "246144960017", "249298560018", "252452160019", "257178240020", "260331840021",
            "263485440022", "269801280023", "277698240024", "284014080025", "287167680026", "291893760027",
            "295047360028", "298200960029", "302944320030", "307670400031", "312413760032", "334506240033",
            "343975680034", "355008960035", "364469760036", "369221760037",
        ].joined()
        XCTAssertEqual(hexString(Digest.sha1.hash(Array(digits.utf8))), "49db2447571e5e1b2f002a539c8da8e439b8e49e")
    }
}
