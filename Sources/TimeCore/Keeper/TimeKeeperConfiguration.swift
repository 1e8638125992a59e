import NTPCore

/// Tunables of the `TimeKeeper`, read from the node's `[clock]` and `[selection]` configuration.
public struct TimeKeeperConfiguration: Sendable, Equatable {
    public var discipline = DisciplineConfiguration()
    public var selection = SelectionPolicy()
    /// After this many seconds without a selectable source the node stops claiming synchronisation and
    /// answers with leap 3 (its error bound is still reported in status).
    public var holdoverLimit: Double = 86_400
    /// A pulse is numbered only when the lock source's time is within this of a whole second (chrony: 0.4 s
    /// is the widest an NMEA offset can be off and still name the right second... we allow 0.4 too).
    public var pulseTolerance: Double = 0.4
    /// log2 seconds of the node's clock reading resolution; the least dispersion of any sample.
    public var precision: Int8 = -20
    /// RFC 5905 PHI, dispersion growth of a source's samples, s/s.
    public var dispersionRate: Double = 15e-6
    /// A reference clock whose newest sample is older than this many of its polls is left out of selection.
    public var refclockStalePolls: Double = 2
    /// A network source whose newest sample is older than this many seconds is left out of selection.
    public var networkStaleAfter: Double = 4 * 1024
    /// The reference ids other servers give this node (RFC 5905 §7.3: its IPv4 addresses, hashes of its IPv6
    /// ones). A network source above stratum 1 whose reference id is one of them follows this node: selecting
    /// it would close a timing loop, so it is left out (RFC 5905 §13 loop detection, as chrony and ntpd do).
    public var ownReferenceIDs: Set<ReferenceID> = []
    /// With siblings configured, reference clocks wait at most this many seconds after the first update for a
    /// sibling to be heard, so a GPS that is spoofed when the node starts is cross-checked before it is
    /// served (alone, its lie would be selected before any sibling could outvote it). A site whose siblings
    /// are all down still starts after the wait. 0: no wait.
    public var crossCheckGrace: Double = 60
    /// A reference clock (gpsd, SHM) sample further than this from the source's previous one (plus what the
    /// clock may have drifted since) is a jump (`ReferenceJump`): held apart, not used. Above NMEA's
    /// jitter (tens of milliseconds), below a leap second. The source the served clock follows is measured
    /// from the served clock instead (its filtered time, not its last sample, which may be scatter).
    public var jumpThreshold: Double = 0.5
    /// A held jump is followed, when another source agrees with it (or an operator confirms), only after
    /// it has lasted this many seconds.
    public var jumpPersistence: Double = 10
    /// The first step of the clock may be at most this many seconds while the system clock is
    /// synchronised (adjtimex without STA_UNSYNC): a larger one waits for an operator's confirmation.
    /// ntpd's panic threshold is the same 1000 s. 0: no limit. A system clock that is not synchronised
    /// (a Raspberry Pi without RTC after a month off) is no reference, and any step above the floor is taken.
    public var maxFirstStep: Double = 1000
    /// Samples whose offset exceeds this many seconds (about ±126 years, well inside Int64 nanoseconds) are
    /// refused outright: no era is that far from the node's clock.
    public var maxOffset: Double = 4e9

    public init() {}
}
