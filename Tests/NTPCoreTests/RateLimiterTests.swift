@testable import NTPCore
import XCTest

// Tests for RateLimitPolicy and RateLimiter: chrony's `ratelimit` semantics
// (token bucket, leak, KoD) and the bounded, spray-resistant client table.

/// Always returns the same word: `.max` never leaks and never sends KoD,
/// `0` always leaks. Counts calls so tests can see when coins are flipped.
private struct FixedGenerator: RandomNumberGenerator {
    var value: UInt64
    var calls = 0
    mutating func next() -> UInt64 {
        calls += 1
        return value
    }
}

private let second: UInt64 = 1_000_000_000

private func policy(
    interval: Int = 3, burst: Int = 8, leak: Int = 2, kod: Int = 0,
    file: StaticString = #filePath, line: UInt = #line
) -> RateLimitPolicy {
    do {
        return try RateLimitPolicy(interval: interval, burst: burst, leak: leak, kod: kod)
    } catch {
        XCTFail("\(error)", file: file, line: line)
        return .chronyDefault
    }
}

private let client = IPAddress.v4(0xC000_0201)  // 192.0.2.1

final class RateLimitPolicyTests: XCTestCase {
    func testDefaultsAreChronys() throws {
        let defaults = try RateLimitPolicy()
        XCTAssertEqual(defaults, .chronyDefault)
        XCTAssertEqual(defaults.interval, 3)
        XCTAssertEqual(defaults.burst, 8)
        XCTAssertEqual(defaults.leak, 2)
        XCTAssertEqual(defaults.kod, 0)
        XCTAssertEqual(defaults.description, "interval 3 burst 8 leak 2 kod 0")
    }

    func testBoundsAreAccepted() {
        for (i, b, l, k) in [(-4, 1, 1, 0), (12, 255, 4, 4), (0, 16, 3, 1)] {
            XCTAssertNoThrow(try RateLimitPolicy(interval: i, burst: b, leak: l, kod: k))
        }
    }

    func testOutOfRangeOptionsAreNamed() {
        let cases: [(() throws(RateLimitPolicyError) -> RateLimitPolicy, String)] = [
            ({ () throws(RateLimitPolicyError) in try RateLimitPolicy(leak: 7) },
             "ratelimit leak must be between 1 and 4, got 7"),
            ({ () throws(RateLimitPolicyError) in try RateLimitPolicy(leak: 0) },
             "ratelimit leak must be between 1 and 4, got 0"),
            ({ () throws(RateLimitPolicyError) in try RateLimitPolicy(interval: -5) },
             "ratelimit interval must be between -4 and 12, got -5"),
            ({ () throws(RateLimitPolicyError) in try RateLimitPolicy(interval: 13) },
             "ratelimit interval must be between -4 and 12, got 13"),
            ({ () throws(RateLimitPolicyError) in try RateLimitPolicy(burst: 0) },
             "ratelimit burst must be between 1 and 255, got 0"),
            ({ () throws(RateLimitPolicyError) in try RateLimitPolicy(burst: 256) },
             "ratelimit burst must be between 1 and 255, got 256"),
            ({ () throws(RateLimitPolicyError) in try RateLimitPolicy(kod: -1) },
             "ratelimit kod must be between 0 and 4, got -1"),
            ({ () throws(RateLimitPolicyError) in try RateLimitPolicy(kod: 5) },
             "ratelimit kod must be between 0 and 4, got 5"),
        ]
        for (make, message) in cases {
            do {
                _ = try make()
                XCTFail("accepted: expected \(message)")
            } catch {
                XCTAssertEqual(error.description, message)
            }
        }
        do {
            _ = try RateLimitPolicy(burst: 1000)
        } catch {
            XCTAssertEqual(error.option, "burst")
            XCTAssertEqual(error.value, 1000)
            XCTAssertEqual(error.allowed, 1...255)
        }
    }
}

