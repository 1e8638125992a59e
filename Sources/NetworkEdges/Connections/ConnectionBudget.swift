import Metrics
import NIOCore
import NIOConcurrencyHelpers

/// The connection budget of one TCP listener (the admin API, metrics, NTS-KE). A listener that simply refuses
/// newcomers when full belongs to whoever fills it first, so here:
/// - a source (IPv4 address, IPv6 /64) holds at most `perSource` not-yet-authenticated connections and opens
///   new ones at a bounded rate (`ConnectionRate`), checked right at accept (`screen`, `AdmissionScreen`);
/// - when the pool is full the oldest not-yet-authenticated connection is evicted for the newcomer, so
///   held connections age out under pressure instead of locking everybody out;
/// - `reservedForAuthenticated` places can only be taken by connections that authenticated (the admin API's
///   mutual TLS): unauthenticated ones never hold more than `total - reservedForAuthenticated`. A listener
///   without client authentication (NTS-KE) marks a connection so once its request is complete, so that a
///   session being answered is never evicted.
/// Every refusal and eviction is counted by reason (`fleetnode_connections_refused_total{listener,reason}`,
/// `fleetnode_connections_closed_total{listener,reason}`), and told to `observer` for a listener's own
/// statistics (NTS-KE's status counters).
public final class ConnectionBudget: Sendable {
    public struct Limits: Sendable, Equatable {
        public var total: Int
        public var reservedForAuthenticated: Int
        public var perSource: Int
        public var rate: ConnectionRate.Limits
        /// From accept to a complete TLS handshake (nil: plain TCP). When it is not shorter than
        /// `requestDeadline`, the one deadline covers both, and a connection it closes is counted by the phase
        /// it was in.
        public var handshakeDeadline: TimeAmount?
        /// From accept to a complete request.
        public var requestDeadline: TimeAmount

        public init(
            total: Int, reservedForAuthenticated: Int, perSource: Int, rate: ConnectionRate.Limits,
            handshakeDeadline: TimeAmount?, requestDeadline: TimeAmount
        ) {
            self.total = total
            self.reservedForAuthenticated = reservedForAuthenticated
            self.perSource = perSource
            self.rate = rate
            self.handshakeDeadline = handshakeDeadline
            self.requestDeadline = requestDeadline
        }
    }

    public enum Refusal: String, Sendable {
        case perSource = "per_source"
        case rate
        case full
    }

    /// Why a connection was closed by the budget (eviction, deadline), for counting.
    public enum Closure: String, Sendable {
        case evicted
        case handshakeDeadline = "handshake_deadline"
        case requestDeadline = "request_deadline"
    }

    /// What the budget did, for `observer`.
    public enum Event: Sendable, Equatable {
        case refused(Refusal)
        case closed(Closure)
    }

    public struct Ticket: Hashable, Sendable {
        fileprivate let id: UInt64
        public let source: ConnectionSource
    }

    private struct Entry {
        let source: ConnectionSource
        var authenticated: Bool
        let close: @Sendable () -> Void
    }

    private struct State {
        var nextID: UInt64 = 0
        var entries: [UInt64: Entry] = [:]
        var unauthenticatedBySource: [ConnectionSource: Int] = [:]
        var unauthenticated = 0
        var rate: ConnectionRate
    }

    public let listener: String
    public let limits: Limits
    private let state: NIOLockedValueBox<State>
    private let observer: (@Sendable (Event) -> Void)?
    /// The counters by reason, made on first use and kept: under a reconnect flood a refusal is counted
    /// thousands of times a second, and looking a metric up in the registry each time costs more than the
    /// refusal itself.
    private let counters = NIOLockedValueBox<[String: Counter]>([:])

    /// - Parameter observer: told of every refusal and budget closure (after the metric is counted), for a
    ///   listener that keeps statistics of its own; called on the thread that decided, without locks held.
    public init(listener: String, limits: Limits, observer: (@Sendable (Event) -> Void)? = nil) {
        self.listener = listener
        self.limits = limits
        self.state = NIOLockedValueBox(State(rate: ConnectionRate(limits: limits.rate)))
        self.observer = observer
    }

    /// Connections held now, and of those not yet authenticated.
    public var held: (total: Int, unauthenticated: Int) {
        state.withLockedValue { ($0.entries.count, $0.unauthenticated) }
    }

