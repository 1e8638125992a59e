import FleetCrypto
import XCTest

final class MD5Tests: XCTestCase {
    /// RFC 1321 appendix A.5 test suite.
    func testRFC1321Vectors() {
        func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
        XCTAssertEqual(hex(MD5.digest([])), "d41d8cd98f00b204e9800998ecf8427e")
        XCTAssertEqual(hex(MD5.digest(Array("abc".utf8))), "900150983cd24fb0d6963f7d28e17f72")
        XCTAssertEqual(hex(MD5.digest(Array("message digest".utf8))), "f96b697d7cb7938d525a2f31aaf161d0")
    }
}