final class RateLimiterTests: XCTestCase {
    func testCapacityIsRoundedToAPowerOfTwo() {
        let p = RateLimitPolicy.chronyDefault
        XCTAssertEqual(RateLimiter(policy: p).capacity, 65_536)
        XCTAssertEqual(RateLimiter(policy: p, capacity: -5).capacity, 16)
        XCTAssertEqual(RateLimiter(policy: p, capacity: 0).capacity, 16)
        XCTAssertEqual(RateLimiter(policy: p, capacity: 16).capacity, 16)
        XCTAssertEqual(RateLimiter(policy: p, capacity: 17).capacity, 32)
        XCTAssertEqual(RateLimiter(policy: p, capacity: 1000).capacity, 1024)
        XCTAssertEqual(RateLimiter(policy: p, capacity: 1024).capacity, 1024)
        XCTAssertEqual(RateLimiter(policy: p).trackedClients, 0)
    }

    func testClientSendingOncePerIntervalIsNeverLimited() {
        var random = SeededRandom(seed: 1)
        for (interval, burst) in [(3, 8), (3, 1), (-4, 1), (0, 1), (12, 1), (6, 255)] {
            var limiter = RateLimiter(policy: policy(interval: interval, burst: burst))
            let period = interval >= 0 ? second << UInt64(interval) : second >> UInt64(-interval)
            var now: UInt64 = 123_456_789
            for _ in 0..<2_000 {
                XCTAssertEqual(limiter.check(client, now: now, using: &random), .respond, "interval \(interval)")
                now += period
            }
            XCTAssertEqual(limiter.activity(of: client)?.limited, 0)
            XCTAssertEqual(limiter.activity(of: client)?.requests, 2_000)
        }
    }

    func testExactlyBurstPassesThenLimitingStarts() {
        for burst in [1, 2, 8, 255] {
            var limiter = RateLimiter(policy: policy(burst: burst, leak: 4, kod: 0))
            var neverLeak = FixedGenerator(value: .max)
            let now = 5 * second
            for n in 0..<burst {
                XCTAssertEqual(limiter.check(client, now: now, using: &neverLeak), .respond, "request \(n + 1)")
            }
            XCTAssertEqual(neverLeak.calls, 2, "only the hash key is drawn while within the limit")
            for _ in 0..<10 {
                XCTAssertEqual(limiter.check(client, now: now, using: &neverLeak), .drop, "burst \(burst)")
            }
            XCTAssertEqual(neverLeak.calls, 12, "one draw per limited request")
            XCTAssertEqual(
                limiter.activity(of: client),
                ClientActivity(address: client, requests: UInt64(burst) + 10, limited: 10, lastSeen: now))
        }
    }

    func testLeakedResponseEmptiesTheBucket() {
        var limiter = RateLimiter(policy: policy(interval: 3, burst: 2))
        var alwaysLeak = FixedGenerator(value: 0)
        var neverLeak = FixedGenerator(value: .max)
        XCTAssertEqual(limiter.check(client, now: 0, using: &neverLeak), .respond)
        XCTAssertEqual(limiter.check(client, now: 0, using: &neverLeak), .respond)
        // Earn 0.9 of a token, then leak: the fraction is forfeited (as chrony zeroes the bucket).
        XCTAssertEqual(limiter.check(client, now: 7_200_000_000, using: &alwaysLeak), .respond)
        XCTAssertEqual(limiter.activity(of: client)?.limited, 0, "a leaked response is not counted as limited")
        XCTAssertEqual(limiter.check(client, now: 8 * second, using: &neverLeak), .drop)
        XCTAssertEqual(limiter.check(client, now: 15_200_000_000, using: &neverLeak), .respond)
    }

