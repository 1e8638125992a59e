import CRefclock
import NTPCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension UnixTime {
    /// A C `crf_time` as a normalised `UnixTime` (a nanosecond field outside 0..<1e9 is carried, not trapped on).
    init(_ time: crf_time) {
        self = UnixTime(seconds: time.sec, nanoseconds: 0).adding(nanoseconds: Int64(time.nsec))
    }
}

/// The system's message for an errno value ("No such file or directory").
func errnoMessage(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text)
}

/// A NUL-terminated C `char[N]` imported as a tuple, as a Swift string.
func string<T>(fromCArray array: T) -> String {
    withUnsafeBytes(of: array) { raw in
        let bytes = raw.prefix { $0 != 0 }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Duration {
    /// Whole nanoseconds, saturating at Int64's range (no trap on absurd values).
    var saturatingNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflow2) = product.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflow2 { return seconds < 0 ? .min : .max }
        return sum
    }
}
