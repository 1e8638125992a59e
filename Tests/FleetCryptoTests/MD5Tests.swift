import FleetCrypto
import NTPCore
import XCTest

final class MD5Tests: XCTestCase {
    /// RFC 1321 appendix A.5 test suite.
    func testRFC1321Vectors() {
        func hex(_ bytes: [UInt8]) -> String { HexText.encode(bytes) }
        XCTAssertEqual(hex(Digest.md5.hash([])), "d41d8cd98f00b204e9800998ecf8427e")
        XCTAssertEqual(hex(Digest.md5.hash(Array("abc".utf8))), "900150983cd24fb0d6963f7d28e17f72")
        XCTAssertEqual(hex(Digest.md5.hash(Array("message digest".utf8))), "f96b697d7cb7938d525a2f31aaf161d0")
    }
}