    /// NTS-KE over TCP: a source that cannot be spoofed gets no leak, even when every coin would let it through.
    func testNoLeakWhenNotLeaking() {
        var limiter = RateLimiter(policy: policy(interval: 3, burst: 2, leak: 1))
        var alwaysLeak = FixedGenerator(value: 0)
        XCTAssertEqual(limiter.check(client, now: 0, using: &alwaysLeak, leaking: false), .respond)
        XCTAssertEqual(limiter.check(client, now: 0, using: &alwaysLeak, leaking: false), .respond)
        for _ in 0..<100 {
            XCTAssertEqual(limiter.check(client, now: 0, using: &alwaysLeak, leaking: false), .drop)
        }
        XCTAssertEqual(limiter.activity(of: client)?.limited, 100)
        XCTAssertEqual(limiter.check(client, now: 8 * second, using: &alwaysLeak, leaking: false), .respond, "a token earned")
    }

    func testLeakAndKissOfDeathRatesMatchTheirProbabilities() {
        let tries = 100_000
        for (leak, kod) in [(1, 1), (2, 2), (3, 3), (4, 4), (2, 0), (1, 4)] {
            var limiter = RateLimiter(policy: policy(interval: 3, burst: 1, leak: leak, kod: kod))
            var random = SeededRandom(seed: UInt64(leak * 10 + kod))
            XCTAssertEqual(limiter.check(client, now: 0, using: &random), .respond)
            var responded = 0
            var kissed = 0
            var dropped = 0
            for _ in 0..<tries {
                // Same instant: no refill, so every request is over the limit.
                switch limiter.check(client, now: 0, using: &random) {
                case .respond: responded += 1
                case .kissOfDeath: kissed += 1
                case .drop: dropped += 1
                }
            }
            let leakRate = Double(responded) / Double(tries)
            let expectedLeak = 1 / Double(1 << leak)
            // 6 standard deviations of a binomial proportion: flaky never, wrong always.
            let leakTolerance = 6 * (expectedLeak * (1 - expectedLeak) / Double(tries)).squareRoot()
            XCTAssertEqual(leakRate, expectedLeak, accuracy: leakTolerance, "leak \(leak)")

            let unanswered = kissed + dropped
            if kod == 0 {
                XCTAssertEqual(kissed, 0)
            } else {
                let kodRate = Double(kissed) / Double(unanswered)
                let expectedKod = 1 / Double(1 << kod)
                let kodTolerance = 6 * (expectedKod * (1 - expectedKod) / Double(unanswered)).squareRoot()
                XCTAssertEqual(kodRate, expectedKod, accuracy: kodTolerance, "kod \(kod)")
            }
            XCTAssertEqual(limiter.activity(of: client)?.limited, UInt64(unanswered))
            XCTAssertEqual(limiter.activity(of: client)?.requests, UInt64(tries + 1))
        }
    }

    func testTokensRefillAfterWaiting() {
        var limiter = RateLimiter(policy: policy(interval: 3, burst: 8))
        var neverLeak = FixedGenerator(value: .max)
        let start = 1_000 * second
        for _ in 0..<8 { XCTAssertEqual(limiter.check(client, now: start, using: &neverLeak), .respond) }
        XCTAssertEqual(limiter.check(client, now: start, using: &neverLeak), .drop)
        // One token takes 8 s to the nanosecond.
        XCTAssertEqual(limiter.check(client, now: start + 8 * second - 1, using: &neverLeak), .drop)
        XCTAssertEqual(limiter.check(client, now: start + 8 * second, using: &neverLeak), .respond)
        XCTAssertEqual(limiter.check(client, now: start + 8 * second, using: &neverLeak), .drop)
        // Fractions accumulate across limited requests: 4 s + 4 s make a token.
        XCTAssertEqual(limiter.check(client, now: start + 12 * second, using: &neverLeak), .drop)
        XCTAssertEqual(limiter.check(client, now: start + 16 * second, using: &neverLeak), .respond)
        // A long wait refills to `burst` and no further.
        let later = start + 10_000 * second
        for _ in 0..<8 { XCTAssertEqual(limiter.check(client, now: later, using: &neverLeak), .respond) }
        XCTAssertEqual(limiter.check(client, now: later, using: &neverLeak), .drop)
        // Three intervals give three tokens.
        for _ in 0..<3 { XCTAssertEqual(limiter.check(client, now: later + 24 * second, using: &neverLeak), .respond) }
        XCTAssertEqual(limiter.check(client, now: later + 24 * second, using: &neverLeak), .drop)
    }

