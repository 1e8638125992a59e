/// Something the keeper decided that the node must log (the keeper does no I/O: the node drains these).
public enum TimeKeeperEvent: Sendable, Equatable, CustomStringConvertible {
    /// A reference clock's time jumped; its new samples are held apart.
    case jumpHeld(SourceID, size: Double)
    /// A held jump ended: the source is back on its old time.
    case jumpReverted(SourceID, size: Double)
    /// A held jump was followed: agreed by other sources (named) or confirmed by an operator.
    case jumpFollowed(SourceID, size: Double, agreedBy: [String])
    /// A sample named a time below the floor and was refused (logged once per source until it recovers).
    case belowFloor(SourceID, reason: String)
    /// A reference clock's time jumped by a second at a month's end, at `midnight` (Unix seconds), and the
    /// node's leap table lists no leap there: the receiver inserted (or deleted) a leap second the table
    /// does not know. `tableCovers`: the table is valid past that midnight (so the receiver is wrong, and
    /// the node holds over); otherwise the table is missing or expired and the node stops serving as
    /// synchronised until an operator confirms or other sources agree.
    case unknownLeap(SourceID, inserted: Bool, midnight: Int64, tableCovers: Bool)
    /// The first step exceeds `maxFirstStep` while the system clock is synchronised: held.
    case firstStepHeld(offset: Double, limit: Double)
    /// The first step was taken (with why a large one was acceptable).
    case firstStepTaken(offset: Double, reason: String)

    public var description: String {
        switch self {
        case .jumpHeld(let id, let size):
            return "reference clock \(id) jumped by \(UTCText.duration(size))\(ReferenceJump.hint(size)): samples held, source left out"
        case .jumpReverted(let id, let size):
            return "reference clock \(id) is back on its time after a jump of \(UTCText.duration(size))"
        case .jumpFollowed(let id, let size, let agreedBy):
            return "followed a jump of \(UTCText.duration(size)) of reference clock \(id), agreed by \(agreedBy.joined(separator: ", "))"
        case .belowFloor(let id, let reason):
            return "\(id): \(reason)"
        case .unknownLeap(let id, let inserted, let midnight, let tableCovers):
            let what = inserted ? "inserted a leap second" : "deleted a leap second"
            let verdict = tableCovers
                ? "the leap-second table is valid past it and lists none, so the receiver is wrong: held as a jump, holding over"
                : "the leap-second table is missing or expired there: update it (leap_file); not served as synchronised until `fleetnode confirm-step` or other sources agree"
            return "reference clock \(id) \(what) at \(UTCText.iso(seconds: midnight)) that the leap-second table does not list: \(verdict)"
        case .firstStepHeld(let offset, let limit):
            return Self.heldText(offset, limit: limit)
        case .firstStepTaken(let offset, let reason):
            return "first step of \(UTCText.duration(offset)) taken: \(reason)"
        }
    }

    /// The held first step in words (also tracking's reason while it is held).
    static func heldText(_ offset: Double, limit: Double) -> String {
        "first step of \(UTCText.duration(offset)) held: beyond max_first_step (\(limit.formatted3) s) while the system clock is synchronised (adjtimex); confirm with `fleetnode confirm-step` if the new time is right"
    }
}
