import Admin
import Foundation
import XCTest

/// A connection-slot attacker and a well-behaved client for a node's TCP listeners, as Python processes
/// (the test's own process keeps its descriptors and CPU for measuring). The attacker holds `perAddress`
/// connections from each of `addresses` loopback source addresses (127.1.0.1 and up), sends one byte of a
/// request that never ends every half second on each (a TLS ClientHello prefix or an HTTP header), and
/// reconnects 10 ms after the node closes one. It prints one JSON line a second: connections open from its
/// side, connects made and closes seen.
struct ConnectionFlood {
    enum Payload: String { case tls, http }

    static let python = "/usr/bin/python3"

    /// scripts/connection-attacker.py, which the soak runs too.
    static let attackerScript = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/connection-attacker.py").path

    static let goodClientScript = #"""
        import http.client, json, socket, ssl, sys, time
        port, tries, pause, kind = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
        context = None
        if kind == "admin":
            context = ssl.create_default_context(cafile=sys.argv[5])
            context.load_cert_chain(sys.argv[6], sys.argv[7])
        latencies, failures = [], []
        for _ in range(tries):
            start = time.monotonic()
            try:
                if context:
                    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=1, source_address=("127.0.0.1", 0))
                    path = "/v1/health"
                else:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1, source_address=("127.0.0.1", 0))
                    path = "/metrics"
                connection.request("GET", path)
                response = connection.getresponse()
                body = response.read()
                elapsed = time.monotonic() - start
                connection.close()
                if response.status == 200 and elapsed <= 1.0 and body:
                    latencies.append(elapsed)
                else:
                    failures.append("HTTP %d after %.3f s" % (response.status, elapsed))
            except Exception as error:
                failures.append("%s after %.3f s: %s" % (type(error).__name__, time.monotonic() - start, error))
            time.sleep(pause)
        latencies.sort()
        print(json.dumps({"ok": len(latencies), "failures": failures,
                          "median": latencies[len(latencies) // 2] if latencies else None,
                          "p99": latencies[max(0, int(len(latencies) * 0.99) - 1)] if latencies else None,
                          "max": latencies[-1] if latencies else None}))
        """#

    struct Attack {
        let process: Process
        let output: URL

        /// The attacker's last report: connections open on its side, connects made, closes seen.
        var last: [String: Int] {
            let lines = ((try? String(contentsOf: output, encoding: .utf8)) ?? "").split(separator: "\n")
            guard let line = lines.last, let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Int] else { return [:] }
            return object
        }

        var peakOpen: Int {
            ((try? String(contentsOf: output, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Int])?["open"]
            }.max() ?? 0
        }

        func stop() {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            ChildProcessReaper.forget(process)
        }
    }

    static func attack(port: Int, addresses: Int, perAddress: Int, seconds: Double, payload: Payload, in directory: URL) throws -> Attack {
        guard FileManager.default.isExecutableFile(atPath: python) else { throw XCTSkip("no \(python)") }
        let output = directory.appendingPathComponent("attacker-\(payload.rawValue).jsonl")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [attackerScript, "\(port)", "\(addresses)", "\(perAddress)", "\(seconds)", payload.rawValue]
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        ChildProcessReaper.track(process)
        return Attack(process: process, output: output)
    }

    struct GoodClientResult: Decodable {
        let ok: Int
        let failures: [String]
        let median: Double?
        let p99: Double?
        let max: Double?
    }

    /// `tries` requests one after another, each on a new connection from 127.0.0.1, with a 1 s limit each.
    static func goodClient(port: Int, tries: Int, pause: Double, admin: AdminCredentials?) throws -> GoodClientResult {
        var arguments = ["-c", goodClientScript, "\(port)", "\(tries)", "\(pause)", admin == nil ? "metrics" : "admin"]
        if let admin { arguments += [admin.ca, admin.certificate, admin.privateKey] }
        let result = try ExternalTool.run(python, arguments, timeout: Double(tries) * (1.5 + pause) + 30)
        return try JSONDecoder().decode(GoodClientResult.self, from: Data(result.stdout.utf8))
    }
}

/// Descriptors and resident memory of a process, from /proc.
struct ProcessFootprint: CustomStringConvertible {
    let descriptors: Int
    let residentKiB: Int

    init(pid: Int32) {
        descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        residentKiB = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
            .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? -1
    }

    var description: String { "\(descriptors) descriptors, \(residentKiB / 1024) MiB resident" }
}
