/// How the node's clock passes a leap second.
public enum LeapMode: Hashable, Sendable {
    /// As the Linux kernel does: an inserted second is served as a second run of 23:59:59 (POSIX time steps
    /// back 1 s at midnight), a deleted one skips 23:59:59. Clients are warned with the leap indicator during
    /// the last day (RFC 5905 §7.3) so they can do the same.
    case step
    /// The 1 s is spread linearly over `duration` SI seconds, starting `duration / 2` (rounded down) before
    /// the leap's midnight, so served time never jumps and never runs backwards. With 86 401 this is exactly
    /// Google's public smear: noon to noon UTC, 86 400 smeared seconds each 1/86 400 longer. Durations are
    /// clamped to 1 s ... 28 days (leap seconds end months, so smears of distinct leaps never overlap).
    ///
    /// While smearing the node announces no leap (LI = 0), as chrony's `smoothtime ... leaponly` server and
    /// Google's smeared servers do: the served time already absorbs the leap, and a client told to insert a
    /// second would add it on top of the smear and end up a second off.
    case smear(duration: Int64)

    /// The smear duration actually used (see `smear(duration:)`), nil for `.step`.
    public var effectiveSmearDuration: Int64? {
        guard case .smear(let duration) = self else { return nil }
        return min(max(duration, 1), Self.maximumSmearDuration)
    }

    /// 28 days, the shortest time between two leap seconds.
    public static let maximumSmearDuration: Int64 = 28 * 86_400
}
