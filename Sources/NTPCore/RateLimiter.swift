// Per-client response rate limiting with bounded memory, modelled on chrony's
// client log (clientlog.c: CLG_LimitServiceRate, get_record) and its
// `ratelimit` directive. Sans-I/O: the caller supplies monotonic time and a
// random number generator; nothing here reads a clock or an entropy source.

/// What to do with one request.
public enum RateLimitVerdict: Hashable, Sendable {
    /// Answer normally (within the limit, or leaked through it).
    case respond
    /// Send nothing.
    case drop
    /// Answer with a Kiss-o'-Death RATE packet instead (RFC 5905 §7.4).
    case kissOfDeath
}

/// One client's record, for "busiest clients" status output (chrony's
/// `chronyc clients` shows the same counters).
public struct ClientActivity: Hashable, Sendable {
    public var address: IPAddress
    /// Requests seen since the record was created.
    public var requests: UInt64
    /// Of those, requests not answered normally: dropped or sent a KoD.
    public var limited: UInt64
    /// The latest `now` passed to ``RateLimiter/check(_:now:using:)`` for
    /// this client (monotonic nanoseconds, the caller's clock).
    public var lastSeen: UInt64

    public init(address: IPAddress, requests: UInt64, limited: UInt64, lastSeen: UInt64) {
        self.address = address
        self.requests = requests
        self.limited = limited
        self.lastSeen = lastSeen
    }
}

/// Per-client limiter in a table of fixed capacity allocated once: memory is bounded however many source addresses spray the server.
///
/// **Token bucket.** Each client address has a bucket holding up to
/// `policy.burst` tokens, refilled at one token per 2^`policy.interval`
/// seconds; a response costs one token. A new client starts with a full
/// bucket (as in chrony). When the bucket is short of a token the request is
/// limited, and then, as in chrony's `CLG_LimitServiceRate`: with probability
/// 2^-leak it is answered anyway and the bucket emptied; otherwise, if KoD is
/// enabled, with probability 2^-kod it gets a KoD RATE; otherwise it is
/// dropped. (chrony additionally inverts the leak for clients that retry
/// faster when unanswered, based on per-client rate estimates; that
/// heuristic is not reproduced here.)
///
/// Arithmetic is integer fixed point, no floating point: a token is
/// 10^9 · 2^12 units and a nanosecond of waiting earns 2^(12 - interval)
/// units, so one token accrues per 2^interval seconds exactly, for every
/// allowed interval (-4...12), and a full bucket (at most 255 tokens ≈ 2^50
/// units) cannot overflow. Because a token's size does not depend on the
/// policy, changing ``policy`` at run time keeps every client's balance
/// (capped to the new burst on its next request).
///
/// **Time.** `now` is the caller's monotonic clock in nanoseconds. If it goes
/// backwards (a caller bug, or readings from different threads racing), the
/// request is treated as arriving with no elapsed time: no tokens are earned,
/// and the record keeps its latest time so the same interval is never
/// credited twice.
///
/// **Table.** A 4-way set-associative hash table of ``capacity`` records,
/// allocated once at init and never grown (chrony's client log likewise keeps
/// a fixed number of records per hash slot and, once it may not grow, replaces
/// the oldest record in the slot). The slot is chosen by SipHash-1-3 of the
/// address under a secret 128-bit key, drawn from the caller's generator on
/// the first ``check(_:now:using:)`` unless given at init, so an attacker
/// cannot aim spoofed addresses at a victim's slot. IPv4 clients (including
/// IPv4-mapped IPv6 ones, see ``IPAddress/unmapped``) are keyed by address;
/// IPv6 clients by their full 128-bit address, as chrony does too.
///
/// **Eviction trade-off.** A new client whose slot is full replaces the
/// least recently seen of the 4 records there (on a tie, the one with fewer
/// requests, as chrony does). A single flooding source touches only its own
/// record (it may displace one idle record when it first appears, never
/// again). A busy client's record is refreshed on each request, so it is the
/// last in its slot to go: evicting it takes 4 other sources hitting its slot,
/// the last of them new, between two of its requests. Only an attacker
/// spraying more distinct (spoofed) sources than the table holds churns
/// records out, and an evicted client merely restarts with a full bucket: it
/// is never limited wrongly, and the worst case is that a spoofed victim
/// receives up to `burst` answers per eviction, each one triggered by a
/// request the attacker had to send itself (an NTP answer is no larger than
/// its request, so there is no amplification). Exact per-client limiting
/// under such a spray would need unbounded memory, which this design refuses.
///
/// **Cost.** ``check(_:now:using:)`` hashes 16 bytes, scans 4 records and
/// allocates nothing. The table is a value: keep one instance and mutate it in
/// place (copying it would copy the whole table on the next write).
public struct RateLimiter: Sendable {
    /// Records per hash slot.
    public static let associativity = 4
    /// Smallest table; smaller requests are rounded up to this.
    public static let minimumCapacity = 16
    /// Largest table (chrony's hard limit of 2^24 records too), about 800 MB.
    public static let maximumCapacity = 1 << 24

