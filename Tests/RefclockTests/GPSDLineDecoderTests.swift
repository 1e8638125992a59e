import CRefclock
import NTPCore
import Refclock
import XCTest

/// gpsd lines through libgps's `gps_unpack` and the client's decoding (`GPSDLineDecoder`, the path
/// `GPSDClient` takes after `gps_read`), and the node's choice of samples (`GPSDSampleSelector`).
final class GPSDLineDecoderTests: XCTestCase {
    let received = UnixTime(seconds: 1_796_212_801, nanoseconds: 300_000_000)

    func decode(_ lines: [String]) throws -> [GPSDDecodedReport] {
        let decoder = try XCTUnwrap(GPSDLineDecoder())
        return try lines.map { try XCTUnwrap(decoder.decode(line: Array($0.utf8), received: received)) }
    }

    func testReportsDecodeAsTheClientDecodesThem() throws {
        let reports = try decode([
            #"{"class":"VERSION","release":"3.22","rev":"3.22","proto_major":3,"proto_minor":14}"#,
            #"{"class":"TPV","device":"/dev/ttyS0","mode":3,"time":"2038-01-19T03:14:07.000Z","leapseconds":18,"ept":0.005}"#,
            // libgps 3.22 reads TOFF seconds through an int: resolved near the TPV's time (GPSDSecondsEra).
            #"{"class":"TOFF","device":"/dev/ttyS0","real_sec":2147483648,"real_nsec":0,"clock_sec":1796212801,"clock_nsec":5,"precision":-1}"#,
            #"{"class":"SKY","device":"/dev/ttyS0","satellites":[{"PRN":1,"used":true},{"PRN":2,"used":false}]}"#,
            #"{"class":"ERROR","message":"Unrecognized request"}"#,
        ])
        XCTAssertEqual(reports[0].server, GPSDServerInfo(release: "3.22", protocolMajor: 3, protocolMinor: 14))
        guard case .time(let time) = reports[1].events.first else { return XCTFail("\(reports[1])") }
        XCTAssertEqual(time.time, UnixTime(seconds: 2_147_483_647, nanoseconds: 0))
        XCTAssertEqual(time.mode, .threeD)
        XCTAssertEqual(time.leapSeconds, 18)
        XCTAssertEqual(time.device, "/dev/ttyS0")
        XCTAssertEqual(reports[2].events, [.toff(reference: UnixTime(seconds: 2_147_483_648, nanoseconds: 0), system: UnixTime(seconds: 1_796_212_801, nanoseconds: 5))])
        XCTAssertEqual(reports[3].events, [.sky(used: 1, visible: 2)])
        XCTAssertEqual(reports[4].events, [.gpsdError("Unrecognized request")])
        XCTAssertTrue(reports.allSatisfy { !$0.malformed && $0.received == received })
    }

    func testMalformedLinesAreCountedNotDecoded() throws {
        let reports = try decode([
            #"{"class":"TPV","mode":3,"time":"2026-12-02T12:00:01.0"#, "not json", #"{"class":"TPV","mode":3,"time":"yesterday"}"#,
            #"{"class":"NOSUCH","x":1}"#,
        ])
        XCTAssertEqual(reports.map(\.malformed), [true, true, true, true])
        XCTAssertTrue(reports.allSatisfy(\.events.isEmpty))
        XCTAssertEqual(reports[2].lineClass, "TPV")
        let decoder = try XCTUnwrap(GPSDLineDecoder())
        XCTAssertNil(decoder.decode(line: [UInt8](repeating: UInt8(ascii: "x"), count: Int(CRF_GPS_LINE_MAX) + 1), received: received))
    }

