import CFuzzer
import FuzzHarness

/// SwiftPM's name for this executable's `main`: run libFuzzer's driver on `fuzzGPSDJSON` (Tests/FuzzHarness).
@_cdecl("fuzz_gpsd_json_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, testOneInput)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    fuzzGPSDJSON(data, count)
}
