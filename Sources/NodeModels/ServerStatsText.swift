/// `chronyc serverstats`-style text of the node's server counters, shared by `fleetctl serverstats`.
public enum ServerStatsText {
    public static func lines(ntp: ServerCounters, ntske: NTSKECounters?, ntskeActive: Int? = nil, adminRefused: Int? = nil) -> [String] {
        var lines = [
            row("NTP packets received", ntp.received),
            row("NTP packets answered", ntp.answered),
            row("NTP packets dropped", ntp.droppedTotal),
        ]
        for (reason, count) in ntp.dropped.sorted(by: { $0.key < $1.key }) {
            lines.append(row("  \(reason)", count))
        }
        lines += [
            row("Kiss-o'-Death RATE sent", ntp.kissOfDeath),
            row("MAC-authenticated packets", ntp.symmetricAuthenticated),
            row("NTS-authenticated packets", ntp.ntsAuthenticated),
            row("NTS NAKs (unknown cookie)", ntp.ntsNAK),
            row("NTS NAKs (bad authenticator)", ntp.ntsAuthenticationFailed),
            row("Kernel receive timestamps", ntp.kernelTimestamps),
        ]
        if let precision = ntp.precision {
            lines += [
                row("Kernel transmit timestamps", precision.kernelTransmitTimestamps),
                row("Interleaved responses", precision.interleaved),
                delays("Transmit timestamp error", precision.transmitTimestampError),
                delays("Queueing delay", precision.queueingDelay),
            ]
        }
        if let ke = ntske {
            lines += [
                row("NTS-KE connections accepted", ke.connections),
                row("NTS-KE sessions established", ke.keysEstablished),
                row("NTS-KE handshake failures", ke.handshakeFailures),
                row("NTS-KE error responses", ke.errorResponses + ke.noCommonAlgorithm),
                row("NTS-KE timeouts", ke.timeouts),
                row("  in the handshake", ke.handshakeTimeouts),
                row("NTS-KE connections evicted", ke.evicted),
                row("NTS-KE connections dropped", ke.refused),
                row("  over max_connections", ke.refusedOverLimit),
                row("  over the source's cap", ke.refusedPerSource),
                row("  over the source's rate", ke.refusedConnectionRate),
                row("  over [nts.ratelimit]", ke.refusedRateLimited),
                row("NTS-KE accept backoffs", ke.acceptBackoffs),
            ]
            if let ntskeActive { lines.append(row("NTS-KE connections open", UInt64(max(0, ntskeActive)))) }
        }
        if let adminRefused { lines.append(row("Admin API handshakes refused", UInt64(max(0, adminRefused)))) }
        return lines
    }

    /// A delay distribution in microseconds: mean, standard deviation, p99 and maximum.
    public static func delays(_ label: String, _ histogram: DelayHistogram, width: Int = 28) -> String {
        let padded = label.count >= width ? label : label + String(repeating: " ", count: width - label.count)
        func us(_ nanoseconds: Double) -> String {
            let tenths = Int64((nanoseconds / 100).rounded())
            return "\(tenths < 0 ? "-" : "")\(abs(tenths) / 10).\(abs(tenths) % 10)"
        }
        return "\(padded): mean \(us(histogram.meanNanoseconds)) us, sd \(us(histogram.standardDeviationNanoseconds)) us, "
            + "p99 \(us(Double(histogram.quantileNanoseconds(0.99)))) us, max \(us(Double(histogram.maximumNanoseconds))) us"
    }

    /// chronyc's "label padded to 27 : value".
    static func row(_ label: String, _ value: UInt64) -> String {
        let padded = label.count >= 28 ? label : label + String(repeating: " ", count: 28 - label.count)
        return "\(padded): \(value)"
    }
}
