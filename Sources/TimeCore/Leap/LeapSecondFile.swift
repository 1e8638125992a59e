/// The node's `[clock] leap_file`, whichever of the two formats it is: a TZif file (right/UTC) when it
/// starts with the TZif magic, else an IETF/NIST leap-seconds.list whose `#h` SHA-1 must match. Sans-I/O:
/// the caller reads the file and passes SHA-1 in (TimeCore has no cryptography).
public enum LeapSecondFile {
    /// Why a leap file gave no table: the error of the format it was read as.
    public enum Error: Swift.Error, Hashable, Sendable, CustomStringConvertible {
        case tzif(TZifLeapError)
        case leapSecondsList(LeapSecondsListError)

        public var description: String {
            switch self {
            case .tzif(let error): error.description
            case .leapSecondsList(let error): error.description
            }
        }
    }

    static let tzifMagic: [UInt8] = Array("TZif".utf8)

    /// The table in `bytes`, read as TZif when they start with "TZif", else as leap-seconds.list with its
    /// hash checked by `sha1`.
    public static func parse(_ bytes: [UInt8], sha1: ([UInt8]) -> [UInt8]) throws(Error) -> LeapSecondTable {
        if bytes.starts(with: tzifMagic) {
            do throws(TZifLeapError) {
                return try TZifLeapParser.parse(bytes)
            } catch {
                throw .tzif(error)
            }
        }
        do throws(LeapSecondsListError) {
            return try LeapSecondsListParser.parse(bytes, sha1: sha1)
        } catch {
            throw .leapSecondsList(error)
        }
    }
}
