import Fleet
import NodeModels
import TimeCore

/// fleetctl's layouts for the admin API reads that chronyc has no view for: reference clocks, busiest
/// clients, keys (ids, types, states and ages: never material), and a write's result.
public enum NodeReadViews {
    public static func gps(_ body: AdminGPS, verbose: Bool = false) -> String {
        guard !body.refclocks.isEmpty else { return "no reference clocks configured" }
        var lines = ["Name      Driver  State          Fix  Sats   Last   Reports  Errors  Note"]
        for clock in body.refclocks {
            let fix = clock.fixMode.map { ["?", "none", "2D", "3D"][min(3, max(0, $0))] } ?? "-"
            let sats = clock.satellitesUsed.map { used in "\(used)/\(clock.satellitesVisible.map(String.init) ?? "?")" } ?? "-"
            let last = clock.lastReportAge.map { age in age < 100 ? "\(DecimalText.fixed(age, places: 1))s" : "\(Int(age))s" } ?? "-"
            lines.append(
                pad(clock.name, 10) + pad(clock.driver, 8) + pad(clock.connected ? "connected" : "not connected", 15) + pad(fix, 5) + pad(sats, 7)
                    + pad(last, 7) + pad(String(clock.reports), 9) + pad(String(clock.errors), 8) + (clock.note ?? ""))
        }
        if verbose {
            lines += ["", "  Fix: gpsd's mode (none, 2D, 3D); Sats: used/visible; Last: seconds since the last report (TPV, SHM sample, pulse)."]
        }
        return lines.joined(separator: "\n")
    }

    public static func clients(_ body: AdminClients, verbose: Bool = false) -> String {
        if !body.tracked { return body.note ?? "clients are not tracked" }
        guard !body.clients.isEmpty else { return "no clients yet" }
        var lines = ["Address                                   Requests   Limited"]
        for client in body.clients {
            lines.append(pad(client.address, 42) + pad(String(client.requests), 11) + String(client.limited))
        }
        return lines.joined(separator: "\n")
    }

    public static func keys(_ body: AdminKeys, verbose: Bool = false) -> String {
        var lines: [String] = []
        lines.append("Symmetric keys (key file): " + (body.symmetric.isEmpty ? "none" : body.symmetric.map { "\($0.id) \($0.type)" }.joined(separator: ", ")))
        if body.cookie.isEmpty {
            lines.append("NTS cookie master keys: none (no [nts])")
        } else {
            let rotation = body.cookieRotateIntervalSeconds.map { $0 == 0 ? "rotated by fleetctl" : "rotated every \($0) s" } ?? ""
            lines.append("NTS cookie master keys (\(rotation)):")
            for key in body.cookie {
                lines.append("  \(pad(String(key.id), 12))\(pad(key.state.rawValue, 10))age \(age(key.ageSeconds))")
            }
        }
        for sibling in body.siblings ?? [] {
            let accepted = sibling.acceptedKeys.map(String.init).joined(separator: ", ")
            lines.append("Sibling \(sibling.name): sends key \(sibling.sendKey), accepts \(accepted.isEmpty ? "none" : accepted)")
            if verbose {
                for stored in sibling.stored { lines.append("    key \(stored.id) \(stored.type) \(stored.state)") }
            }
        }
        return lines.joined(separator: "\n")
    }

    public static func cookieResult(_ result: CookieKeyResult, verbose: Bool = false) -> String {
        (result.changed ? "done" : "already so (nothing changed)") + ": cookie keys " +
            result.keys.map { "\($0.id) \($0.state.rawValue)" }.joined(separator: ", ")
    }

    public static func symmetricResult(_ result: SymmetricKeyChangeResult, verbose: Bool = false) -> String {
        ([result.changed ? "done" : "already so (nothing changed)"] + result.siblings.map { sibling in
            "  \(sibling.name): sends key \(sibling.sendKey), accepts \(sibling.acceptedKeys.map(String.init).joined(separator: ", "))"
        }).joined(separator: "\n")
    }

    public static func health(_ body: AdminHealth, verbose: Bool = false) -> String {
        ([body.verdict.rawValue] + body.reasons.map { "  \($0.severity.rawValue): \($0.message)" }).joined(separator: "\n")
    }

    static func age(_ seconds: Int64) -> String {
        if seconds < 120 { return "\(seconds) s" }
        if seconds < 7_200 { return "\(seconds / 60) min" }
        if seconds < 172_800 { return "\(seconds / 3_600) h" }
        return "\(seconds / 86_400) days"
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
