import GRDB

/// The clock's frequency against the local oscillator, one row (id 1), as the drift file holds it: what a
/// restart starts from so it begins close to locked.
public struct DriftRecord: Codable, FetchableRecord, PersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "drift"

    var id: Int = 1
    public var frequencyPPM: Double
    public var skewPPM: Double
    /// Unix seconds.
    public var savedAt: Double

    public init(frequencyPPM: Double, skewPPM: Double, savedAt: Double) {
        self.frequencyPPM = frequencyPPM
        self.skewPPM = skewPPM
        self.savedAt = savedAt
    }
}
