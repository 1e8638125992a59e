import NodeModels
import Foundation

/// `fleetnode status` output: a short text view for people, JSON for scripts.
public enum StatusReport {
    public static func json(_ status: NodeStatus) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(status), as: UTF8.self)
    }

    public static func text(_ status: NodeStatus) -> String {
        var lines: [String] = []
        let serving = status.serving
        let source = serving.source == "local" ? "local clock ([local] stratum, no time source)" : serving.source
        lines.append("Node            : \(status.name) (fleetnode \(status.version)), up \(Int(status.uptimeSeconds)) s")
        let health = AdminHealth(status: status, now: Int64(Date().timeIntervalSince1970))
        lines.append("Health          : \(health.verdict.rawValue)")
        for reason in health.reasons {
            lines.append("  \(reason.severity.rawValue.uppercased()): \(reason.message)")
        }
        lines.append("Serving         : \(serving.synchronized ? "synchronised" : "unsynchronised (leap 3)"), source \(source)")
        lines.append("Stratum         : \(serving.stratum)")
        lines.append("Reference ID    : \(serving.referenceID)")
        lines.append("Root delay      : \(serving.rootDelaySeconds) seconds")
        lines.append("Root dispersion : \(serving.rootDispersionSeconds) seconds")
        lines.append("Clock           : \(status.clock.driver), offset \(status.clock.offsetSeconds) s, frequency \(status.clock.frequencyPPM) ppm, precision 2^\(status.clock.precision)")
        for listener in status.listeners {
            let buffer = listener.receiveBuffer.map { ", receive buffer \($0 / 1024) KiB" } ?? ""
            lines.append("Listening       : \(listener.address) port \(listener.port), \(listener.sockets) socket(s), \(listener.timestamping)\(buffer)")
        }
        let ntp = status.ntp
        lines.append("NTP received    : \(ntp.received)")
        lines.append("NTP answered    : \(ntp.answered) (KoD \(ntp.kissOfDeath), MAC-authenticated \(ntp.symmetricAuthenticated))")
        for (reason, count) in ntp.dropped.sorted(by: { $0.key < $1.key }) {
            lines.append("NTP dropped     : \(count) \(reason)")
        }
        if let precision = ntp.precision {
            lines.append("NTP interleaved : \(precision.interleaved) answers; kernel TX timestamps \(precision.kernelTransmitTimestamps)")
            lines.append(ServerStatsText.delays("TX stamp error", precision.transmitTimestampError, width: 16))
            lines.append(ServerStatsText.delays("Queueing delay", precision.queueingDelay, width: 16))
        }
        let shedding = status.maxQueueDelaySeconds.map {
            "requests waiting over \(($0 * 1e6).rounded() / 1e3) ms are dropped (tooOld) once the backlog has lasted as long"
        } ?? "off (every request answered, whatever its wait)"
        lines.append("Load shedding   : \(shedding)")
        switch status.sendMode {
        case "each": lines.append("Replies sent    : one per send call, transmit timestamp read just before it")
        case "batch": lines.append("Replies sent    : one sendmmsg per batch, transmit timestamps predicted for their place")
        default: break
        }
        lines.append("Rate limiting   : \(status.rateLimiting ? "on" : "off"); config reloads \(status.configReloads)")
        if !status.symmetricKeys.isEmpty {
            lines.append("Symmetric keys  : " + status.symmetricKeys.map { "\($0.id) (\($0.type), \($0.bits) bits)" }.joined(separator: ", "))
        }
        if let descriptors = status.descriptors {
            let limit = descriptors.limit.map(String.init) ?? "unlimited"
            let last = descriptors.lastAcceptFailure.map { ", last \(Int(Date().timeIntervalSince1970 - $0)) s ago" } ?? ""
            let reached = descriptors.atLimit(now: Date().timeIntervalSince1970) ? ", LIMIT REACHED" : ""
            lines.append("Descriptors     : \(descriptors.open) open of \(limit); \(descriptors.acceptFailures) failed accepts\(last)\(reached)")
        }
        if let store = status.stateStore {
            let age = store.lastWrite.map { "last write \(Int(Date().timeIntervalSince1970 - $0)) s ago" } ?? "no write yet"
            lines.append("State           : state database \(store.path), \(store.sizeBytes) bytes, \(age), \(store.events) events, \(store.writeFailures) write failures\(store.lastError.map { " (\($0))" } ?? "")\(store.failing ? ", FAILING NOW" : "")")
        }
        if let nts = status.nts {
            lines.append("NTS responses   : \(ntp.ntsAuthenticated) authenticated, \(ntp.ntsNAK) NAK (unknown cookie), \(ntp.ntsAuthenticationFailed) NAK (bad authenticator)")
            lines.append("NTS-KE          : \(nts.listeners.joined(separator: ", ")); \(nts.ntske.keysEstablished) sessions, \(nts.ntske.handshakeFailures) failed handshakes, \(nts.ntske.errorResponses) error responses, \(nts.ntske.timeouts) timeouts, \(nts.ntske.refused) refused, \(nts.ntske.evicted) evicted")
            if let certificate = nts.certificate {
                let days = (Double(certificate.notAfter) - Date().timeIntervalSince1970) / 86_400
                lines.append("Certificate     : \(certificate.subject), expires in \(Int(days)) days, sha256 \(certificate.sha256.prefix(16))..., swaps \(nts.certificateSwaps)")
            }
            let keys = nts.cookieKeys.map { "\($0.id)\($0.current ? "*" : "")" }.joined(separator: " ")
            let keyFile = nts.keyFile.map { file in
                file.failingSince == nil ? "; key file \(file.path)" : "; key file \(file.path) CANNOT BE WRITTEN (\(file.writeFailures) failed writes: \(file.lastError ?? "?"))"
            } ?? ""
            lines.append("Cookie keys     : \(keys) (* current), rotation every \(nts.rotateIntervalSeconds) s\(keyFile)")
        }
        if let steered = status.ntsSteeredTo {
            lines.append("NTS steering    : new NTS clients are sent to sibling \(steered) (this node cannot serve good time)")
        }
        for sibling in status.siblings {
            let answered = sibling.answeredByKey.sorted { $0.key < $1.key }.map { "\($0.value) under key \($0.key)" }.joined(separator: ", ")
            lines.append("Sibling         : \(sibling.name): send key \(sibling.sendKey), accepts \(sibling.acceptedKeys.map(String.init).joined(separator: ",")); polled \(sibling.requests), \(sibling.replies) replies, \(sibling.failures) failed\(sibling.lastFailure.map { " (last: \($0))" } ?? ""); its requests: \(answered.isEmpty ? "none" : answered) answered, \(sibling.rejected) rejected\(sibling.lastRejection.map { " (last: \($0))" } ?? "")\(sibling.unreachable ? "; UNREACHABLE" : "")\(sibling.rejectingSince != nil ? "; ITS KEY REJECTED" : "")")
        }
        if let time = status.timekeeping {
            lines.append("")
            lines += TimekeepingText.tracking(time.tracking, refclocks: time.refclocks, leap: time.leap)
            lines.append("")
            lines += TimekeepingText.sources(time.sources)
        }
        return lines.joined(separator: "\n")
    }
}
