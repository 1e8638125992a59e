import Node
import XCTest

final class StoreLibraryTests: XCTestCase {
    func testSQLiteIsLinkedThroughGRDB() throws {
        XCTAssertTrue(try StoreLibrary.sqliteVersion().hasPrefix("3."))
    }
}
