/// A time source's name as the operator configured it ("GPS", "PPS0", "ntp1.example.net", a sibling's name).
/// Names are unique per node; status, logs and selection key everything by it.
public struct SourceID: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public var name: String
    public init(_ name: String) { self.name = name }
    public var description: String { name }
    public static func < (lhs: SourceID, rhs: SourceID) -> Bool { lhs.name < rhs.name }

    /// A plain JSON string ("GPS"), as operators and scripts expect to read it.
    public init(from decoder: any Decoder) throws {
        name = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}