    /// One token in fixed-point units (see the type comment).
    static let unitsPerToken: UInt64 = 1_000_000_000 << 12

    /// Settable at run time (config reload) without losing records.
    public var policy: RateLimitPolicy

    /// Number of client records in use; never exceeds ``capacity``.
    public private(set) var trackedClients: Int = 0

    /// Records replaced to make room for a new client (chrony reports the
    /// same as "client log records dropped"). A steadily growing count means
    /// the table is too small for the client population, or a spray.
    public private(set) var evictions: UInt64 = 0

    private var records: [Record]
    private let slotMask: Int
    private var hashKey: (UInt64, UInt64)?

    /// One client's bucket and counters; `requests == 0` marks an empty record.
    struct Record: Sendable {
        var high: UInt64 = 0
        var low: UInt64 = 0
        var tokens: UInt64 = 0
        var lastSeen: UInt64 = 0
        var requests: UInt64 = 0
        var limited: UInt64 = 0
    }

    public init(policy: RateLimitPolicy, capacity: Int = 65_536) {
        self.init(policy: policy, capacity: capacity, hashSeed: nil)
    }

    /// `capacity` is rounded up to a power of two within
    /// ``minimumCapacity``...``maximumCapacity``. `hashSeed`, if given, fixes
    /// the table's hash key (for reproducible tests or a seed the caller
    /// draws itself); if `nil`, the key is drawn from the generator passed to
    /// the first ``check(_:now:using:)``.
    public init(policy: RateLimitPolicy, capacity: Int, hashSeed: UInt64?) {
        self.policy = policy
        let wanted = min(max(capacity, Self.minimumCapacity), Self.maximumCapacity)
        var size = Self.minimumCapacity
        while size < wanted { size <<= 1 }
        records = [Record](repeating: Record(), count: size)
        slotMask = size / Self.associativity - 1
        if let hashSeed {
            // Expand the seed into two words with SplitMix64's finalizer.
            hashKey = (Self.mix(hashSeed), Self.mix(hashSeed &+ 0x9E37_79B9_7F4A_7C15))
        }
    }

    /// Total records the table holds (a power of two, fixed at init).
    public var capacity: Int { records.count }

