import CRefclock
import NTPCore

/// What one gpsd line said, as the client reports it: the events it carries (in the order the client
/// yields them), gpsd's VERSION when it was one, or that it was malformed.
public struct GPSDDecodedReport: Sendable, Hashable {
    /// Not one whole JSON object, an unknown class, or a TPV whose time libgps could not read: counted as a
    /// parse error, no event.
    public var malformed: Bool
    /// The line's JSON "class" when found ("" otherwise), for the parse-error log line.
    public var lineClass: String
    /// CLOCK_REALTIME when the line was read.
    public var received: UnixTime
    public var server: GPSDServerInfo?
    public var events: [GPSDEvent]
}

/// Turns libgps's flat reports (`crf_gps_report`, from `crf_gps_read` or `crf_gps_decoder_unpack`) into
/// `GPSDEvent`s: the conversion `GPSDClient` applies to every line gpsd sends, without I/O. It remembers
/// the last TPV time, the pivot for TOFF and PPS seconds that libgps 3.22 truncates to 32 bits
/// (`GPSDSecondsEra`).
public struct GPSDReportDecoder: Sendable {
    /// Unix seconds of the last TPV that carried a time (full width: ISO 8601 text).
    public private(set) var lastFixTime: Int64?

    public init() {}

    public mutating func decode(_ r: crf_gps_report) -> GPSDDecodedReport {
        let kinds = r.kinds
        let received = UnixTime(r.received)
        var decoded = GPSDDecodedReport(
            malformed: false, lineClass: string(fromCArray: r.line_class), received: received, server: nil, events: [])
        if kinds & UInt32(CRF_GPS_UNKNOWN) != 0 {
            decoded.malformed = true
            return decoded
        }
        let pivot = lastFixTime
        // The receiver's side is resolved near its last TPV time (or the system clock before one arrived),
        // the system side near the system clock.
        func real(_ time: crf_time) -> UnixTime {
            var value = UnixTime(time)
            value.seconds = GPSDSecondsEra.resolve(value.seconds, near: pivot ?? received.seconds)
            return value
        }
        func system(_ time: crf_time) -> UnixTime {
            var value = UnixTime(time)
            value.seconds = GPSDSecondsEra.resolve(value.seconds, near: received.seconds)
            return value
        }
        if kinds & UInt32(CRF_GPS_VERSION) != 0 {
            decoded.server = GPSDServerInfo(
                release: string(fromCArray: r.release), protocolMajor: Int(r.proto_major), protocolMinor: Int(r.proto_minor))
        }
        if kinds & UInt32(CRF_GPS_DEVICES) != 0, r.device_count > 0 {
            decoded.events.append(.device(GPSDDevice(path: string(fromCArray: r.device_path), driver: string(fromCArray: r.driver))))
        }
        if kinds & UInt32(CRF_GPS_TPV) != 0 {
            let mode = GPSFixMode(gpsdMode: Int(r.mode))
            if kinds & UInt32(CRF_GPS_TIME) != 0 {
                lastFixTime = UnixTime(r.time).seconds
                decoded.events.append(
                    .time(
                        GPSTime(
                            time: UnixTime(r.time),
                            received: received,
                            mode: mode,
                            status: Int(r.status),
                            leapSeconds: kinds & UInt32(CRF_GPS_LEAP) != 0 ? Int(r.leap_seconds) : nil,
                            timeUncertainty: r.ept.isFinite ? r.ept : nil,
                            device: kinds & UInt32(CRF_GPS_DEVICE) != 0 ? string(fromCArray: r.device_path) : nil
                        )))
            } else {
                decoded.events.append(.fixWithoutTime(mode: mode, received: received))
            }
        }
        if kinds & UInt32(CRF_GPS_SKY) != 0 {
            decoded.events.append(.sky(used: Int(r.satellites_used), visible: Int(r.satellites_visible)))
        }
        if kinds & UInt32(CRF_GPS_TOFF) != 0 {
            decoded.events.append(.toff(reference: real(r.toff_real), system: system(r.toff_clock)))
        }
        if kinds & UInt32(CRF_GPS_PPS) != 0 {
            decoded.events.append(.pps(reference: real(r.pps_real), system: system(r.pps_clock)))
        }
        if kinds & UInt32(CRF_GPS_ERROR) != 0 {
            decoded.events.append(.gpsdError(string(fromCArray: r.error)))
        }
        return decoded
    }
}

/// gpsd lines decoded without a connection: libgps's `gps_unpack` into one `gps_data_t` (state carries
/// over between lines as in a session), then the client's own decoding (`GPSDReportDecoder`). The fuzz
/// target for gpsd's JSON and the tests run lines through it; `GPSDClient` takes the same path after
/// `gps_read`. Not thread-safe: one owner.
public final class GPSDLineDecoder {
    private let decoder: OpaquePointer
    public private(set) var reports = GPSDReportDecoder()

    /// Nil only when the C allocation fails.
    public init?() {
        guard let decoder = crf_gps_decoder_new() else { return nil }
        self.decoder = decoder
    }

    deinit { crf_gps_decoder_free(decoder) }

    /// One line as gpsd sends it (without its line break), received at `received`; nil for a line longer
    /// than libgps takes (`CRF_GPS_LINE_MAX`).
    public func decode(line: some Collection<UInt8>, received: UnixTime) -> GPSDDecodedReport? {
        var report = crf_gps_report()
        let time = crf_time(sec: received.seconds, nsec: Int32(received.nanoseconds))
        var bytes = Array(line)
        let length = bytes.count
        bytes.append(0)  // never an empty buffer (its base address would be nil)
        let status = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                crf_gps_decoder_unpack(decoder, chars.baseAddress!, length, time, &report)
            }
        }
        guard status > 0 else { return nil }
        return reports.decode(report)
    }
}
