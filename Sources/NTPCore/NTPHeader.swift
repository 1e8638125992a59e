/// Leap indicator, the top two bits of the first header byte (RFC 5905 §7.3).
public enum LeapIndicator: UInt8, Sendable, CaseIterable {
    case noWarning = 0
    /// Last minute of the day has 61 seconds.
    case insertSecond = 1
    /// Last minute of the day has 59 seconds.
    case deleteSecond = 2
    /// Clock not synchronised (alarm condition).
    case unsynchronized = 3

    /// Decodes the low two bits of `bits`; every 2-bit value is a case.
    init(lowBitsOf bits: UInt8) {
        switch bits & 0b11 {
        case 0: self = .noWarning
        case 1: self = .insertSecond
        case 2: self = .deleteSecond
        default: self = .unsynchronized
        }
    }
}

/// Association mode, the low three bits of the first header byte (RFC 5905 §7.3).
public enum NTPMode: UInt8, Sendable, CaseIterable {
    case reserved = 0
    case symmetricActive = 1
    case symmetricPassive = 2
    case client = 3
    case server = 4
    case broadcast = 5
    /// NTP control message (RFC 1305 Appendix B / RFC 9327).
    case control = 6
    /// Reserved for private use (ntpd's mode 7 "ntpdc" requests).
    case privateUse = 7

    /// Decodes the low three bits of `bits`; every 3-bit value is a case.
    init(lowBitsOf bits: UInt8) {
        switch bits & 0b111 {
        case 0: self = .reserved
        case 1: self = .symmetricActive
        case 2: self = .symmetricPassive
        case 3: self = .client
        case 4: self = .server
        case 5: self = .broadcast
        case 6: self = .control
        default: self = .privateUse
        }
    }
}

/// The fixed 48-byte NTP header (RFC 5905 §7.3, Figure 8).
///
/// Every bit of the header maps to exactly one field, so parsing accepts any 48
/// bytes and `serialized()` reproduces them exactly. Semantic checks (version,
/// mode, stratum) belong to the caller; `NTPPacket` checks the version.
public struct NTPHeader: Hashable, Sendable {
    public static let length = 48

    public var leap: LeapIndicator
    /// Version number, 3 bits on the wire; only the low 3 bits are written.
    public var version: UInt8
    public var mode: NTPMode
    /// 0 = unspecified / kiss-o'-death, 1 = primary (reference clock), 2-15 secondary,
    /// 16 = unsynchronised.
    public var stratum: UInt8
    /// Maximum poll interval, log2 seconds.
    public var poll: Int8
    /// Clock precision, log2 seconds.
    public var precision: Int8
    /// Total round-trip delay to the reference clock.
    public var rootDelay: NTPShort
    /// Total dispersion to the reference clock.
    public var rootDispersion: NTPShort
    public var referenceID: ReferenceID
    /// Time the system clock was last set or corrected.
    public var referenceTimestamp: NTPTimestamp
    /// T1: client's transmit time, echoed by the server.
    public var originTimestamp: NTPTimestamp
    /// T2: time the request arrived at the server.
    public var receiveTimestamp: NTPTimestamp
    /// T3: time the reply left the server (T1 for the next exchange in a request).
    public var transmitTimestamp: NTPTimestamp

    public init(
        leap: LeapIndicator = .noWarning, version: UInt8 = 4, mode: NTPMode, stratum: UInt8 = 0,
        poll: Int8 = 0, precision: Int8 = 0,
        rootDelay: NTPShort = .init(rawValue: 0), rootDispersion: NTPShort = .init(rawValue: 0),
        referenceID: ReferenceID = .init(rawValue: 0),
        referenceTimestamp: NTPTimestamp = .zero, originTimestamp: NTPTimestamp = .zero,
        receiveTimestamp: NTPTimestamp = .zero, transmitTimestamp: NTPTimestamp = .zero
    ) {
        self.leap = leap
        self.version = version
        self.mode = mode
        self.stratum = stratum
        self.poll = poll
        self.precision = precision
        self.rootDelay = rootDelay
        self.rootDispersion = rootDispersion
        self.referenceID = referenceID
        self.referenceTimestamp = referenceTimestamp
        self.originTimestamp = originTimestamp
        self.receiveTimestamp = receiveTimestamp
        self.transmitTimestamp = transmitTimestamp
    }

