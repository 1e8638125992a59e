// swift-tools-version: 6.1
// libFuzzer targets, one per parser an attacker or an operator's file reaches. Built apart from the main
// package because a fuzz entry point has no `main` (libFuzzer provides it): `make fuzz` builds with
// -sanitize=fuzzer,address and runs each for FUZZ_SECONDS. Each target's body is in the main package's
// FuzzHarness (Tests/FuzzHarness), where FuzzSeedTests replays the seeds in Fuzz/seeds/<target>.
import PackageDescription

/// Target name: what it fuzzes.
let targets: [(String, String)] = [
    ("fuzz-ntp", "NTP packets and extension fields, the server rules (NTS and MACs included)"),
    ("fuzz-time", "the timekeeping core: leap tables, TZif, samples and pulses into a TimeKeeper"),
    ("fuzz-gps", "GPS dates through NMEA ZDA into the node's sample arithmetic, floor and jumps"),
    ("fuzz-ntske-records", "the NTS-KE record stream and message reader (RFC 8915 §4)"),
    ("fuzz-ntske-request", "NTS-KE requests through the server's responder"),
    ("fuzz-ntske-response", "NTS-KE responses as the client reads them"),
    ("fuzz-cookie", "NTS cookies presented to the server, and the cookie key file"),
    ("fuzz-config", "the node's TOML configuration and the fleet inventory"),
    ("fuzz-keyfile", "chrony-format symmetric key files"),
    ("fuzz-leapfile", "leap-second files (leap-seconds.list, TZif) as the node reads them"),
    ("fuzz-gpsd-json", "gpsd's JSON through libgps and the node's conversion to samples"),
]

let package = Package(
    name: "timefleet-fuzz",
    dependencies: [.package(name: "timefleet", path: "..")],
    targets: [.target(name: "CFuzzer")] + targets.map { name, _ in
        .executableTarget(
            name: name,
            dependencies: ["CFuzzer", .product(name: "FuzzHarness", package: "timefleet")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    }
)