    /// Decides how to treat a request from `address` arriving at `now`
    /// (monotonic nanoseconds), and records it. `random` supplies the coin
    /// flips for leak and KoD (and the hash key on first use); it is called
    /// only for requests over the limit. `leaking: false` never lets a request
    /// over the limit through: for sources that cannot be spoofed (NTS-KE over
    /// TCP), where the leak protects no victim.
    public mutating func check(
        _ address: IPAddress, now: UInt64, using random: inout some RandomNumberGenerator, leaking: Bool = true
    ) -> RateLimitVerdict {
        let key: (UInt64, UInt64)
        if let hashKey {
            key = hashKey
        } else {
            key = (random.next(), random.next())
            hashKey = key
        }
        let (high, low) = Self.recordKey(address)
        let first = (Int(truncatingIfNeeded: SipHash.hash(high, low, key: key)) & slotMask) &* Self.associativity

        var found = -1
        var empty = -1
        var oldest = -1
        var index = first
        let end = first &+ Self.associativity
        while index < end {  // (not a for-in: range iterators are slow in debug builds)
            let record = records[index]
            if record.requests == 0 {
                if empty < 0 { empty = index }
            } else if record.high == high, record.low == low {
                found = index
                break
            } else if oldest < 0 || record.lastSeen < records[oldest].lastSeen
                || (record.lastSeen == records[oldest].lastSeen && record.requests < records[oldest].requests)
            {
                oldest = index
            }
            index &+= 1
        }

        let capacityUnits = UInt64(policy.burst) * Self.unitsPerToken
        var record: Record
        if found >= 0 {
            record = records[found]
            let elapsed = now > record.lastSeen ? now - record.lastSeen : 0
            record.tokens = Self.refill(
                record.tokens, elapsed: elapsed, shift: 12 - policy.interval, capacity: capacityUnits)
            if record.requests < .max { record.requests += 1 }
            if now > record.lastSeen { record.lastSeen = now }
        } else {
            if empty >= 0 {
                found = empty
                trackedClients += 1
            } else {
                found = oldest
                evictions &+= 1
            }
            record = Record(high: high, low: low, tokens: capacityUnits, lastSeen: now, requests: 1, limited: 0)
        }

        let verdict: RateLimitVerdict
        if record.tokens >= Self.unitsPerToken {
            record.tokens -= Self.unitsPerToken
            verdict = .respond
        } else {
            // One draw serves both coins: the low `leak` bits decide the leak,
            // bits 32 and up the KoD (independent for any decent generator).
            let bits = random.next()
            let leakMask: UInt64 = (1 &<< UInt64(policy.leak)) &- 1
            let kodMask: UInt64 = (1 &<< UInt64(policy.kod)) &- 1
            if leaking, bits & leakMask == 0 {
                record.tokens = 0
                verdict = .respond
            } else {
                if policy.kod > 0, (bits >> 32) & kodMask == 0 {
                    verdict = .kissOfDeath
                } else {
                    verdict = .drop
                }
                if record.limited < .max { record.limited += 1 }
            }
        }
        records[found] = record
        return verdict
    }

    /// Adds `elapsed` nanoseconds' worth of tokens, capped at `capacity`
    /// units, without overflow for any `elapsed`.
    static func refill(_ tokens: UInt64, elapsed: UInt64, shift: Int, capacity: UInt64) -> UInt64 {
        let current = min(tokens, capacity)  // the burst may have shrunk on reload
        let room = capacity - current
        if elapsed > room &>> UInt64(shift) { return capacity }
        return current + elapsed &<< UInt64(shift)
    }

    /// The clients with the most requests seen (status and `GET /v1/clients`): address, total requests, responses limited (dropped or KoD), last seen.
    ///
    /// Ordered by requests, then limited count, both descending, then most
    /// recently seen, then address. Scans the whole table: for status
    /// queries, not the packet path.
    public func busiestClients(limit: Int) -> [ClientActivity] {
        // No client ever tracked (no [ratelimit]: the table is never written): nothing to scan. Status asks
        // every few seconds, and the scan of an empty table of 65,536 records cost as much as 80 answers.
        guard limit > 0, trackedClients > 0 else { return [] }
        var clients: [ClientActivity] = []
        clients.reserveCapacity(trackedClients)
        for record in records where record.requests != 0 {
            clients.append(Self.activity(of: record))
        }
        clients.sort { a, b in
            if a.requests != b.requests { return a.requests > b.requests }
            if a.limited != b.limited { return a.limited > b.limited }
            if a.lastSeen != b.lastSeen { return a.lastSeen > b.lastSeen }
            return a.address < b.address
        }
        return Array(clients.prefix(limit))
    }