    func testSubSecondInterval() {
        // interval -4: one response per 62.5 ms.
        var limiter = RateLimiter(policy: policy(interval: -4, burst: 1))
        var neverLeak = FixedGenerator(value: .max)
        XCTAssertEqual(limiter.check(client, now: 0, using: &neverLeak), .respond)
        XCTAssertEqual(limiter.check(client, now: 62_499_999, using: &neverLeak), .drop)
        XCTAssertEqual(limiter.check(client, now: 62_500_000, using: &neverLeak), .respond)
    }

    func testPolicyChangeAtRunTimeKeepsRecords() {
        var limiter = RateLimiter(policy: policy(interval: 3, burst: 8))
        var neverLeak = FixedGenerator(value: .max)
        let other = IPAddress.v4(0x0A00_0001)
        _ = limiter.check(other, now: 0, using: &neverLeak)
        for _ in 0..<3 { XCTAssertEqual(limiter.check(client, now: 0, using: &neverLeak), .respond) }

        // Shrinking the burst caps the 5 remaining tokens to 2.
        limiter.policy = policy(interval: 3, burst: 2)
        XCTAssertEqual(limiter.trackedClients, 2)
        XCTAssertEqual(limiter.check(client, now: 0, using: &neverLeak), .respond)
        XCTAssertEqual(limiter.check(client, now: 0, using: &neverLeak), .respond)
        XCTAssertEqual(limiter.check(client, now: 0, using: &neverLeak), .drop)
        XCTAssertEqual(limiter.activity(of: client)?.requests, 6, "history survives the reload")

        // Raising the burst does not grant tokens by itself...
        limiter.policy = policy(interval: 0, burst: 100)
        XCTAssertEqual(limiter.check(client, now: 0, using: &neverLeak), .drop)
        // ...but the new interval applies at once: one token per second now.
        XCTAssertEqual(limiter.check(client, now: second, using: &neverLeak), .respond)
        XCTAssertEqual(limiter.check(client, now: second, using: &neverLeak), .drop)
        XCTAssertEqual(limiter.check(client, now: 4 * second, using: &neverLeak), .respond)
        XCTAssertEqual(limiter.check(client, now: 4 * second, using: &neverLeak), .respond)
        XCTAssertEqual(limiter.check(client, now: 4 * second, using: &neverLeak), .respond)
        XCTAssertEqual(limiter.check(client, now: 4 * second, using: &neverLeak), .drop)

        // Enabling KoD takes effect for the next limited request.
        limiter.policy = policy(interval: 0, burst: 100, leak: 1, kod: 1)
        var kodCoin = FixedGenerator(value: 0xFFFF_FFFE_FFFF_FFFF)  // low bit set: no leak; bit 32 clear: KoD
        XCTAssertEqual(limiter.check(client, now: 4 * second, using: &kodCoin), .kissOfDeath)
        XCTAssertEqual(limiter.trackedClients, 2)
        XCTAssertEqual(limiter.activity(of: other)?.requests, 1)
    }