    /// Decodes the first 48 bytes; anything after them is ignored. Any values are
    /// accepted (the version is not validated here).
    public init(parsing bytes: UnsafeRawBufferPointer) throws(PacketError) {
        guard bytes.count >= Self.length else { throw .tooShort(length: bytes.count) }
        let first = bytes[0]
        leap = LeapIndicator(lowBitsOf: first >> 6)
        version = (first >> 3) & 0b111
        mode = NTPMode(lowBitsOf: first)
        stratum = bytes[1]
        poll = Int8(bitPattern: bytes[2])
        precision = Int8(bitPattern: bytes[3])
        rootDelay = NTPShort(rawValue: BigEndianBytes.load(UInt32.self, from: bytes, at: 4))
        rootDispersion = NTPShort(rawValue: BigEndianBytes.load(UInt32.self, from: bytes, at: 8))
        referenceID = ReferenceID(rawValue: BigEndianBytes.load(UInt32.self, from: bytes, at: 12))
        referenceTimestamp = NTPTimestamp(rawValue: BigEndianBytes.load(UInt64.self, from: bytes, at: 16))
        originTimestamp = NTPTimestamp(rawValue: BigEndianBytes.load(UInt64.self, from: bytes, at: 24))
        receiveTimestamp = NTPTimestamp(rawValue: BigEndianBytes.load(UInt64.self, from: bytes, at: 32))
        transmitTimestamp = NTPTimestamp(rawValue: BigEndianBytes.load(UInt64.self, from: bytes, at: 40))
    }

    public init(parsing bytes: [UInt8]) throws(PacketError) {
        self = try bytes.withUnsafeBytes { raw in
            Result { () throws(PacketError) in try NTPHeader(parsing: raw) }
        }.get()
    }

    /// Writes exactly 48 bytes at the start of `buffer`. If the buffer is shorter,
    /// writes nothing and returns `false`.
    @discardableResult
    public func write(to buffer: UnsafeMutableRawBufferPointer) -> Bool {
        guard buffer.count >= Self.length else { return false }
        buffer[0] = (leap.rawValue & 0b11) << 6 | (version & 0b111) << 3 | (mode.rawValue & 0b111)
        buffer[1] = stratum
        buffer[2] = UInt8(bitPattern: poll)
        buffer[3] = UInt8(bitPattern: precision)
        BigEndianBytes.store(rootDelay.rawValue, into: buffer, at: 4)
        BigEndianBytes.store(rootDispersion.rawValue, into: buffer, at: 8)
        BigEndianBytes.store(referenceID.rawValue, into: buffer, at: 12)
        BigEndianBytes.store(referenceTimestamp.rawValue, into: buffer, at: 16)
        BigEndianBytes.store(originTimestamp.rawValue, into: buffer, at: 24)
        BigEndianBytes.store(receiveTimestamp.rawValue, into: buffer, at: 32)
        BigEndianBytes.store(transmitTimestamp.rawValue, into: buffer, at: 40)
        return true
    }

    /// The 48 header bytes.
    public func serialized() -> [UInt8] {
        var bytes: [UInt8] = []
        append(to: &bytes)
        return bytes
    }

    /// Appends the 48 header bytes to `bytes`.
    func append(to bytes: inout [UInt8]) {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: Self.length))
        bytes.withUnsafeMutableBytes { buffer in
            _ = write(to: UnsafeMutableRawBufferPointer(rebasing: buffer[start...]))
        }
    }
}
