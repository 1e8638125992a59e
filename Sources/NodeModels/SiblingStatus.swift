extension NodeStatus {
    /// One sibling node as this node sees it: both directions of the peering (this node polling it, and it
    /// polling this node) with the symmetric keys in use. Key ids only, never material.
    public struct Sibling: Codable, Sendable, Equatable {
        /// The source id ("192.0.2.12", or "192.0.2.12:1123").
        public var name: String
        public var address: String
        public var port: Int
        /// The key this node's requests carry.
        public var sendKey: UInt32
        /// The keys accepted on the sibling's requests.
        public var acceptedKeys: [UInt32]

        /// This node polling the sibling: requests sent, authenticated replies accepted, and exchanges that
        /// failed (no reply, or a reply that did not verify under the send key), with the last failure.
        public var requests: UInt64
        public var replies: UInt64
        public var failures: UInt64
        public var lastFailure: String?
        /// The key the last accepted reply was authenticated with.
        public var lastReplyKey: UInt32?

        /// The sibling polling this node: requests answered per key id, and rejected (unknown key, a key not
        /// accepted from it, a MAC that does not verify), with the last reason.
        public var answeredByKey: [String: UInt64]
        public var rejected: UInt64
        public var lastRejection: String?

        /// Failed exchanges in a row since the last accepted reply, and when that run began (Unix seconds);
        /// nil while the last exchange succeeded. Optional so that status from older nodes still decodes.
        public var consecutiveFailures: Int?
        public var failingSince: Double?
        /// Unix seconds since the sibling's requests have been rejected with none answered since (a key it
        /// sends that this node does not hold or accept from it); nil while they are answered.
        public var rejectingSince: Double?

        /// Failed exchanges in a row after which the sibling counts as unreachable: one lost datagram is not
        /// an outage, three in a row (a few minutes at the usual poll) are.
        public static let unreachableAfter = 3

        /// Whether this node cannot reach the sibling now (no reply, or none that verifies, `unreachableAfter`
        /// times in a row).
        public var unreachable: Bool { (consecutiveFailures ?? 0) >= Self.unreachableAfter }

        public init(
            name: String, address: String, port: Int, sendKey: UInt32, acceptedKeys: [UInt32], requests: UInt64 = 0,
            replies: UInt64 = 0, failures: UInt64 = 0, lastFailure: String? = nil, lastReplyKey: UInt32? = nil,
            answeredByKey: [String: UInt64] = [:], rejected: UInt64 = 0, lastRejection: String? = nil,
            consecutiveFailures: Int? = nil, failingSince: Double? = nil, rejectingSince: Double? = nil
        ) {
            self.name = name
            self.address = address
            self.port = port
            self.sendKey = sendKey
            self.acceptedKeys = acceptedKeys
            self.requests = requests
            self.replies = replies
            self.failures = failures
            self.lastFailure = lastFailure
            self.lastReplyKey = lastReplyKey
            self.answeredByKey = answeredByKey
            self.rejected = rejected
            self.lastRejection = lastRejection
            self.consecutiveFailures = consecutiveFailures
            self.failingSince = failingSince
            self.rejectingSince = rejectingSince
        }
    }
}
