// swift-tools-version: 6.1
//
// A fleet of authenticated stratum-1 time servers.
//
// Layout (see README.md, "Layout"):
//   NTPCore     sans-I/O protocol core: wire formats, server rules, access lists, rate limiting, exchange arithmetic
//   TimeCore    sans-I/O timekeeping: sample filters, selection, discipline, holdover, leap seconds
//   CFleetShim  the Linux calls Swift cannot import (recvmmsg/sendmmsg, SO_TIMESTAMPING, CMSG_*, clock_adjtime)
//   COpenSSL    OpenSSL 3 (libssl-dev), for NTS-KE, digests and the CSPRNG
//   CNettle     GNU Nettle (nettle-dev), for AES-SIV-CMAC and AES-CMAC (through CFleetCrypto)
//   CGPS        gpsd's libgps (libgps-dev)
//   CRefclock   the C side of reference clocks (libgps reads, NTP SHM, PPS ioctls)
//   Refclock    reference clocks' I/O edges: gpsd client, SHM reader, PPS device
//   NodeModels  what a node reports and accepts, shared by node and admin tool: status, admin API bodies, text views (pure)
//   NetworkEdges the network edges node and tool share: the one-shot NTP query client, an idle-close handler,
//               TCP listeners' connection budgets (deadlines from accept, per-source caps, eviction, accept backoff)
//   NTSKECore   sans-I/O NTS-KE (RFC 8915 §4): records, message framing, request/response, negotiation, the responder
//   NTSKE       NTS-KE's transport: TLS 1.3 (OpenSSL) under SwiftNIO, the server, the client, the NTS time client
//   ConfigFile  TOML files read with FILE:LINE errors (node configuration, fleet inventory)
//   Fleet       the fleet layer: inventory, health verdicts, rotation state machines (pure)
//   Node        the node daemon's logic (fleetnode is its thin executable)
//   Admin       the admin tool's logic (fleetctl is its thin executable)
import PackageDescription

