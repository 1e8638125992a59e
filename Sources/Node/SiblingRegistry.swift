import ConfigFile
import NodeModels
import NTPCore
import NIOConcurrencyHelpers

/// The node's siblings (`[[sibling]]`): each one's key set, a *send* key and the *accepted* keys, and what
/// polling it has seen. Key sets change without a restart, through a configuration reload or `change(_:)`
/// (the admin API's key operations), so a site changes keys in three steps that never fail an exchange:
///
/// 1. stage the new key on every node (accepted from the siblings, not yet sent);
/// 2. activate it on every node (sent from now on; the old key is still accepted, so requests in flight and
///    siblings that have not switched yet are answered);
/// 3. retire the old key (no longer accepted).
///
/// Replies are always made under the request's key, so a poller only ever verifies with the key it sent.
public final class SiblingRegistry: Sendable {
    struct Entry: Sendable {
        var sibling: NodeConfig.Sibling
        var address: IPAddress
        var requests: UInt64 = 0
        var replies: UInt64 = 0
        var failures: UInt64 = 0
        var lastFailure: String?
        /// Failed exchanges in a row, and when the run began (Unix seconds).
        var consecutiveFailures = 0
        var failingSince: Double?
        var lastReplyKey: UInt32?
        /// The key set comes from the state database (changed through the API), not the configuration.
        var managed = false
    }

    private let entries: NIOLockedValueBox<[Entry]>

    public init(_ siblings: [NodeConfig.Sibling]) {
        // Addresses were checked to be numeric when the configuration was read.
        entries = NIOLockedValueBox(siblings.compactMap { sibling in
            IPAddress(sibling.host).map { Entry(sibling: sibling, address: $0.unmapped) }
        })
    }

    public var siblings: [NodeConfig.Sibling] { entries.withLockedValue { $0.map(\.sibling) } }

    /// The key a request to `name` carries now (looked up at every poll).
    public func sendKey(for name: String) -> UInt32? {
        entries.withLockedValue { $0.first { $0.sibling.name == name }?.sibling.key }
    }

    /// The server's per-address key sets.
    public var restrictions: [IPAddress: Set<UInt32>] {
        entries.withLockedValue { entries in
            var result: [IPAddress: Set<UInt32>] = [:]
            // Two siblings on one address (different ports) share the union of their sets.
            for entry in entries { result[entry.address, default: []].formUnion(entry.sibling.accept) }
            return result
        }
    }

    // MARK: Polling

    func requestSent(to name: String) {
        update(name) { $0.requests += 1 }
    }

    func replied(from name: String, key: UInt32?) {
        update(name) {
            $0.replies += 1
            $0.lastReplyKey = key
            $0.consecutiveFailures = 0
            $0.failingSince = nil
        }
    }

    /// A failed exchange. `reachable`: the sibling did answer, authentically, only without time to give
    /// (unsynchronised): counted as a failure, but it does not make the sibling unreachable.
    func failed(_ name: String, reason: String, reachable: Bool = false, now: Double) {
        update(name) {
            $0.failures += 1
            $0.lastFailure = reason
            if reachable {
                $0.consecutiveFailures = 0
                $0.failingSince = nil
            } else {
                if $0.consecutiveFailures == 0 { $0.failingSince = now }
                $0.consecutiveFailures += 1
            }
        }
    }

    private func update(_ name: String, _ body: (inout Entry) -> Void) {
        entries.withLockedValue { entries in
            if let index = entries.firstIndex(where: { $0.sibling.name == name }) { body(&entries[index]) }
        }
    }

    // MARK: Key changes

    /// Key sets restored from the state database at start: they replace the configuration's for these siblings.
    func restore(_ sets: [String: (key: UInt32, accept: Set<UInt32>)]) {
        entries.withLockedValue { entries in
            for index in entries.indices {
                guard let set = sets[entries[index].sibling.name] else { continue }
                entries[index].sibling.key = set.key
                entries[index].sibling.accept = set.accept
                entries[index].managed = true
            }
        }
    }