    func testTimeGoingBackwardsGrantsNothingAndNeverTraps() {
        var limiter = RateLimiter(policy: policy(interval: 3, burst: 2))
        var neverLeak = FixedGenerator(value: .max)
        let t = 1_000 * second
        XCTAssertEqual(limiter.check(client, now: t, using: &neverLeak), .respond)
        XCTAssertEqual(limiter.check(client, now: t, using: &neverLeak), .respond)
        XCTAssertEqual(limiter.check(client, now: t - 500 * second, using: &neverLeak), .drop)
        XCTAssertEqual(limiter.check(client, now: 0, using: &neverLeak), .drop)
        XCTAssertEqual(limiter.activity(of: client)?.lastSeen, t, "last seen keeps the latest time")
        // Coming back forward, the interval since t is credited once, not again from the earlier readings.
        XCTAssertEqual(limiter.check(client, now: t + 8 * second, using: &neverLeak), .respond)
        XCTAssertEqual(limiter.check(client, now: t + 8 * second, using: &neverLeak), .drop)
        // Extremes: a jump to the end of time fills the bucket without overflow; a jump back to 0 is harmless.
        XCTAssertEqual(limiter.check(client, now: .max, using: &neverLeak), .respond)
        XCTAssertEqual(limiter.check(client, now: .max, using: &neverLeak), .respond)
        XCTAssertEqual(limiter.check(client, now: .max, using: &neverLeak), .drop)
        XCTAssertEqual(limiter.check(client, now: 0, using: &neverLeak), .drop)
        XCTAssertEqual(limiter.activity(of: client)?.lastSeen, .max)
        // A new client first seen at time 0 works too.
        XCTAssertEqual(limiter.check(.v4(1), now: 0, using: &neverLeak), .respond)
    }

    func testRefillArithmeticDoesNotOverflow() {
        let cap = 255 * RateLimiter.unitsPerToken
        for shift in 0...16 {
            XCTAssertEqual(RateLimiter.refill(0, elapsed: .max, shift: shift, capacity: cap), cap)
            XCTAssertEqual(RateLimiter.refill(cap, elapsed: .max, shift: shift, capacity: cap), cap)
            XCTAssertEqual(RateLimiter.refill(.max, elapsed: 0, shift: shift, capacity: cap), cap)
            XCTAssertEqual(RateLimiter.refill(0, elapsed: 1, shift: shift, capacity: cap), 1 << UInt64(shift))
        }
    }

    func testMappedAndPlainIPv4ShareARecord() {
        var limiter = RateLimiter(policy: policy(burst: 2))
        var neverLeak = FixedGenerator(value: .max)
        XCTAssertEqual(limiter.check(.v4(0xC000_0201), now: 0, using: &neverLeak), .respond)
        XCTAssertEqual(limiter.check(IPAddress("::ffff:192.0.2.1")!, now: 0, using: &neverLeak), .respond)
        XCTAssertEqual(limiter.check(.v4(0xC000_0201), now: 0, using: &neverLeak), .drop)
        XCTAssertEqual(limiter.trackedClients, 1)
        XCTAssertEqual(limiter.busiestClients(limit: 5).first?.address, .v4(0xC000_0201))
    }

    func testIPv6ClientsAreKeyedByFullAddress() {
        var limiter = RateLimiter(policy: policy(burst: 1))
        var neverLeak = FixedGenerator(value: .max)
        let a = IPAddress("2001:db8::1")!
        let b = IPAddress("2001:db8::2")!
        XCTAssertEqual(limiter.check(a, now: 0, using: &neverLeak), .respond)
        XCTAssertEqual(limiter.check(b, now: 0, using: &neverLeak), .respond)
        XCTAssertEqual(limiter.check(a, now: 0, using: &neverLeak), .drop)
        XCTAssertEqual(limiter.trackedClients, 2)
    }