let package = Package(
    name: "timefleet",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "fleetnode", targets: ["fleetnode"]),
        .executable(name: "fleetctl", targets: ["fleetctl"]),
        .library(name: "NTPCore", targets: ["NTPCore"]),
        .library(name: "TimeCore", targets: ["TimeCore"]),
        .library(name: "FleetCrypto", targets: ["FleetCrypto"]),
        .library(name: "NTSKECore", targets: ["NTSKECore"]),
        // For the fuzz package (Fuzz/): the parsers it fuzzes and the shared harnesses.
        .library(name: "ConfigFile", targets: ["ConfigFile"]),
        .library(name: "Fleet", targets: ["Fleet"]),
        .library(name: "Refclock", targets: ["Refclock"]),
        .library(name: "FuzzHarness", targets: ["FuzzHarness"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // The admin API's mutual TLS (node and fleetctl) and certificate checks before an install.
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        // P-256 keys for the certificates fleetctl issues (swift-certificates signs with them).
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
    ],
    targets: [
        // MARK: C
        .target(name: "CFleetShim"),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "CFleetTLS", dependencies: ["COpenSSL"]),
        .systemLibrary(
            name: "CNettle",
            pkgConfig: "nettle",
            providers: [.apt(["nettle-dev"])]
        ),
        // Crypto behind one header (cfc_*): AES-SIV-CMAC (RFC 5297) and AES-CMAC (RFC 4493) as thin wrappers over
        // Nettle; the CSPRNG, constant-time compare and message digests over OpenSSL's libcrypto.
        .target(name: "CFleetCrypto", dependencies: ["COpenSSL", "CNettle"]),
        .systemLibrary(
            name: "CGPS",
            pkgConfig: "libgps",
            providers: [.apt(["libgps-dev"])]
        ),

        // Reference clocks' I/O edges in C: libgps session, NTP SHM (struct shmTime), RFC 2783 PPS ioctls.
        .target(name: "CRefclock", linkerSettings: [.linkedLibrary("gps")]),

        // MARK: Core (no I/O, no clock reads, stdlib and a lock only)
        // NIOConcurrencyHelpers is its one dependency, for its lock: a pthread mutex that ThreadSanitizer
        // sees, unlike the standard library's futex-based `Synchronization.Mutex` (every access under one of
        // those is reported as a race in `make sanitize-tsan`). It does no I/O.
        .target(name: "NTPCore", dependencies: [.product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
        // Time sources' models, sample filters, selection, discipline, holdover and leap seconds: time passed in.
        .target(name: "TimeCore", dependencies: ["NTPCore"]),
        // NTS-KE without I/O (RFC 8915 §4): records in, records and an outcome out; the TLS exporter and randomness passed in.
        .target(name: "NTSKECore", dependencies: ["NTPCore"]),
        // The seeded clock-and-sources simulation that tests and the accuracy benchmark run TimeCore in.
        .target(name: "TimeSimulation", dependencies: ["TimeCore", "NTPCore"]),

        // MARK: Libraries
        .target(name: "FleetCrypto", dependencies: ["CFleetCrypto", "NTPCore"]),
        // MARK: Models (pure: what crosses between node and tool)
        .target(name: "NodeModels", dependencies: ["NTPCore", "TimeCore"]),

        // TOML files read with every problem located as FILE:LINE: key: message (the node's configuration,
        // `NodeConfig` and `ConfigLoader`; the fleet inventory's tables). Text in, values or errors out: no I/O.
        .target(
            name: "ConfigFile",
            dependencies: [
                "NodeModels", "NTPCore", "TimeCore",
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The fleet layer: inventory, health verdicts, rotation state machines. Observations in, decisions out.
        .target(name: "Fleet", dependencies: ["NodeModels", "NTPCore", "TimeCore", "ConfigFile"]),

        // MARK: Edges
        // Certificates and keys read with swift-certificates (node: installs; fleetctl: what nodes serve, issuing).
        .target(
            name: "Certificates",
            dependencies: [
                "NodeModels", "FleetCrypto", "NTPCore",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The network edges node and tool share: the one-shot NTP client, an idle close, and the connection
        // budgets of every TCP listener (admin API, metrics, NTS-KE).
        .target(
            name: "NetworkEdges",
            dependencies: [
                "NTPCore", "NodeModels", "CFleetShim",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // gpsd (libgps), NTP shared memory and PPS devices: raw observations stamped with the system clock.
        .target(
            name: "Refclock",
            dependencies: [
                "CRefclock", "CGPS", "NTPCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .target(
            name: "NTSKE",
            dependencies: [
                "NTPCore",
                "NTSKECore",
                "NodeModels",
                "NetworkEdges",
                "FleetCrypto",
                "CFleetTLS",
                "Certificates",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Node",
            dependencies: [
                "NTPCore",
                "TimeCore",
                "Refclock",
                "NodeModels",
                "NetworkEdges",
                "ConfigFile",
                "Certificates",
                "NTSKE",
                "NTSKECore",
                "FleetCrypto",
                "CFleetShim",
                "CGPS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        .target(
            name: "Admin",
            dependencies: [
                "NTPCore",
                "NodeModels",
                "NetworkEdges",
                "Fleet",
                "ConfigFile",
                "Certificates",
                "NTSKE",
                "FleetCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),

        // MARK: Executables (argument parsing and wiring only)
        .executableTarget(
            name: "fleetnode",
            dependencies: [
                "Node",
                "ConfigFile",
                "FleetCrypto",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "fleetctl",
            dependencies: [
                "Admin",
                "Fleet",
                "FleetCrypto",
                "NodeModels",
                "NetworkEdges",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: Benchmarks (not tests: `make bench`, release build, prints ratios against chronyd)
        .target(name: "CBenchShim", path: "Benchmarks/CBenchShim"),
        .target(name: "BenchSupport", dependencies: ["CFleetShim", "CBenchShim", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")], path: "Benchmarks/BenchSupport"),
        .executableTarget(
            name: "ntp-server-load",
            dependencies: ["BenchSupport", "CBenchShim", "CFleetShim", "NTPCore", "NodeModels", "NetworkEdges"],
            path: "Benchmarks/NTPServerLoad"
        ),
        .executableTarget(
            name: "nts-server-load",
            dependencies: ["BenchSupport", "CBenchShim", "CFleetShim", "NTPCore", "NodeModels", "NetworkEdges", "NTSKE", "NTSKECore", "FleetCrypto", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
            path: "Benchmarks/NTSServerLoad"
        ),
        // scripts/callgrind-nts.sh's client: NTS requests and NTS-KE sessions against a server under callgrind.
        .executableTarget(
            name: "nts-callgrind-client",
            dependencies: ["BenchSupport", "NTPCore", "NTSKE", "NTSKECore", "FleetCrypto"],
            path: "Benchmarks/NTSCallgrindClient"
        ),

        // The soak's clients (`make soak`, scripts/soak.sh): plain and NTS load, good NTS-KE clients, an NTS probe.
        .executableTarget(
            name: "soak-load",
            dependencies: ["BenchSupport", "CBenchShim", "CFleetShim", "NTPCore", "NodeModels", "NetworkEdges", "NTSKE", "FleetCrypto", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
            path: "Benchmarks/SoakLoad"
        ),

        // 50 real nodes swept by the real fleetctl (`make bench-fleet`).
        .executableTarget(name: "fleet-sweep", dependencies: ["GPSTestSupport"], path: "Benchmarks/FleetSweep"),

        .executableTarget(
            name: "accuracy",
            dependencies: ["TimeSimulation", "TimeCore"],
            path: "Benchmarks/Accuracy"
        ),

        // MARK: Tests
        // The fuzz targets' bodies (one function per target, input bytes in, invariants checked with
        // precondition): the Fuzz package's libFuzzer executables call them, FuzzSeedTests replays the committed
        // seeds (Fuzz/seeds/<target>) through them in `make test`.
        .target(
            name: "FuzzHarness",
            dependencies: ["NTPCore", "TimeCore", "NTSKECore", "FleetCrypto", "ConfigFile", "Fleet", "Refclock", "CRefclock"],
            path: "Tests/FuzzHarness"
        ),
        .testTarget(name: "FuzzSeedTests", dependencies: ["FuzzHarness", "NTPCore", "TimeCore", "FleetCrypto", "ConfigFile", "Fleet", "Refclock"]),
        .testTarget(name: "NTPCoreTests", dependencies: ["NTPCore", "FleetCrypto"]),
        .testTarget(name: "TimeCoreTests", dependencies: ["TimeCore", "NTPCore"]),
        // gpsd/gpsfake processes, an NMEA generator and loopback helpers shared by the refclock and node tests.
        .target(name: "CRefclockTestSupport", dependencies: ["CRefclock"], path: "Tests/CRefclockTestSupport"),
        .target(name: "GPSTestSupport", dependencies: ["CRefclock", "CRefclockTestSupport", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")], path: "Tests/GPSTestSupport"),
        .testTarget(name: "RefclockTests", dependencies: ["Refclock", "CRefclock", "CRefclockTestSupport", "NTPCore", "GPSTestSupport", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
        .testTarget(name: "SimulationTests", dependencies: ["TimeSimulation", "TimeCore", "NTPCore"]),
        .testTarget(name: "ConfigFileTests", dependencies: ["ConfigFile"]),
        .testTarget(name: "NodeModelsTests", dependencies: ["NodeModels", "NTPCore", "TimeCore"]),
        .testTarget(name: "FleetTests", dependencies: ["Fleet", "NodeModels", "NTPCore", "TimeCore", "ConfigFile"]),
        .testTarget(name: "AdminTests", dependencies: ["Admin", "NodeModels", "TimeCore", "NTPCore"]),
        .testTarget(name: "NTSKECoreTests", dependencies: ["NTSKECore", "NTPCore", "FleetCrypto"]),
        .testTarget(
            name: "NTSKETests",
            dependencies: [
                "NTSKE", "NTSKECore", "NTPCore", "NodeModels", "FleetCrypto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        // TEST ONLY: OpenSSL's own AES-SIV and CMAC, the independent implementation FleetCrypto is cross-checked against.
        .target(name: "CCryptoReference", dependencies: ["COpenSSL"], path: "Tests/CCryptoReference"),
        .testTarget(name: "FleetCryptoTests", dependencies: ["FleetCrypto", "NTPCore", "CCryptoReference"]),
        .testTarget(
            name: "NodeTests",
            dependencies: [
                "Node", "NodeModels", "NetworkEdges", "ConfigFile", "Fleet", "NTPCore", "TimeCore", "NTSKE", "NTSKECore", "GPSTestSupport", "FleetCrypto", "CFleetShim",
                "Admin", "CRefclockTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
    ]
)
