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

    static let attackerScript = #"""
        import json, resource, selectors, socket, sys, time
        port, addresses, per_address, duration, payload = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
        data = bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]) + bytes(500) if payload == "tls" \
            else b"GET /metrics HTTP/1.1\r\nHost: node\r\nX-Slow: " + b"a" * 4000
        sel = selectors.DefaultSelector()
        slots = [{"source": "127.1.%d.%d" % (a // 250, a % 250 + 1), "sock": None, "connected": False, "sent": 0, "next": 0.0, "retry": 0.0}
                 for a in range(addresses) for _ in range(per_address)]
        connects = closes = 0
        def drop(slot, now):
            global closes
            if slot["sock"] is not None:
                try: sel.unregister(slot["sock"])
                except Exception: pass
                slot["sock"].close()
                closes += 1
            slot.update(sock=None, connected=False, sent=0, retry=now + 0.01)
        def connect(slot, now):
            global connects
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.bind((slot["source"], 0))
                s.connect_ex(("127.0.0.1", port))
            except OSError:
                s.close(); slot["retry"] = now + 0.1; return
            slot.update(sock=s, connected=False, sent=0, next=now)
            sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, slot)
            connects += 1
        start = time.monotonic(); report = start + 1
        while time.monotonic() - start < duration:
            now = time.monotonic()
            for slot in slots:
                if slot["sock"] is None and now >= slot["retry"]:
                    connect(slot, now)
                elif slot["connected"] and now >= slot["next"] and slot["sent"] < len(data):
                    try:
                        slot["sock"].send(data[slot["sent"]:slot["sent"] + 1]); slot["sent"] += 1; slot["next"] = now + 0.5
                    except OSError:
                        drop(slot, now)
            for key, events in sel.select(timeout=0.02):
                slot = key.data
                if slot["sock"] is None: continue
                if events & selectors.EVENT_READ:
                    try:
                        if slot["sock"].recv(4096) == b"": drop(slot, now); continue
                    except (BlockingIOError, InterruptedError): pass
                    except OSError: drop(slot, now); continue
                if events & selectors.EVENT_WRITE and not slot["connected"]:
                    if slot["sock"].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0: drop(slot, now); continue
                    slot["connected"] = True
                    sel.modify(slot["sock"], selectors.EVENT_READ, slot)
            if now >= report:
                report += 1
                print(json.dumps({"open": sum(1 for s in slots if s["connected"]), "connects": connects, "closes": closes}), flush=True)
        """#

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
        }
    }

    static func attack(port: Int, addresses: Int, perAddress: Int, seconds: Double, payload: Payload, in directory: URL) throws -> Attack {
        guard FileManager.default.isExecutableFile(atPath: python) else { throw XCTSkip("no \(python)") }
        let output = directory.appendingPathComponent("attacker-\(payload.rawValue).jsonl")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", attackerScript, "\(port)", "\(addresses)", "\(perAddress)", "\(seconds)", payload.rawValue]
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
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
