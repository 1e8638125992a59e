import NTPCore
import XCTest

final class NTSCookieJarTests: XCTestCase {
    let keys = NTSKeys(clientToServer: [UInt8](repeating: 1, count: 32), serverToClient: [UInt8](repeating: 2, count: 32))

    func testTakeAsksForARefillAndAddKeepsTheNewest() {
        var jar = NTSCookieJar(keys: keys, cookies: (1...8).map { [UInt8($0)] })
        let first = jar.take()
        XCTAssertEqual(first?.cookie, [1], "oldest first; a cookie is never used twice")
        XCTAssertEqual(first?.placeholders, 0, "7 left: one fresh cookie refills the jar")
        jar.add([[9]])
        for expected in 2...9 { XCTAssertEqual(jar.take()?.cookie, [UInt8(expected)]) }
        XCTAssertTrue(jar.isEmpty)
        XCTAssertNil(jar.take(), "empty: time for NTS-KE")

        // After lost responses the jar runs low and asks for more at once.
        jar.add([[10], [11]])
        XCTAssertEqual(jar.take()?.placeholders, 6)
        jar.add((20...40).map { [UInt8($0)] })
        XCTAssertEqual(jar.cookies.count, 8, "never more than the capacity")
        XCTAssertEqual(jar.cookies.last, [40])
    }
}