    /// The record for `address`, if it is currently tracked.
    public func activity(of address: IPAddress) -> ClientActivity? {
        guard let key = hashKey else { return nil }
        let (high, low) = Self.recordKey(address)
        let first = (Int(truncatingIfNeeded: SipHash.hash(high, low, key: key)) & slotMask) &* Self.associativity
        for record in records[first..<(first + Self.associativity)]
        where record.requests != 0 && record.high == high && record.low == low {
            return Self.activity(of: record)
        }
        return nil
    }

    /// IPv4 clients (and IPv4-mapped IPv6 ones) are stored in their mapped
    /// form ::ffff:a.b.c.d so every record has the same 128-bit key layout.
    @inline(__always)
    private static func recordKey(_ address: IPAddress) -> (UInt64, UInt64) {
        switch address.unmapped {
        case .v4(let value): return (0, 0xFFFF_0000_0000 | UInt64(value))
        case .v6(let high, let low): return (high, low)
        }
    }

    private static func activity(of record: Record) -> ClientActivity {
        ClientActivity(
            address: IPAddress.v6(high: record.high, low: record.low).unmapped,
            requests: record.requests, limited: record.limited, lastSeen: record.lastSeen)
    }

    /// SplitMix64's output function (Steele, Lea & Flood, 2014).
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension RateLimiter {
    /// SipHash (Aumasson & Bernstein, 2012) of a 16-byte message given as two
    /// little-endian 64-bit words: a keyed hash, so bucket placement cannot be
    /// predicted without the key. 1 compression and 3 finalization rounds
    /// (SipHash-1-3, the variant Swift's `Hasher` and Rust's `HashMap` use) by
    /// default; tests check the 2-4 variant against the reference vectors.
    enum SipHash {
        private struct State {
            var v0: UInt64, v1: UInt64, v2: UInt64, v3: UInt64

            // Masking shifts (&<<, &>>) and while loops keep this cheap even in
            // debug builds, where generic shifts and range iterators are slow.
            @inline(__always)
            mutating func round() {
                v0 &+= v1; v1 = v1 &<< 13 | v1 &>> 51; v1 ^= v0; v0 = v0 &<< 32 | v0 &>> 32
                v2 &+= v3; v3 = v3 &<< 16 | v3 &>> 48; v3 ^= v2
                v0 &+= v3; v3 = v3 &<< 21 | v3 &>> 43; v3 ^= v0
                v2 &+= v1; v1 = v1 &<< 17 | v1 &>> 47; v1 ^= v2; v2 = v2 &<< 32 | v2 &>> 32
            }

            @inline(__always)
            mutating func absorb(_ word: UInt64, rounds: Int) {
                v3 ^= word
                var done = 0
                while done < rounds { round(); done &+= 1 }
                v0 ^= word
            }
        }

        static func hash(
            _ m0: UInt64, _ m1: UInt64, key: (UInt64, UInt64),
            compressionRounds: Int = 1, finalizationRounds: Int = 3
        ) -> UInt64 {
            var state = State(
                v0: key.0 ^ 0x736F_6D65_7073_6575, v1: key.1 ^ 0x646F_7261_6E64_6F6D,
                v2: key.0 ^ 0x6C79_6765_6E65_7261, v3: key.1 ^ 0x7465_6462_7974_6573)
            state.absorb(m0, rounds: compressionRounds)
            state.absorb(m1, rounds: compressionRounds)
            state.absorb(16 &<< 56, rounds: compressionRounds)  // final block: length 16, no tail bytes
            state.v2 ^= 0xFF
            var done = 0
            while done < finalizationRounds { state.round(); done &+= 1 }
            return state.v0 ^ state.v1 ^ state.v2 ^ state.v3
        }
    }
}
