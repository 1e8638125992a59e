/// Responses handed to the kernel whose transmit timestamps have not come back yet, by the socket's
/// SOF_TIMESTAMPING_OPT_ID counter (Linux numbers every datagram sent on a socket 0, 1, 2, ... and returns
/// that number with its timestamp on the error queue; see the kernel's Documentation/networking/timestamping).
///
/// A ring of fixed capacity owned by one receive loop: `record` overwrites the entry of an id `capacity`
/// sends ago, whose timestamp is then given up for lost; `take` returns an entry only for the exact id it
/// was recorded under, so a stale or unexpected id matches nothing. Sans-I/O and allocation-free after init.
public struct PendingTransmits: Sendable {
    /// What the server knows of one sent response.
    public struct Sent: Sendable, Hashable {
        public var client: IPAddress
        /// The receive timestamp the response carried (the key of ``ServerTimestampTable``).
        public var receive: NTPTimestamp
        /// The daemon's transmit timestamp: the basic-mode T3 (what the packet carried when not interleaved).
        public var transmit: NTPTimestamp
        /// The response's timestamps were saved for the client's next, interleaved, request.
        public var saved: Bool
        /// The response was interleaved (its transmit field carried an earlier response's timestamp).
        public var interleaved: Bool
        /// Its place in the send call, and the clock reading taken just before the call (zero: not taken),
        /// for ``TransmitTimePredictor``.
        public var position: Int
        public var sendTime: NTPTimestamp
        /// Where ``ServerTimestampTable`` saved it (a hint for the kernel stamp's update), when it was.
        public var slot: Int?

        public init(
            client: IPAddress, receive: NTPTimestamp, transmit: NTPTimestamp, saved: Bool, interleaved: Bool, position: Int = 0,
            sendTime: NTPTimestamp = .zero
        ) {
            self.client = client
            self.receive = receive
            self.transmit = transmit
            self.saved = saved
            self.interleaved = interleaved
            self.position = position
            self.sendTime = sendTime
            self.slot = nil
        }
    }

    /// One slot of the ring: id, whether it still waits, and the entry, side by side (two arrays, one of
    /// optionals, cost a uniqueness check each and an optional's copy per record and per take).
    private struct Slot {
        var id: UInt32
        var waiting: Bool
        var sent: Sent
    }

    private var slots: [Slot]

    public init(capacity: Int) {
        let empty = Slot(
            id: 0, waiting: false, sent: Sent(client: .v4(0), receive: .zero, transmit: .zero, saved: false, interleaved: false))
        slots = [Slot](repeating: empty, count: max(1, capacity))
    }

    public var capacity: Int { slots.count }

    public mutating func record(id: UInt32, _ entry: Sent) {
        let index = Int(id % UInt32(truncatingIfNeeded: slots.count))
        slots[index] = Slot(id: id, waiting: true, sent: entry)
    }

    /// The response sent as datagram `id`, once: a second timestamp for the same id finds nothing.
    public mutating func take(id: UInt32) -> Sent? {
        let index = Int(id % UInt32(truncatingIfNeeded: slots.count))
        guard slots[index].id == id, slots[index].waiting else { return nil }
        slots[index].waiting = false
        return slots[index].sent
    }

    /// Forgets every entry (the socket's counter was reset).
    public mutating func removeAll() {
        for index in slots.indices { slots[index].waiting = false }
    }
}
