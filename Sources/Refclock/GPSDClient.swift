import CRefclock
import Dispatch
import Foundation
import Logging
import NTPCore
import NIOConcurrencyHelpers

/// A gpsd client over libgps: connects to gpsd (TCP host:port), asks it to stream JSON reports
/// (`?WATCH` with `enable`, `json` and, by default, `pps` for TOFF and PPS reports), and turns them into
/// `GPSDEvent`s stamped with the system clock.
///
/// The blocking libgps calls run on a dedicated thread (never on the Swift concurrency pool). When gpsd is
/// down, refuses, or closes the connection, the client reconnects with exponential backoff
/// (`reconnectInitialDelay` doubling to `reconnectMaxDelay`; back to the initial delay after a report).
///
/// libgps (3.22) only connects over TCP: gpsd's Unix socket (`-F`) is a control socket that does not
/// stream reports, so there is no socket-path variant.
///
/// Usage: `let client = GPSDClient(configuration: ...)`, `client.start()`, then iterate `client.events`
/// (one consumer). Ending the iteration (task cancellation) or `stop()` stops the thread promptly: a blocked
/// read is interrupted by shutting the socket down, and `events` finishes once the thread has closed the
/// connection. A connect in progress to an unreachable remote host is not interruptible (libgps connects
/// blocking); loopback and refused connects return at once.
public final class GPSDClient: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// gpsd's address (numeric or a host name resolved by libgps).
        public var host: String
        public var port: UInt16
        /// Adds `"pps":true` to the WATCH so gpsd sends TOFF and PPS reports.
        public var watchPPS: Bool
        public var reconnectInitialDelay: Duration
        public var reconnectMaxDelay: Duration
        /// How long one wait for input lasts before the stop flag is checked again (a stop also interrupts
        /// the wait at once).
        public var pollInterval: Duration
        /// Events buffered for a slow consumer; beyond this the oldest are dropped (and counted).
        public var eventBufferSize: Int

        public init(
            host: String = "127.0.0.1",
            port: UInt16 = 2947,
            watchPPS: Bool = true,
            reconnectInitialDelay: Duration = .seconds(1),
            reconnectMaxDelay: Duration = .seconds(30),
            pollInterval: Duration = .milliseconds(500),
            eventBufferSize: Int = 1024
        ) {
            self.host = host
            self.port = port
            self.watchPPS = watchPPS
            self.reconnectInitialDelay = reconnectInitialDelay
            self.reconnectMaxDelay = reconnectMaxDelay
            self.pollInterval = pollInterval
            self.eventBufferSize = eventBufferSize
        }
    }

    /// Counters for status output. Read with `statistics` at any time.
    public struct Statistics: Sendable, Hashable {
        /// Lines decoded into something known (any class), over all connections.
        public var reports: UInt64 = 0
        public var timeReports: UInt64 = 0
        public var toffReports: UInt64 = 0
        public var ppsReports: UInt64 = 0
        /// TCP connections to gpsd that were opened and watched.
        public var connects: UInt64 = 0
        /// Connections after the first one.
        public var reconnects: UInt64 = 0
        /// Attempts that failed (gpsd down, connection refused, WATCH not sent).
        public var connectFailures: UInt64 = 0
        /// Announced connections that ended.
        public var disconnects: UInt64 = 0
        /// Lines libgps could not decode into anything (not JSON, unknown or malformed reports).
        public var parseErrors: UInt64 = 0
        /// ERROR reports from gpsd.
        public var gpsdErrors: UInt64 = 0
        /// Events dropped because the consumer fell `eventBufferSize` behind.
        public var droppedEvents: UInt64 = 0
        public var connected = false
        public var server: GPSDServerInfo?
        /// The last connect or read failure, for status output.
        public var lastError: String?
        /// System time of the last decoded report.
        public var lastReport: UnixTime?

        public init() {}
    }

    public let configuration: Configuration
    /// The reports; finishes after `stop()` once the reader thread has closed its connection.
    public let events: AsyncStream<GPSDEvent>
    private let core: Core

    public init(configuration: Configuration = Configuration(), logger: Logger = Logger(label: "timefleet.refclock.gpsd")) {
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "gpsd"] = "\(configuration.host):\(configuration.port)"
        let (stream, continuation) = AsyncStream.makeStream(
            of: GPSDEvent.self,
            bufferingPolicy: .bufferingNewest(max(1, configuration.eventBufferSize))
        )
        events = stream
        core = Core(configuration: configuration, logger: logger, continuation: continuation)
        continuation.onTermination = { [weak core] _ in core?.requestStop() }
    }

    deinit {
        core.requestStop()
    }

    /// Starts the reader thread (once; later calls do nothing, also after `stop()`).
    public func start() {
        core.start()
    }

    /// Stops the reader promptly; `events` finishes when the connection is closed.
    public func stop() {
        core.requestStop()
    }

    public var statistics: Statistics {
        core.state.withLockedValue { $0.statistics }
    }

    /// True from `start()` until the reader thread has exited.
    public var isRunning: Bool {
        core.state.withLockedValue { $0.running }
    }

    // MARK: - Reader

    final class Core: Sendable {
        struct State {
            var statistics = Statistics()
            var started = false
            var running = false
            var stopRequested = false
            /// The open session, so `requestStop` can interrupt a blocked read.
            var session: SessionHandle?
        }

        /// An open libgps session (owned by the reader thread; only `crf_gps_interrupt` is called from
        /// other threads, under the state lock, and the thread closes it under the same lock).
        struct SessionHandle: @unchecked Sendable {
            let pointer: OpaquePointer
        }

        let configuration: Configuration
        let logger: Logger
        let continuation: AsyncStream<GPSDEvent>.Continuation
        let state = NIOLockedValueBox(State())
        /// Signalled by `requestStop` to cut a reconnect backoff short.
        let wakeup = DispatchSemaphore(value: 0)

        init(configuration: Configuration, logger: Logger, continuation: AsyncStream<GPSDEvent>.Continuation) {
            self.configuration = configuration
            self.logger = logger
            self.continuation = continuation
        }

        func start() {
            let shouldStart = state.withLockedValue { state -> Bool in
                guard !state.started, !state.stopRequested else { return false }
                state.started = true
                state.running = true
                return true
            }
            guard shouldStart else {
                return
            }
            let thread = Thread { [self] in
                self.run()
            }
            thread.name = "gpsd-client"
            thread.start()
        }

        func requestStop() {
            let (wasStarted, alreadyStopping) = state.withLockedValue { state -> (Bool, Bool) in
                let already = state.stopRequested
                state.stopRequested = true
                if let session = state.session {
                    crf_gps_interrupt(session.pointer)
                }
                return (state.started, already)
            }
            if !alreadyStopping {
                wakeup.signal()
                if !wasStarted {
                    continuation.finish()
                }
            }
        }

        private var stopRequested: Bool {
            state.withLockedValue { $0.stopRequested }
        }

        private func run() {
            var delay = configuration.reconnectInitialDelay
            var announcedFailure: String?
            while !stopRequested {
                var error: Int32 = 0
                let opened = crf_gps_open(configuration.host, String(configuration.port), configuration.watchPPS ? 1 : 0, &error)
                guard let session = opened else {
                    let reason = String(cString: crf_gps_errstr(error))
                    state.withLockedValue {
                        $0.statistics.connectFailures += 1
                        $0.statistics.lastError = "connect: \(reason)"
                    }
                    if announcedFailure != reason {
                        logger.warning("cannot connect to gpsd: \(reason); retrying with backoff")
                        announcedFailure = reason
                    } else {
                        logger.debug("cannot connect to gpsd: \(reason); next attempt in \(delay)")
                    }
                    sleep(delay)
                    delay = min(delay * 2, configuration.reconnectMaxDelay)
                    continue
                }
                announcedFailure = nil
                let registered = state.withLockedValue { state -> Bool in
                    state.session = SessionHandle(pointer: session)
                    state.statistics.connects += 1
                    if state.statistics.connects > 1 { state.statistics.reconnects += 1 }
                    if state.stopRequested { crf_gps_interrupt(session) }
                    return !state.stopRequested
                }
                logger.debug("connected to gpsd, WATCH sent")
                var reason = "stopped"
                var announced = false
                if registered {
                    (reason, announced) = readLoop(session, delay: &delay)
                }
                state.withLockedValue { state in
                    state.session = nil
                    state.statistics.connected = false
                    crf_gps_close(session)
                    if announced { state.statistics.disconnects += 1 }
                    if reason != "stopped" { state.statistics.lastError = "read: \(reason)" }
                }
                if announced {
                    if reason == "stopped" {
                        logger.debug("gpsd client stopped")
                    } else {
                        logger.warning("gpsd connection lost: \(reason); reconnecting")
                    }
                    continuation.yield(.disconnected(reason: reason))
                }
                if !stopRequested {
                    sleep(delay)
                    delay = min(delay * 2, configuration.reconnectMaxDelay)
                }
            }
            state.withLockedValue { $0.running = false }
            continuation.finish()
        }

        /// Reads until the connection ends or a stop. Returns the reason and whether `.connected` was sent.
        private func readLoop(_ session: OpaquePointer, delay: inout Duration) -> (String, Bool) {
            let waitMicroseconds = Int32(clamping: max(1, configuration.pollInterval.saturatingNanoseconds / 1000))
            var announced = false
            var decoder = GPSDReportDecoder()
            var report = crf_gps_report()
            while true {
                if stopRequested { return ("stopped", announced) }
                let ready = crf_gps_wait(session, waitMicroseconds)
                if ready < 0 { return ("stopped", announced) }
                if ready == 0 { continue }
                var error: Int32 = 0
                let status = crf_gps_read(session, &report, &error)
                if status < 0 {
                    if stopRequested { return ("stopped", announced) }
                    return (String(cString: crf_gps_errstr(error)), announced)
                }
                if status == 0 { continue }
                delay = configuration.reconnectInitialDelay
                handle(decoder.decode(report), announced: &announced)
            }
        }

        /// Counts, logs and yields one decoded line (`GPSDReportDecoder` did the decoding).
        private func handle(_ decoded: GPSDDecodedReport, announced: inout Bool) {
            if decoded.malformed {
                let count = state.withLockedValue { state -> UInt64 in
                    state.statistics.parseErrors += 1
                    return state.statistics.parseErrors
                }
                if count <= 10 || count.isMultiple(of: 1000) {
                    logger.notice("gpsd sent a line libgps could not decode (class \"\(decoded.lineClass)\"), \(count) so far")
                }
                return
            }
            var events: [GPSDEvent] = []
            let server = decoded.server
            if !announced {
                announced = true
                events.append(.connected(server: server))
                logger.info("connected to gpsd\(server.map { ": \($0)" } ?? "")")
            }
            events += decoded.events
            var counts = (time: UInt64(0), toff: UInt64(0), pps: UInt64(0))
            var errorText: String?
            for event in decoded.events {
                switch event {
                case .time: counts.time += 1
                case .toff: counts.toff += 1
                case .pps: counts.pps += 1
                case .gpsdError(let text):
                    errorText = text
                    logger.warning("gpsd reported an error: \(text)")
                default: break
                }
            }
            var dropped: UInt64 = 0
            for event in events {
                if case .dropped = continuation.yield(event) { dropped += 1 }
            }
            state.withLockedValue { state in
                state.statistics.reports += 1
                state.statistics.lastReport = decoded.received
                state.statistics.connected = true
                state.statistics.droppedEvents += dropped
                if let server { state.statistics.server = server }
                state.statistics.timeReports += counts.time
                state.statistics.toffReports += counts.toff
                state.statistics.ppsReports += counts.pps
                if let errorText {
                    state.statistics.gpsdErrors += 1
                    state.statistics.lastError = "gpsd: \(errorText)"
                }
            }
        }

        /// Sleeps for `duration` or until `requestStop`.
        private func sleep(_ duration: Duration) {
            let nanoseconds = max(0, duration.saturatingNanoseconds)
            let deadline = DispatchTime.now() + .nanoseconds(Int(clamping: nanoseconds))
            while !stopRequested {
                if wakeup.wait(timeout: deadline) == .timedOut { return }
            }
        }
    }
}
