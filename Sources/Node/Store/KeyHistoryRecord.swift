import GRDB

/// One state a key entered, appended in the transaction that changed it: a key's full history stays
/// readable after it is retired and its material wiped.
public struct KeyHistoryRecord: Codable, FetchableRecord, PersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "keyHistory"

    public var kind: KeyRecord.Kind
    public var scope: String
    public var keyID: Int64
    public var state: KeyRecord.State
    /// Unix seconds.
    public var at: Double

    public init(kind: KeyRecord.Kind, scope: String, keyID: Int64, state: KeyRecord.State, at: Double) {
        self.kind = kind
        self.scope = scope
        self.keyID = keyID
        self.state = state
        self.at = at
    }
}
