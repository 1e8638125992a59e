import NetworkEdges
import NodeModels
import Foundation
import NTPCore
import Node
import XCTest

/// A running node answers real queries with correct timestamps, and reports itself in status.
final class ServingTests: XCTestCase {
    func testQueryGetsLocalStratumAndSaneTimestamps() async throws {
        let node = try await NodeProcess(config: """
            [local]
            stratum = 3
            [ntp]
            listen = ["127.0.0.1:0", "[::1]:0"]
            threads = 2
            socket_buffer = 1048576
            """)
        let port4 = try await node.port(of: "127.0.0.1")
        let port6 = try await node.port(of: "::1")

        for endpoint in [SocketEndpoint(host: "127.0.0.1", port: port4), SocketEndpoint(host: "::1", port: port6)] {
            let measurement = try NTPQueryClient(server: endpoint).query()
            XCTAssertEqual(measurement.stratum, 3)
            XCTAssertEqual(measurement.referenceID, .locl)
            XCTAssertEqual(measurement.leap, .noWarning)
            // Same machine, same clock, software clock without correction: with correct T2 (kernel receive
            // stamp) and T3 (read just before sending), RFC 5905's bound |offset| <= delay / 2 must hold,
            // up to the clocks' precision.
            XCTAssertLessThanOrEqual(abs(measurement.offset), measurement.delay / 2 + 1e-6, "offset \(measurement.offset), delay \(measurement.delay)")
            XCTAssertLessThan(measurement.delay, 0.1)
            XCTAssertGreaterThanOrEqual((measurement.serverTransmit - measurement.serverReceive).seconds, 0)
        }

        // A receive loop adds a batch to its counters after sending the replies: wait until both are in.
        try await waitFor(node, seconds: 2) { $0.ntp.received >= 2 }
        let status = try await node.status()
        XCTAssertEqual(status.serving.source, "local")
        XCTAssertEqual(status.serving.stratum, 3)
        XCTAssertTrue(status.serving.synchronized)
        XCTAssertEqual(status.clock.driver, "software")
        XCTAssertEqual(status.listeners.first { $0.address == "127.0.0.1" }?.sockets, 2, "one SO_REUSEPORT socket per thread")
        // socket_buffer reached the sockets: Linux reports twice what was granted, which is the size asked
        // for (as root, or within net.core.rmem_max) or rmem_max.
        let rmemMax = Int((try? String(contentsOfFile: "/proc/sys/net/core/rmem_max", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        let expected = 2 * (getuid() == 0 ? 1_048_576 : min(1_048_576, rmemMax))
        for listener in status.listeners {
            XCTAssertEqual(listener.receiveBuffer, expected, "\(listener.address)")
        }
        XCTAssertEqual(status.ntp.received, 2)
        XCTAssertEqual(status.ntp.answered, 2)
        // Receive timestamps come from the kernel. Linux turns software receive stamping on machine-wide
        // through a deferred switch when the first socket asks for it, so the very first datagram after start
        // may come without one; the node then reads the clock instead.
        XCTAssertGreaterThanOrEqual(status.ntp.kernelTimestamps, 1, "receive timestamps come from the kernel")
        XCTAssertEqual(node.stop(), 0, "SIGTERM stops the node cleanly")
        XCTAssertFalse(FileManager.default.fileExists(atPath: node.statusSocket), "status socket removed at shutdown")
    }

    /// Load shedding sheds a lasting backlog, not a burst: with the node stopped (SIGSTOP) while requests
    /// pile up in its socket, a backlog of a few (less than one batch) is answered in full however long it
    /// waited, while a backlog of many batches is mostly dropped as tooOld (counted, never answered) once
    /// the loop has been behind for longer than the bound. With the bound off, all of it is answered late.
    func testALastingBacklogIsShedAndABurstIsAnswered() async throws {
        func backlog(_ count: Int, bound: String) async throws -> ServerCounters {
            let node = try await NodeProcess(config: """
                [local]
                stratum = 3
                [ntp]
                listen = ["127.0.0.1:0"]
                threads = 1
                batch = 8
                socket_buffer = 4194304
                max_queue_delay = \(bound)
                """)
            let client = try RawUDPClient(host: "127.0.0.1", port: try await node.port(of: "127.0.0.1"))
            node.signal(SIGSTOP)
            for index in 0..<count {
                client.send(NTPPacket(header: ClientExchange.request(transmit: NTPTimestamp(rawValue: UInt64(index + 1) << 20))).serialized())
            }
            try await Task.sleep(for: .milliseconds(50))
            node.signal(SIGCONT)
            try await waitFor(node, seconds: 10) { $0.ntp.received >= count }
            _ = client.drain(quietMilliseconds: 200)
            let status = try await node.status()
            if bound == "0" {
                XCTAssertNil(status.maxQueueDelaySeconds)
            } else {
                XCTAssertEqual(status.maxQueueDelaySeconds ?? -1, Double(bound)! / 1000, accuracy: 1e-9)
            }
            XCTAssertEqual(status.ntp.received, UInt64(count), "the socket buffer held the whole backlog")
            XCTAssertEqual(status.ntp.answered + (status.ntp.dropped["tooOld"] ?? 0), UInt64(count), "every request answered or counted as shed")
            return status.ntp
        }
        let burst = try await backlog(6, bound: "1")
        XCTAssertEqual(burst.answered, 6, "less than a batch: the loop caught up at once, nothing shed although all waited 50 ms")
        let lasting = try await backlog(2000, bound: "1")
        print("load shedding: lasting backlog of 2000 (waited 50 ms, bound 1 ms): \(lasting.answered) answered, \(lasting.dropped["tooOld"] ?? 0) shed")
        XCTAssertGreaterThanOrEqual(lasting.answered, 8, "the first batch is read before the loop counts as behind")
        XCTAssertGreaterThan(lasting.dropped["tooOld"] ?? 0, 1000, "most of a lasting backlog is shed")
        XCTAssertGreaterThanOrEqual(lasting.precision?.queueingDelay.count ?? 0, 8, "the answers' queueing delays are recorded")
        let unbounded = try await backlog(2000, bound: "0")
        XCTAssertEqual(unbounded.answered, 2000, "max_queue_delay = 0 answers whatever the wait")
    }

    /// `[ntp] send`: "each" (the default) sends every reply in a call of its own with its basic-mode T3 read
    /// just before it (as chronyd does), "batch" a whole batch in one sendmmsg with each T3 predicted for
    /// its place. Bursts of 64 requests, read in batches of 32: both answer all, every reply's kernel
    /// transmit stamp comes back and measures its T3 (kernel stamp minus T3, the node's own figure), and
    /// status says which. One at a time, T3 is within microseconds of the kernel's stamp (the learned lead
    /// added): the median is asserted; the spread of both is printed (timing figures, not asserted).
    func testRepliesLeaveOneByOneOrInBatches() async throws {
        let requests = 256
        for mode in ["each", "batch"] {
            let node = try await NodeProcess(config: """
                [local]
                stratum = 3
                [ntp]
                listen = ["127.0.0.1:0"]
                threads = 1
                batch = 32
                send = "\(mode)"
                """)
            let client = try RawUDPClient(host: "127.0.0.1", port: try await node.port(of: "127.0.0.1"))
            var received = 0
            for burst in 0..<(requests / 64) {
                for index in 0..<64 {
                    let transmit = NTPTimestamp(rawValue: UInt64(burst * 64 + index + 1) << 20)
                    client.send(NTPPacket(header: ClientExchange.request(transmit: transmit)).serialized())
                }
                received += client.drain(quietMilliseconds: 100).count
            }
            try await waitFor(node, seconds: 5) {
                $0.ntp.answered >= UInt64(requests) && ($0.ntp.precision?.kernelTransmitTimestamps ?? 0) >= UInt64(requests)
            }
            let status = try await node.status()
            XCTAssertEqual(status.sendMode, mode)
            XCTAssertTrue(StatusReport.text(status).contains(mode == "each" ? "Replies sent    : one per send call" : "Replies sent    : one sendmmsg per batch"))
            XCTAssertEqual(received, requests, "\(mode): every reply arrived")
            XCTAssertEqual(status.ntp.answered, UInt64(requests), mode)
            XCTAssertEqual(status.ntp.droppedTotal, 0, mode)
            let error = try XCTUnwrap(status.ntp.precision?.transmitTimestampError)
            XCTAssertEqual(error.count, UInt64(requests), "\(mode): every reply's kernel transmit stamp measured its T3")
            print(String(
                format: "send = %@: kernel TX stamp minus T3 over %d replies: mean %.2f us, sd %.2f us, p50 %.2f us, p99 %.2f us",
                mode, requests, error.meanNanoseconds / 1e3, error.standardDeviationNanoseconds / 1e3,
                Double(error.quantileNanoseconds(0.5)) / 1e3, Double(error.quantileNanoseconds(0.99)) / 1e3))
            if mode == "each" {
                XCTAssertLessThan(abs(error.quantileNanoseconds(0.5)), 20_000, "T3 read just before its own send call")
            }
            XCTAssertEqual(node.stop(), 0)
        }
    }

    func testUnsynchronisedNodeAnswersLeapThree() async throws {
        let node = try await NodeProcess(config: """
            [ntp]
            listen = ["127.0.0.1:0"]
            """)
        let port = try await node.port(of: "127.0.0.1")
        let client = try RawUDPClient(host: "127.0.0.1", port: port)
        let transmit = NTPTimestamp(rawValue: 0x0123_4567_89AB_CDEF)
        client.send(NTPPacket(header: ClientExchange.request(transmit: transmit)).serialized())
        let reply = try XCTUnwrap(client.receive(timeoutMilliseconds: 2000))
        let header = try NTPHeader(parsing: reply)
        XCTAssertEqual(header.leap, .unsynchronized)
        XCTAssertEqual(header.stratum, 0)
        XCTAssertEqual(header.mode, .server)
        XCTAssertEqual(header.originTimestamp, transmit, "origin echoes the client's transmit timestamp unchanged")

        XCTAssertThrowsError(try NTPQueryClient(server: .init(host: "127.0.0.1", port: port)).query()) { error in
            XCTAssertEqual(error as? ExchangeError, .unsynchronized)
        }
        let status = try await node.status()
        XCTAssertFalse(status.serving.synchronized)
        XCTAssertEqual(status.serving.source, "none")
    }

    func testFleetctlQueryPrintsTheAnswer() async throws {
        let node = try await NodeProcess(config: """
            [local]
            stratum = 2
            [ntp]
            listen = ["127.0.0.1:0"]
            """)
        let port = try await node.port(of: "127.0.0.1")
        let fleetctl = NodeProcess.binDirectory.appendingPathComponent("fleetctl").path
        let result = try ExternalTool.run(fleetctl, ["query", "127.0.0.1:\(port)", "--json"], timeout: 10)
        XCTAssertEqual(result.status, 0, result.stderr)
        let decoded = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(decoded?["stratum"] as? Int, 2)
        XCTAssertEqual(decoded?["referenceID"] as? String, "LOCL")

        // A port where nobody answers: a clear error and exit status 2, within the timeout.
        node.stop()
        let silent = try ExternalTool.run(fleetctl, ["query", "127.0.0.1:\(port)", "--timeout", "0.5"], timeout: 10)
        XCTAssertEqual(silent.status, 2)
        XCTAssertTrue(silent.stderr.contains("127.0.0.1:\(port)"), silent.stderr)
    }
}
