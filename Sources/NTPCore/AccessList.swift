// Who may get time from this server, by source subnet. Modelled on chrony's
// `allow`/`deny` directives (chrony.conf(5)): operators already know that the
// most specific subnet decides, whatever the order of the lines.

/// One `allow`/`deny` line: whether to serve `subnet`.
public struct AccessRule: Hashable, Sendable, CustomStringConvertible {
    public var allow: Bool
    public var subnet: Subnet

    public init(allow: Bool, subnet: Subnet) {
        self.allow = allow
        self.subnet = subnet
    }

    /// The directive as written in a chrony-style config: "allow 10.0.0.0/8".
    public var description: String {
        (allow ? "allow " : "deny ") + subnet.description
    }
}

/// Allow/deny by subnet. Decision: the most specific (longest prefix) matching rule wins; among equally specific rules the later one wins (chrony's semantics for allow/deny directives). If no rule matches: deny if the list contains any allow rule, allow otherwise (so an empty list serves everyone and a deny-only list serves everyone but the denied, as ntpd-rs's denylist does).
///
/// Note the default differs from chrony, which denies everything not
/// allowed: here a list with no `allow` line means "serve the world", the
/// usual wish for a public stratum-1 server.
///
/// Performance: ``init(rules:)`` compiles the rules once into two arrays, one
/// per address family, of (mask, network, verdict) sorted by prefix length
/// descending and, within a length, by position descending. ``permits(_:)``
/// then returns the verdict of the first entry that matches: one AND and
/// compare per rule (two for IPv6), no allocation. "all" rules appear in both
/// arrays with prefix length 0. This is a linear scan, right for the tens of
/// rules a server config has; thousands would want a trie.
///
/// Equality compares the rule lists as written (order included), not the
/// decisions they produce.
public struct AccessList: Sendable, Equatable {
    /// The rules in the order given.
    public let rules: [AccessRule]

    private struct V4Entry: Sendable {
        var mask: UInt32
        var network: UInt32
        var allow: Bool
        var ruleIndex: Int
    }

    private struct V6Entry: Sendable {
        var maskHigh: UInt64
        var maskLow: UInt64
        var networkHigh: UInt64
        var networkLow: UInt64
        var allow: Bool
        var ruleIndex: Int
    }

    private let v4Entries: [V4Entry]
    private let v6Entries: [V6Entry]
    private let permitsUnmatched: Bool

    /// Serves everyone: the empty list.
    public static let allowAll = AccessList(rules: [])

    public init(rules: [AccessRule]) {
        self.rules = rules
        permitsUnmatched = !rules.contains { $0.allow }

        // Most specific first; among equals, the later rule first.
        let order = rules.indices.sorted { a, b in
            let la = rules[a].subnet.prefixLength
            let lb = rules[b].subnet.prefixLength
            return la != lb ? la > lb : a > b
        }
        var v4: [V4Entry] = []
        var v6: [V6Entry] = []
        for index in order {
            let rule = rules[index]
            switch rule.subnet.storage {
            case .all:
                v4.append(V4Entry(mask: 0, network: 0, allow: rule.allow, ruleIndex: index))
                v6.append(V6Entry(
                    maskHigh: 0, maskLow: 0, networkHigh: 0, networkLow: 0,
                    allow: rule.allow, ruleIndex: index))
            case let .v4(network, length):
                v4.append(V4Entry(
                    mask: Subnet.mask32(Int(length)), network: network,
                    allow: rule.allow, ruleIndex: index))
            case let .v6(high, low, length):
                v6.append(V6Entry(
                    maskHigh: Subnet.mask64(Int(length)), maskLow: Subnet.mask64(Int(length) - 64),
                    networkHigh: high, networkLow: low, allow: rule.allow, ruleIndex: index))
            }
        }
        v4Entries = v4
        v6Entries = v6
    }

    /// Whether to answer a request from `address` (IPv4-mapped IPv6 addresses
    /// are judged as IPv4). Allocation-free; see the type comment for cost.
    public func permits(_ address: IPAddress) -> Bool {
        switch address.unmapped {
        case .v4(let value):
            for entry in v4Entries where value & entry.mask == entry.network {
                return entry.allow
            }
        case .v6(let high, let low):
            for entry in v6Entries
            where high & entry.maskHigh == entry.networkHigh && low & entry.maskLow == entry.networkLow {
                return entry.allow
            }
        }
        return permitsUnmatched
    }

    /// The rule that decides for `address`, or `nil` if none matches (then
    /// the default applies: deny if any rule allows, else allow). For logs and
    /// status output explaining why a client is refused.
    public func decidingRule(for address: IPAddress) -> AccessRule? {
        switch address.unmapped {
        case .v4(let value):
            for entry in v4Entries where value & entry.mask == entry.network {
                return rules[entry.ruleIndex]
            }
        case .v6(let high, let low):
            for entry in v6Entries
            where high & entry.maskHigh == entry.networkHigh && low & entry.maskLow == entry.networkLow {
                return rules[entry.ruleIndex]
            }
        }
        return nil
    }

    public static func == (lhs: AccessList, rhs: AccessList) -> Bool {
        lhs.rules == rhs.rules
    }
}
