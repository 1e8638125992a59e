import FleetCrypto
import NTPCore

/// The rules a receive loop answers by, the current cookie keys included, held by reference and rebuilt only
/// when they change. Each batch used to copy `NTPServerRules` out of its lock (field by field, retains and
/// value witnesses included) and read the cookie keys through a second lock: about 450 instructions per
/// wake-up, as much as parsing and answering a plain request (callgrind, issue 18). Now a batch loads two
/// generation counters and retains one reference.
final class LoopRules: Sendable {
    let rules: NTPServerRules
    /// `rules.symmetric?.computer`, for the send path.
    let mac: (any MACComputer)?
    /// Whether siblings' traffic is recorded (the symmetric keys name per-address key sets).
    let recordsSiblings: Bool
    /// Where the cookie keys came from, and the generations both were read at.
    let provider: CookieKeyProvider?
    let generation: UInt64
    let keysGeneration: UInt64

    /// Reads the shared rules and keys. Each generation is read before what it counts, so a change made while
    /// this runs leaves a generation behind and the next batch reads again.
    init(from shared: ServerShared) {
        generation = shared.rulesGeneration.load(ordering: .acquiring)
        var rules = shared.rules.withLockedValue { $0 }
        let provider = shared.cookieKeys.withLockedValue { $0 }
        keysGeneration = provider?.generation ?? 0
        rules.nts = provider?.current
        self.rules = rules
        self.provider = provider
        mac = rules.symmetric?.computer
        recordsSiblings = !(rules.symmetric?.restrictions.isEmpty ?? true)
    }

    /// Whether the shared rules or the keys changed since these were read.
    func isStale(_ shared: ServerShared) -> Bool {
        shared.rulesGeneration.load(ordering: .acquiring) != generation || (provider?.generation ?? 0) != keysGeneration
    }
}