    /// The cheap first look at a connection just accepted, before any handler or TLS state is made for it:
    /// a source at its cap or over its rate is refused here (counted), which is what keeps a flood of
    /// reconnects from costing more than an accept and a close each. Takes the source's rate token.
    /// `now`: monotonic nanoseconds.
    public func screen(_ source: ConnectionSource, now: UInt64 = NIODeadline.now().uptimeNanoseconds) -> Refusal? {
        let refusal: Refusal? = state.withLockedValue { state in
            if state.unauthenticatedBySource[source, default: 0] >= limits.perSource { return .perSource }
            // The rate only matters under pressure (the unauthenticated places half taken): it bounds how
            // fast an attacker churns a full pool, and should not refuse an operator's retries on an idle one.
            let underPressure = state.unauthenticated * 2 >= limits.total - limits.reservedForAuthenticated
            if !state.rate.take(source, now: now) && underPressure { return .rate }
            return nil
        }
        if let refusal { countRefusal(refusal) }
        return refusal
    }

    /// Admits a connection that passed `screen`, evicting the oldest unauthenticated one if the pool is
    /// full, or says why not. `close` closes it if it is evicted later.
    public func admit(_ source: ConnectionSource, close: @escaping @Sendable () -> Void) -> Result<Ticket, RefusalError> {
        var evicted: (@Sendable () -> Void)?
        let result: Result<Ticket, RefusalError> = state.withLockedValue { state in
            if state.unauthenticatedBySource[source, default: 0] >= limits.perSource {
                return .failure(RefusalError(reason: .perSource))
            }
            let unauthenticatedRoom = limits.total - limits.reservedForAuthenticated
            if state.entries.count >= limits.total || state.unauthenticated >= unauthenticatedRoom {
                // Ids grow with time: the smallest unauthenticated id is the oldest such connection.
                guard let oldest = state.entries.filter({ !$0.value.authenticated }).keys.min() else {
                    return .failure(RefusalError(reason: .full))
                }
                evicted = state.entries[oldest]?.close
                Self.remove(oldest, from: &state)
            }
            let id = state.nextID
            state.nextID += 1
            state.entries[id] = Entry(source: source, authenticated: false, close: close)
            state.unauthenticatedBySource[source, default: 0] += 1
            state.unauthenticated += 1
            return .success(Ticket(id: id, source: source))
        }
        if let evicted {
            count(.evicted)
            evicted()
        }
        if case .failure(let refusal) = result { countRefusal(refusal.reason) }
        return result
    }

    private func countRefusal(_ reason: Refusal) {
        counter("fleetnode_connections_refused_total", reason.rawValue).increment()
        observer?(.refused(reason))
    }

    private func counter(_ label: String, _ reason: String) -> Counter {
        counters.withLockedValue { counters in
            let key = label + "/" + reason
            if let counter = counters[key] { return counter }
            let counter = Counter(label: label, dimensions: [("listener", listener), ("reason", reason)])
            counters[key] = counter
            return counter
        }
    }

    /// The connection proved who it is (a verified client certificate): it no longer counts against its
    /// source, cannot be evicted, may use the reserved places, and its rate token is given back.
    public func authenticated(_ ticket: Ticket) {
        state.withLockedValue { state in
            guard var entry = state.entries[ticket.id], !entry.authenticated else { return }
            entry.authenticated = true
            state.entries[ticket.id] = entry
            Self.forgetUnauthenticated(entry.source, in: &state)
            state.rate.refund(entry.source)
        }
    }

    /// The connection closed (or was evicted: then nothing is left to release).
    public func release(_ ticket: Ticket) {
        state.withLockedValue { Self.remove(ticket.id, from: &$0) }
    }

    public func count(_ closure: Closure) {
        counter("fleetnode_connections_closed_total", closure.rawValue).increment()
        observer?(.closed(closure))
    }

    private static func remove(_ id: UInt64, from state: inout State) {
        guard let entry = state.entries.removeValue(forKey: id) else { return }
        if !entry.authenticated { forgetUnauthenticated(entry.source, in: &state) }
    }

    private static func forgetUnauthenticated(_ source: ConnectionSource, in state: inout State) {
        state.unauthenticated -= 1
        let left = state.unauthenticatedBySource[source, default: 1] - 1
        state.unauthenticatedBySource[source] = left > 0 ? left : nil
    }

    public struct RefusalError: Error, Sendable {
        public let reason: Refusal
    }
}