    func testSprayOfAMillionSpoofedAddressesStaysBoundedAndFast() {
        var limiter = RateLimiter(policy: .chronyDefault, capacity: 1024)
        var random = SeededRandom(seed: 42)
        var now: UInt64 = 0
        var maximumTracked = 0
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for i in 0..<1_000_000 {
                let address: IPAddress = i & 1 == 0
                    ? .v4(UInt32(truncatingIfNeeded: i))
                    : .v6(high: 0x2001_0DB8_0000_0000, low: UInt64(i))
                // Every spoofed source is new, so it gets a fresh full bucket.
                if limiter.check(address, now: now, using: &random) != .respond {
                    XCTFail("new client \(address) limited")
                    break
                }
                maximumTracked = max(maximumTracked, limiter.trackedClients)
                now &+= 1_000
            }
        }
        XCTAssertEqual(maximumTracked, 1024)
        XCTAssertEqual(limiter.trackedClients, 1024)
        XCTAssertEqual(limiter.capacity, 1024)
        XCTAssertEqual(limiter.evictions, 1_000_000 - 1024)
        XCTAssertEqual(limiter.busiestClients(limit: 10_000).count, 1024)
        XCTAssertLessThan(elapsed, .seconds(5), "1M checks took \(elapsed)")
        print("RateLimiter: 1,000,000 checks into a 1024-record table in \(elapsed)")
    }

    func testSingleFlooderCannotEvictAnyone() {
        var limiter = RateLimiter(policy: .chronyDefault, capacity: 1024, hashSeed: 1)
        var random = SeededRandom(seed: 9)
        let quiet = (0..<8).map { IPAddress.v4(0x0A00_0000 + UInt32($0)) }
        for address in quiet { _ = limiter.check(address, now: 0, using: &random) }
        XCTAssertEqual(limiter.trackedClients, 8)
        let flooder = IPAddress.v4(0xCB00_7101)
        for n in 0..<100_000 {
            _ = limiter.check(flooder, now: UInt64(n) * 1_000, using: &random)
        }
        for address in quiet {
            XCTAssertEqual(limiter.activity(of: address)?.requests, 1, "\(address) evicted by a single flooder")
        }
        XCTAssertEqual(limiter.evictions, 0)
        XCTAssertEqual(limiter.activity(of: flooder)?.requests, 100_000)
    }

    func testBusyClientSurvivesASprayThatOutrunsTheTable() {
        // The table is full of spray; the victim polls, and between two of its
        // requests two new spoofed sources arrive. In a 4-way slot under LRU
        // the victim could only be evicted by three newer arrivals in its own
        // slot, so it keeps its record (and its limiting) throughout.
        var limiter = RateLimiter(policy: policy(interval: 3, burst: 8), capacity: 1024)
        var random = SeededRandom(seed: 5)
        var now: UInt64 = 0
        var next: UInt32 = 0x0B00_0000
        for _ in 0..<4096 {
            _ = limiter.check(.v4(next), now: now, using: &random)
            next += 1
            now += 1_000
        }
        XCTAssertEqual(limiter.trackedClients, 1024)
        let victim = IPAddress("2001:db8::77")!
        var responses = 0
        for _ in 0..<50_000 {
            if limiter.check(victim, now: now, using: &random) == .respond { responses += 1 }
            for _ in 0..<2 {
                _ = limiter.check(.v4(next), now: now, using: &random)
                next += 1
            }
            now += 1_000_000  // victim at 1000 requests/s: far over its limit
        }
        XCTAssertEqual(limiter.activity(of: victim)?.requests, 50_000, "victim's record was evicted")
        // 50 s of traffic: burst 8 + 50/8 refills + about a quarter leaked.
        XCTAssertLessThan(responses, 50_000 / 4 + 1_000)
        XCTAssertGreaterThan(responses, 50_000 / 4 - 1_000)
    }

    func testEvictedClientStartsAfreshNeverWronglyLimited() {
        var limiter = RateLimiter(policy: policy(burst: 1), capacity: 16, hashSeed: 11)
        var neverLeak = FixedGenerator(value: .max)
        XCTAssertEqual(limiter.check(client, now: 0, using: &neverLeak), .respond)
        XCTAssertEqual(limiter.check(client, now: 0, using: &neverLeak), .drop)
        var i: UInt32 = 0
        while limiter.activity(of: client) != nil {
            _ = limiter.check(.v4(0x0A00_0000 + i), now: 1 + UInt64(i), using: &neverLeak)
            i += 1
        }
        XCTAssertEqual(limiter.check(client, now: UInt64(i) + 1, using: &neverLeak), .respond)
        XCTAssertEqual(limiter.activity(of: client)?.requests, 1)
    }

    func testBusiestClientsOrdering() {
        var limiter = RateLimiter(policy: policy(burst: 3))
        var neverLeak = FixedGenerator(value: .max)
        let a = IPAddress.v4(0x0A00_0001)
        let b = IPAddress.v4(0x0A00_0002)
        let c = IPAddress("2001:db8::c")!
        let d = IPAddress.v4(0x0A00_0004)
        for n in 0..<10 { _ = limiter.check(a, now: UInt64(n) * 10 * second, using: &neverLeak) }  // never limited
        for _ in 0..<5 { _ = limiter.check(b, now: 100 * second, using: &neverLeak) }             // 2 limited
        for _ in 0..<5 { _ = limiter.check(c, now: 50 * second, using: &neverLeak) }              // 2 limited
        _ = limiter.check(d, now: 200 * second, using: &neverLeak)

        let top = limiter.busiestClients(limit: 10)
        XCTAssertEqual(top.map(\.address), [a, b, c, d])
        XCTAssertEqual(top[0], ClientActivity(address: a, requests: 10, limited: 0, lastSeen: 90 * second))
        XCTAssertEqual(top[1], ClientActivity(address: b, requests: 5, limited: 2, lastSeen: 100 * second))
        XCTAssertEqual(top[2], ClientActivity(address: c, requests: 5, limited: 2, lastSeen: 50 * second))
        XCTAssertEqual(top[3], ClientActivity(address: d, requests: 1, limited: 0, lastSeen: 200 * second))
        XCTAssertEqual(limiter.busiestClients(limit: 2).map(\.address), [a, b])
        XCTAssertEqual(limiter.busiestClients(limit: 0), [])
        XCTAssertEqual(limiter.busiestClients(limit: -1), [])

        // More limited ranks first among equal request counts.
        _ = limiter.check(c, now: 50 * second, using: &neverLeak)
        _ = limiter.check(b, now: 500 * second, using: &neverLeak)  // 400 s of refill: responds
        XCTAssertEqual(limiter.busiestClients(limit: 3).map(\.address), [a, c, b])
    }

    func testHashKeyIsDrawnOnceFromTheCallersGenerator() {
        var limiter = RateLimiter(policy: .chronyDefault, capacity: 64)
        var counting = FixedGenerator(value: .max)
        XCTAssertNil(limiter.activity(of: client), "nothing tracked, no key yet")
        _ = limiter.check(client, now: 0, using: &counting)
        XCTAssertEqual(counting.calls, 2)
        _ = limiter.check(.v4(2), now: 0, using: &counting)
        XCTAssertEqual(counting.calls, 2)

        var seeded = RateLimiter(policy: .chronyDefault, capacity: 64, hashSeed: 99)
        counting.calls = 0
        _ = seeded.check(client, now: 0, using: &counting)
        XCTAssertEqual(counting.calls, 0)
    }

    func testSameSeedsGiveTheSameDecisions() {
        func run() -> [RateLimitVerdict] {
            var limiter = RateLimiter(policy: policy(interval: 0, burst: 2, leak: 1, kod: 2), capacity: 16)
            var random = SeededRandom(seed: 2024)
            return (0..<500).map { n in
                limiter.check(.v4(UInt32(n % 40)), now: UInt64(n) * 10_000_000, using: &random)
            }
        }
        XCTAssertEqual(run(), run())
    }

    func testSipHashMatchesTheReferenceVector() {
        // veorq/SipHash vectors.h, SipHash-2-4, key 00..0f, 16-byte message 00..0f:
        // db 9b c2 57 7f cc 2a 3f (little-endian).
        let word0: UInt64 = 0x0706_0504_0302_0100
        let word1: UInt64 = 0x0F0E_0D0C_0B0A_0908
        XCTAssertEqual(
            RateLimiter.SipHash.hash(word0, word1, key: (word0, word1), compressionRounds: 2, finalizationRounds: 4),
            0x3F2A_CC7F_57C2_9BDB)
        XCTAssertNotEqual(RateLimiter.SipHash.hash(word0, word1, key: (word0, word1)), RateLimiter.SipHash.hash(word0, word1, key: (word1, word0)))
    }
}
