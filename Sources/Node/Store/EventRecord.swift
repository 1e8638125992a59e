import GRDB

/// One row of the node's append-only event journal: what changed, when, and about what.
/// Rows are ordered by `id` (assigned by the database on insert, increasing).
public struct EventRecord: Codable, FetchableRecord, MutablePersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "event"

    /// Event kinds. Stored as text, so a reader of a newer database sees unknown kinds as their name.
    public struct Kind: RawRepresentable, Codable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(from decoder: Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
        public func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(rawValue)
        }
        public var description: String { rawValue }

        /// A key staged, activated, demoted or retired (store keys, symmetric key file, cookie keys).
        public static let key = Kind(rawValue: "key")
        /// The NTS certificate in use changed.
        public static let certificate = Kind(rawValue: "certificate")
        /// A time source changed state (selected, combined, falseticker, unreachable, ...).
        public static let source = Kind(rawValue: "source")
        /// The node started or stopped.
        public static let node = Kind(rawValue: "node")
    }

    public var id: Int64?
    /// Unix seconds.
    public var at: Double
    public var kind: Kind
    /// What the event is about: a key ("symmetric/1"), a source name, a certificate subject.
    public var subject: String
    /// What happened, in words ("unreachable -> selected").
    public var detail: String

    public init(id: Int64? = nil, at: Double, kind: Kind, subject: String, detail: String) {
        self.id = id
        self.at = at
        self.kind = kind
        self.subject = subject
        self.detail = detail
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
