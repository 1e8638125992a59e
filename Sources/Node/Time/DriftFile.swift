import Foundation

/// The frequency of served time against the local oscillator, persisted so a restart starts close to locked
/// (the `driftfile` of chrony and ntpd in the site guides). One line: frequency and its standard error in ppm.
public struct DriftFile: Sendable {
    public var path: String

    public init(path: String) { self.path = path }

    public struct Contents: Sendable, Equatable {
        public var frequencyPPM: Double
        public var skewPPM: Double
    }

    public enum Failure: Error, CustomStringConvertible {
        case unreadable(String)
        case malformed(String)
        public var description: String {
            switch self {
            case .unreadable(let message): "cannot read the drift file: \(message)"
            case .malformed(let message): "malformed drift file: \(message)"
            }
        }
    }

    /// nil when the file does not exist yet; throws when it exists and is not a drift file.
    public func read() throws(Failure) -> Contents? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadable(error.localizedDescription)
        }
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
        guard fields.count == 2, let frequency = Double(fields[0]), let skew = Double(fields[1]),
              frequency.isFinite, skew.isFinite, abs(frequency) <= 500, skew >= 0
        else {
            throw .malformed("expected \"FREQUENCY_PPM SKEW_PPM\" with |frequency| <= 500, got \"\(text.prefix(80))\"")
        }
        return Contents(frequencyPPM: frequency, skewPPM: skew)
    }

    /// Writes atomically (temporary file, then rename), so a crash leaves the old or the new value.
    public func write(_ contents: Contents) throws {
        let line = String(format: "%.6f %.6f\n", contents.frequencyPPM, contents.skewPPM)
        let temporary = path + ".tmp"
        try line.write(toFile: temporary, atomically: false, encoding: .utf8)
        guard rename(temporary, path) == 0 else {
            throw Failure.unreadable("rename to \(path): \(String(cString: strerror(errno)))")
        }
    }
}
