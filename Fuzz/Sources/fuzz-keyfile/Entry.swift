import CFuzzer
import FuzzHarness

/// SwiftPM's name for this executable's `main`: run libFuzzer's driver on `fuzzKeyFile` (Tests/FuzzHarness).
@_cdecl("fuzz_keyfile_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, testOneInput)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    fuzzKeyFile(data, count)
}
