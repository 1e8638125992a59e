/// Every fuzz target by its executable's name (Fuzz/Package.swift) and seed folder (Fuzz/seeds/<name>):
/// each is `LLVMFuzzerTestOneInput` of its libFuzzer executable, and what FuzzSeedTests replays the
/// committed seeds through. An input that breaks a target's promise stops it with a precondition failure.
public let fuzzTargets: [String: @Sendable (UnsafePointer<UInt8>?, Int) -> CInt] = [
    "fuzz-ntp": fuzzNTP,
    "fuzz-time": fuzzTime,
    "fuzz-gps": fuzzGPS,
    "fuzz-ntske-records": fuzzNTSKERecords,
    "fuzz-ntske-request": fuzzNTSKERequest,
    "fuzz-ntske-response": fuzzNTSKEResponse,
    "fuzz-cookie": fuzzCookie,
    "fuzz-config": fuzzConfig,
    "fuzz-keyfile": fuzzKeyFile,
    "fuzz-leapfile": fuzzLeapFile,
    "fuzz-gpsd-json": fuzzGPSDJSON,
]