    /// A reloaded configuration's send keys and accepted keys, for the siblings this node already polls.
    /// Returns the names of siblings whose keys changed, of siblings added or removed (those need a
    /// restart: pollers are started once), and of siblings whose keys the state database holds (the
    /// configuration's keys no longer apply to them).
    public func applyKeys(from siblings: [NodeConfig.Sibling]) -> (changed: [String], needRestart: [String], managed: [String]) {
        entries.withLockedValue { entries in
            var changed: [String] = []
            var managed: [String] = []
            for index in entries.indices {
                guard let next = siblings.first(where: { $0.name == entries[index].sibling.name }) else { continue }
                if entries[index].managed {
                    if next.key != entries[index].sibling.key || next.accept != entries[index].sibling.accept { managed.append(next.name) }
                    continue
                }
                if next.key != entries[index].sibling.key || next.accept != entries[index].sibling.accept {
                    entries[index].sibling.key = next.key
                    entries[index].sibling.accept = next.accept
                    changed.append(next.name)
                }
            }
            let known = Set(entries.map(\.sibling.name))
            let wanted = Set(siblings.map(\.name))
            return (changed, known.symmetricDifference(wanted).sorted(), managed)
        }
    }

    /// Applies one key operation to the named siblings (all when `names` is nil). `knownKeys`: the ids in
    /// the key file; a key must be there before it can be staged or activated. Idempotent: repeating an
    /// operation changes nothing and succeeds. Returns whether anything changed. `persist` runs for each
    /// target sibling after validation and before anything changes; its error aborts the operation.
    /// `persistent`: the targets' keys are from now on decided by what `persist` stored, not by reloads.
    @discardableResult
    public func change(
        _ operation: SiblingKeyOperation, siblings names: [String]? = nil, knownKeys: Set<UInt32>,
        persistent: Bool = false, persist: (NodeConfig.Sibling) throws(SiblingKeyError) -> Void = { _ throws(SiblingKeyError) in }
    ) throws(SiblingKeyError) -> Bool {
        // NIOLockedValueBox rethrows untyped errors: the typed error travels out as a Result.
        try entries.withLockedValue { entries in Result { () throws(SiblingKeyError) -> Bool in
            let targets: [Int]
            if let names {
                var found: [Int] = []
                for name in names {
                    guard let index = entries.firstIndex(where: { $0.sibling.name == name }) else { throw .unknownSibling(name) }
                    found.append(index)
                }
                targets = found
            } else {
                targets = Array(entries.indices)
            }
            guard !targets.isEmpty else { throw .noSiblings }
            // Validate everything before changing anything.
            switch operation {
            case .stage(let key), .activate(let key):
                guard knownKeys.contains(key) else { throw .keyNotInKeyFile(key) }
            case .retire(let key):
                if let busy = targets.first(where: { entries[$0].sibling.key == key }) {
                    throw .retiringSendKey(key, sibling: entries[busy].sibling.name)
                }
            }
            var changed = false
            for index in targets { try persist(entries[index].sibling) }
            for index in targets {
                var sibling = entries[index].sibling
                switch operation {
                case .stage(let key):
                    sibling.accept.insert(key)
                case .activate(let key):
                    sibling.accept.insert(key)
                    sibling.key = key
                case .retire(let key):
                    sibling.accept.remove(key)
                }
                if sibling != entries[index].sibling {
                    changed = true
                    entries[index].sibling = sibling
                }
                if persistent { entries[index].managed = true }
            }
            return changed
        } }.get()
    }

    // MARK: Status

    func status(traffic: SiblingTraffic) -> [NodeStatus.Sibling] {
        entries.withLockedValue { $0 }.map { entry in
            let served = traffic.entry(for: entry.address)
            return NodeStatus.Sibling(
                name: entry.sibling.name, address: entry.sibling.host, port: Int(entry.sibling.port),
                sendKey: entry.sibling.key, acceptedKeys: entry.sibling.accept.sorted(), requests: entry.requests,
                replies: entry.replies, failures: entry.failures, lastFailure: entry.lastFailure,
                lastReplyKey: entry.lastReplyKey,
                answeredByKey: Dictionary(uniqueKeysWithValues: served.answeredByKey.map { (String($0.key), $0.value) }),
                rejected: served.rejected, lastRejection: served.lastRejection,
                consecutiveFailures: entry.consecutiveFailures, failingSince: entry.failingSince, rejectingSince: served.rejectingSince)
        }
    }
}
