/// `GET /v1/history?since=S&until=U&limit=N`: the clock's stored updates over a time range (Unix seconds;
/// default the last day), evenly thinned to at most `limit` points (default 2,000, at most 20,000) so a
/// day of 1 s updates stays a small answer. What the site report plots: offset, jitter, frequency.
public struct AdminHistory: AdminBody {
    public struct Point: Codable, Sendable, Equatable {
        /// Unix seconds.
        public var utc: Double
        /// The offset the discipline measured at this update (seconds).
        public var offset: Double
        /// RMS of the discipline's residuals: the clock's jitter (seconds).
        public var jitter: Double
        public var frequencyPPM: Double
        public var errorBound: Double?
        public var synchronized: Bool
        /// The selected source, nil in holdover.
        public var source: String?

        public init(utc: Double, offset: Double, jitter: Double, frequencyPPM: Double, errorBound: Double?, synchronized: Bool, source: String?) {
            self.utc = utc
            self.offset = offset
            self.jitter = jitter
            self.frequencyPPM = frequencyPPM
            self.errorBound = errorBound
            self.synchronized = synchronized
            self.source = source
        }
    }

    public var since: Double
    public var until: Double
    /// Stored updates in the range, before thinning.
    public var stored: Int
    public var points: [Point]

    public init(since: Double, until: Double, stored: Int, points: [Point]) {
        self.since = since
        self.until = until
        self.stored = stored
        self.points = points
    }

    public static let defaultLimit = 2_000
    public static let maximumLimit = 20_000
    public static let defaultSpan: Double = 86_400

    /// The range and limit a query string asks for, or what is wrong with it.
    public struct Query: Sendable, Equatable {
        public var since: Double
        public var until: Double
        public var limit: Int

        public init(parsing query: String, now: Double) throws(AdminQueryError) {
            var values: [String: String] = [:]
            for pair in query.split(separator: "&") where !pair.isEmpty {
                let parts = pair.split(separator: "=", maxSplits: 1)
                let key = String(parts[0])
                guard ["since", "until", "limit"].contains(key) else { throw AdminQueryError("unknown parameter \"\(key)\" (since, until, limit)") }
                values[key] = parts.count > 1 ? String(parts[1]) : ""
            }
            func number(_ key: String) throws(AdminQueryError) -> Double? {
                guard let text = values[key] else { return nil }
                guard let value = Double(text), value.isFinite, value >= 0 else { throw AdminQueryError("\(key) must be Unix seconds") }
                return value
            }
            until = try number("until") ?? now
            since = try number("since") ?? until - AdminHistory.defaultSpan
            guard since <= until else { throw AdminQueryError("since must not be after until") }
            if let text = values["limit"] {
                guard let value = Int(text), (1...AdminHistory.maximumLimit).contains(value) else {
                    throw AdminQueryError("limit must be 1 to \(AdminHistory.maximumLimit)")
                }
                limit = value
            } else {
                limit = AdminHistory.defaultLimit
            }
        }
    }

    /// Every `count / limit`-th point, first and last kept: the shape of a day in a bounded answer.
    public static func thin<T>(_ points: [T], to limit: Int) -> [T] {
        guard points.count > limit, limit > 1 else { return Array(points.prefix(max(limit, 0))) }
        let step = Double(points.count - 1) / Double(limit - 1)
        return (0..<limit).map { points[Int((Double($0) * step).rounded())] }
    }
}

/// A query string the admin API cannot use (answered 400).
public struct AdminQueryError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
