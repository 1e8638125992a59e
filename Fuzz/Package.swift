// swift-tools-version: 6.1
// libFuzzer targets for the protocol core (fuzz-ntp), the timekeeping core (fuzz-time) and GPS dates (fuzz-gps). Built apart from the main package because a fuzz entry point has
// no `main` (libFuzzer provides it): `make fuzz` builds with -sanitize=fuzzer,address and runs for a while.
import PackageDescription

let package = Package(
    name: "timefleet-fuzz",
    dependencies: [.package(name: "timefleet", path: "..")],
    targets: [
        .target(name: "CFuzzer"),
        .executableTarget(
            name: "fuzz-ntp",
            dependencies: [
                "CFuzzer",
                .product(name: "NTPCore", package: "timefleet"),
                .product(name: "FleetCrypto", package: "timefleet"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "fuzz-time",
            dependencies: ["CFuzzer", .product(name: "TimeCore", package: "timefleet")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        // Random dates through the NMEA-to-sample path (ZDA text, gpsd's reading, the node's sample arithmetic,
        // the floor, jumps and the first-step check).
        .executableTarget(
            name: "fuzz-gps",
            dependencies: ["CFuzzer", .product(name: "TimeCore", package: "timefleet"), .product(name: "NTPCore", package: "timefleet")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        // NTS-KE (RFC 8915 §4): the record stream and message reader, the server's request handling, the client's response parsing.
        .executableTarget(
            name: "fuzz-ntske-records",
            dependencies: ["CFuzzer", .product(name: "NTSKECore", package: "timefleet")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "fuzz-ntske-request",
            dependencies: [
                "CFuzzer",
                .product(name: "NTSKECore", package: "timefleet"),
                .product(name: "NTPCore", package: "timefleet"),
                .product(name: "FleetCrypto", package: "timefleet"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "fuzz-ntske-response",
            dependencies: ["CFuzzer", .product(name: "NTSKECore", package: "timefleet")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
