/// The client side of one NTP exchange (RFC 5905 §8), free of I/O: build the request, then check the response
/// and reduce the four timestamps to offset, delay and dispersion. Upstream sources, sibling peering and fleet
/// probes all use it.
///
/// Like chrony, the transmit timestamp sent on the wire may be a random cookie (it leaks nothing about the
/// local clock and makes forged responses hard); the real local send time T1 is kept by the caller.
public enum ClientExchange {
    /// RFC 5905 §11.2: frequency tolerance PHI.
    public static let phi = 15e-6

    /// A client-mode request header carrying `transmit` as its transmit timestamp.
    public static func request(transmit: NTPTimestamp, poll: Int8 = 6, version: UInt8 = 4) -> NTPHeader {
        NTPHeader(leap: .unsynchronized, version: version, mode: .client, poll: poll, transmitTimestamp: transmit)
    }

    /// Checks `response` against the request whose wire transmit timestamp was `sentTransmit`, and measures.
    /// - Parameters:
    ///   - t1: the local time the request left.
    ///   - t4: the local time the response arrived.
    ///   - localPrecision: the local clock's precision in seconds.
    public static func measure(
        response: [UInt8],
        sentTransmit: NTPTimestamp,
        t1: NTPTimestamp,
        t4: NTPTimestamp,
        localPrecision: Double
    ) throws(ExchangeError) -> NTPMeasurement {
        let packet: NTPPacket
        do {
            packet = try NTPPacket(parsing: response)
        } catch {
            throw .malformed(error)
        }
        guard packet.header.mode == .server || packet.header.mode == .symmetricPassive else {
            throw .unexpectedMode(packet.header.mode)
        }
        guard packet.header.originTimestamp == sentTransmit else { throw .bogusOrigin }
        try check(packet.header)
        return measurement(
            header: packet.header, t1: t1, t2: packet.header.receiveTimestamp, t3: packet.header.transmitTimestamp, t4: t4,
            localPrecision: localPrecision)
    }

    /// The RFC 5905 §8 packet tests other than the origin match (which depends on the mode, basic or
    /// interleaved): a server-mode packet, no kiss, synchronised, non-zero receive and transmit timestamps.
    public static func check(_ header: NTPHeader) throws(ExchangeError) {
        guard header.mode == .server || header.mode == .symmetricPassive else {
            throw .unexpectedMode(header.mode)
        }
        // RFC 5905 §7.4: a kiss is stratum 0 with an ASCII code; an unsynchronised server also sends stratum 0,
        // but with a zero (or otherwise non-ASCII) reference id.
        if header.stratum == 0, let code = header.referenceID.asciiString, !code.isEmpty {
            throw .kissOfDeath(header.referenceID)
        }
        guard header.leap != .unsynchronized, header.stratum != 0, header.stratum < ServerState.unsynchronizedStratum else {
            throw .unsynchronized
        }
        guard header.receiveTimestamp != .zero, header.transmitTimestamp != .zero else { throw .zeroTimestamp }
    }

    /// Offset, delay and dispersion from the four timestamps of one exchange (RFC 5905 §8), with what
    /// `header` says about the server. In interleaved mode (RFC 9769 §2) the four belong to the previous
    /// exchange and only T3 comes from `header`.
    public static func measurement(
        header: NTPHeader, t1: NTPTimestamp, t2: NTPTimestamp, t3: NTPTimestamp, t4: NTPTimestamp, localPrecision: Double
    ) -> NTPMeasurement {
        let offset = ((t2 - t1).seconds + (t3 - t4).seconds) / 2
        let serverPrecision = precisionSeconds(header.precision)
        let rawDelay = (t4 - t1).seconds - (t3 - t2).seconds
        let delay = max(rawDelay, serverPrecision + localPrecision)
        let dispersion = serverPrecision + localPrecision + phi * max(0, (t4 - t1).seconds)
        return NTPMeasurement(
            offset: offset, delay: delay, dispersion: dispersion,
            leap: header.leap, stratum: header.stratum, poll: header.poll, precision: header.precision,
            rootDelay: header.rootDelay.seconds, rootDispersion: header.rootDispersion.seconds,
            referenceID: header.referenceID, referenceTime: header.referenceTimestamp,
            serverReceive: t2, serverTransmit: t3)
    }

    /// 2^precision seconds.
    public static func precisionSeconds(_ precision: Int8) -> Double {
        var value = 1.0
        if precision >= 0 {
            for _ in 0..<Int(precision) { value *= 2 }
        } else {
            for _ in 0..<Int(-Int(precision)) { value /= 2 }
        }
        return value
    }
}