    /// Lines that make libgps 3.22's gps_unpack loop forever (fuzz-gpsd-json) never reach it; well-formed JSON
    /// still does, white space and escapes included.
    func testOnlyWellFormedJSONReachesLibgps() throws {
        let hanging = [
            #"{"class":"DEVICES","devices":[{"class":"DEVICE","path":"a"b"}]}"#,
            #"{"class":"DEVICES","devices":[{"class":"DEVICE",x}]}"#,
            #"{"class":"DEVICES","devices":[{"class":"DEVICE","path":"a"b}]}"#,
            // Well-formed JSON that hangs it too: a device value of the wrong type, a DEVICES hidden behind a
            // first "class" libgps does not see, nested DEVICES.
            #"{"class":"DEVICES","devices":[{"class":"DEVICE","path":1}]}"#,
            #"{"class" : "TPV", "class":"DEVICES","devices":[{"class":"DEVICE","path":1}]}"#,
            #"{"class":"DEVICES","devices":[{"class":"DEVICES","devices":[{"class":"DEVICE","path":1}]}]}"#,
            // Any class with such a "devices" member, and a device object with one inside.
            #"{"class":"WATCH","devices":[{"class":"DEVICE","path":1}]}"#,
            #"{"class":"DEVICES","devices":[{"class":"DEVICE","devices":[{"class":"DEVICE","path":1}]}]}"#,
            // A class libgps finds first that is not the object's own, a DEVICE report that is not flat.
            #"{"clasices":[{"class":"DEVICE","path":1}]}"#,
            #"{"class":"DEVICE","x":[{"class":"DEVICE","path":1}]}"#,
            // A nested class libgps goes on to after failing on the outer object.
            #"{"class":"WATCH","deppsvices":[{"class":"DEVICE","path":2}]}"#,
        ]
        XCTAssertEqual(try decode(hanging).map(\.malformed), [Bool](repeating: true, count: 11))
        XCTAssertEqual(
            try decode(hanging).map(\.lineClass),
            ["DEVICES", "DEVICES", "DEVICES", "DEVICES", "TPV", "DEVICES", "WATCH", "DEVICES", "DEVICE", "DEVICE", "WATCH"])
        // The first device is still read when a later one would hang libgps; the others are counted.
        let devices = try decode([
            #"{"class":"DEVICES","devices":[{"class":"DEVICE","path":"/dev/ttyS0","driver":"NMEA0183"},{"class":"DEVICE2","path":"b","flags":"x"}]}"#,
        ])
        XCTAssertEqual(devices[0].events, [.device(GPSDDevice(path: "/dev/ttyS0", driver: "NMEA0183"))])
        let wellFormed = try decode([
            "{\"class\":\"SKY\", \"satellites\": [{\"PRN\":1,\"el\":-4.5e+1,\"used\":true}]}\r",
            #"{"class":"DEVICE","path":"/dev/tty\u0053\"0","driver":"x"}"#,
        ])
        XCTAssertEqual(wellFormed[0].events, [.sky(used: 1, visible: 1)])
        XCTAssertEqual(wellFormed[1].events, [.device(GPSDDevice(path: "/dev/ttyS\"0", driver: "x"))])
        for bad in [#"{"a":01}"#, #"{"a":1.}"#, "{\"a\":\"\u{01}\"}", #"{"a":tru}"#, #"{"a":1}x"#, String(repeating: "[", count: 40)] {
            XCTAssertEqual(try decode(["{\"class\":\"TPV\",\"mode\":3,\"v\":" + bad + "}"]).first?.malformed, true, bad)
        }
    }

    func testSelectorKeepsTheBestKindAndNeedsAFix() {
        var selector = GPSDSampleSelector()
        let t = UnixTime(seconds: 1_796_212_801, nanoseconds: 0)
        let noFix = GPSDEvent.time(GPSTime(time: t, received: received, mode: .noFix))
        let fix = GPSDEvent.time(GPSTime(time: t, received: received, mode: .threeD))
        XCTAssertNil(selector.sample(for: noFix))
        XCTAssertNil(selector.sample(for: .pps(reference: t, system: received)), "no PPS sample without a fix")
        XCTAssertEqual(selector.sample(for: fix)?.dispersion, 1e-3)
        XCTAssertEqual(selector.sample(for: .toff(reference: t, system: received)), .init(reference: t, system: received, dispersion: 1e-3))
        XCTAssertNil(selector.sample(for: fix), "TPV once TOFF was seen")
        XCTAssertEqual(selector.sample(for: .pps(reference: t, system: received))?.dispersion, 1e-6)
        XCTAssertNil(selector.sample(for: .toff(reference: t, system: received)), "TOFF once PPS was seen")
        _ = selector.sample(for: .disconnected(reason: "test"))
        XCTAssertNotNil(selector.sample(for: fix), "a new connection starts over")
    }
}
