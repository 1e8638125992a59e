/// A small, seeded, deterministic generator (SplitMix64; Steele, Lea & Flood 2014). The core takes its
/// randomness as a parameter; tests, fuzzing and the coming simulation harness pass this one so that every
/// run with the same seed replays exactly. Not for anything an attacker must not predict: the node itself
/// passes `SystemRandomNumberGenerator`.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
