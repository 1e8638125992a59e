import NodeModels
import Foundation
import Metrics
import NIOConcurrencyHelpers

/// What status knows beyond the packet path and the time service, as metrics: NTS-KE sessions and failures
/// (counters fed by the difference between two status snapshots), the certificate's seconds to expiry, the
/// current cookie master key's age, and the symmetric keys held. Sampled every few seconds.
final class ControlPlaneMetrics: Sendable {
    private let previous = NIOLockedValueBox<NTSKECounters?>(nil)
    private let sessions = Counter(label: "fleetnode_ntske_sessions_total")
    private let handshakeFailures = Counter(label: "fleetnode_ntske_handshake_failures_total")
    private let errorResponses = Counter(label: "fleetnode_ntske_error_responses_total")
    private let timeouts = Counter(label: "fleetnode_ntske_timeouts_total")
    private let refused = Counter(label: "fleetnode_ntske_refused_total")
    private let evicted = Counter(label: "fleetnode_ntske_evicted_total")
    private let certificateExpiry = Gauge(label: "fleetnode_certificate_expiry_seconds")
    private let cookieKeyAge = Gauge(label: "fleetnode_nts_cookie_key_age_seconds")
    private let cookieKeys = Gauge(label: "fleetnode_nts_cookie_keys")
    private let symmetricKeys = Gauge(label: "fleetnode_symmetric_keys")
    private let siblings = SiblingMetrics()
    private let storeFailures = NIOLockedValueBox<UInt64?>(nil)
    private let storeWritable = Gauge(label: "fleetnode_state_database_writable")
    private let storeWriteFailures = Counter(label: "fleetnode_state_database_write_failures_total")
    private let storePending = Gauge(label: "fleetnode_state_database_pending_rows")
    private let keyFileWritable = Gauge(label: "fleetnode_nts_key_file_writable")
    private let keyFileFailures = NIOLockedValueBox<UInt64?>(nil)
    private let keyFileWriteFailures = Counter(label: "fleetnode_nts_key_file_write_failures_total")
    private let openDescriptors = Gauge(label: "fleetnode_open_descriptors")
    private let descriptorLimit = Gauge(label: "fleetnode_descriptor_limit")
    private let descriptorLimitReached = Gauge(label: "fleetnode_descriptor_limit_reached")

    func record(_ status: NodeStatus, now: Date = Date()) {
        symmetricKeys.record(Double(status.symmetricKeys.count))
        siblings.record(status)
        if let descriptors = status.descriptors {
            openDescriptors.record(Double(descriptors.open))
            if let limit = descriptors.limit { descriptorLimit.record(Double(limit)) }
            descriptorLimitReached.record(descriptors.atLimit(now: now.timeIntervalSince1970) ? 1 : 0)
        }
        if let store = status.stateStore {
            storeWritable.record(store.failing ? 0 : 1)
            storePending.record(Double(store.pending))
            let last = storeFailures.withLockedValue { stored in
                defer { stored = store.writeFailures }
                return stored ?? 0
            }
            if store.writeFailures > last { storeWriteFailures.increment(by: Int64(store.writeFailures - last)) }
        }
        guard let nts = status.nts else { return }
        let counters = nts.ntske
        let last = previous.withLockedValue { stored in
            defer { stored = counters }
            return stored ?? NTSKECounters()
        }
        func add(_ counter: Counter, _ new: UInt64, _ old: UInt64) {
            if new > old { counter.increment(by: Int64(new - old)) }
        }
        add(sessions, counters.keysEstablished, last.keysEstablished)
        add(handshakeFailures, counters.handshakeFailures, last.handshakeFailures)
        add(errorResponses, counters.errorResponses, last.errorResponses)
        add(timeouts, counters.timeouts, last.timeouts)
        // Every refusal at accept (per-kind counts: fleetnode_connections_refused_total{listener="ntske",reason}).
        add(refused, counters.refused, last.refused)
        add(evicted, counters.evicted, last.evicted)
        if let certificate = nts.certificate {
            certificateExpiry.record(Double(certificate.notAfter) - now.timeIntervalSince1970)
        }
        if let keyFile = nts.keyFile {
            keyFileWritable.record(keyFile.failingSince == nil ? 1 : 0)
            // writeFailures counts the current run of failures (0 once one gets through): count its growth.
            let last = keyFileFailures.withLockedValue { stored in
                defer { stored = keyFile.writeFailures }
                return stored ?? 0
            }
            if keyFile.writeFailures > last { keyFileWriteFailures.increment(by: Int64(keyFile.writeFailures - last)) }
        }
        cookieKeys.record(Double(nts.cookieKeys.count))
        if let current = nts.cookieKeys.first(where: \.current) {
            cookieKeyAge.record(now.timeIntervalSince1970 - Double(current.createdAt))
        }
    }
}
