import ConfigFile
import CFleetShim
import Foundation

/// A process's (or thread's) user, group and capability sets as `/proc/PID/status` shows them: what the node
/// logs at start, so an operator sees what it runs with, and what tests read to check the privilege drop.
public struct ProcessCredentials: Sendable, Equatable, CustomStringConvertible {
    /// Real, effective, saved and filesystem ids, in the order /proc lists them.
    public var uids: [UInt32]
    public var gids: [UInt32]
    public var effective: UInt64
    public var permitted: UInt64
    public var inheritable: UInt64
    public var bounding: UInt64
    public var ambient: UInt64
    /// The NoNewPrivs flag (execve never grants privileges).
    public var noNewPrivileges: Bool

    /// CAP_SYS_TIME (capability 25): what steering the kernel clock needs.
    public static let sysTime: UInt64 = 1 << 25
    public static let netBindService: UInt64 = 1 << 10

    /// The calling process's credentials (its main thread's), nil if /proc cannot be read.
    public static func current() -> ProcessCredentials? {
        (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)).flatMap(parse)
    }

    /// Parses the text of a /proc status file; nil when a line is missing.
    public static func parse(_ text: String) -> ProcessCredentials? {
        var fields: [String: [String]] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        }
        func ids(_ key: String) -> [UInt32]? {
            guard let values = fields[key]?.compactMap({ UInt32($0) }), values.count == 4 else { return nil }
            return values
        }
        func mask(_ key: String) -> UInt64? { fields[key]?.first.flatMap { UInt64($0, radix: 16) } }
        guard let uids = ids("Uid"), let gids = ids("Gid"), let effective = mask("CapEff"), let permitted = mask("CapPrm"),
            let inheritable = mask("CapInh"), let bounding = mask("CapBnd")
        else { return nil }
        return ProcessCredentials(
            uids: uids, gids: gids, effective: effective, permitted: permitted, inheritable: inheritable, bounding: bounding,
            ambient: mask("CapAmb") ?? 0, noNewPrivileges: fields["NoNewPrivs"]?.first == "1")
    }

    /// Capability names as capabilities(7) spells them, by number.
    static let names = [
        "chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap",
        "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw", "ipc_lock", "ipc_owner",
        "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct", "sys_admin", "sys_boot", "sys_nice",
        "sys_resource", "sys_time", "sys_tty_config", "mknod", "lease", "audit_write", "audit_control", "setfcap",
        "mac_override", "mac_admin", "syslog", "wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf",
        "checkpoint_restore",
    ]

    /// "none", "all" (every capability this kernel knows), or the names: "cap_net_bind_service,cap_sys_time".
    public static func describe(_ mask: UInt64) -> String {
        if mask == 0 { return "none" }
        let last = Int(cfs_cap_last_cap())
        if last > 0, last < 63, mask == (UInt64(1) << UInt64(last + 1)) - 1 { return "all" }
        return (0..<64).filter { mask >> UInt64($0) & 1 == 1 }
            .map { $0 < names.count ? "cap_\(names[$0])" : "cap_\($0)" }
            .joined(separator: ",")
    }

    public var description: String {
        "uid \(uids[1]) gid \(gids[1]), capabilities effective \(Self.describe(effective)), permitted \(Self.describe(permitted)), "
            + "bounding \(Self.describe(bounding)), ambient \(Self.describe(ambient))"
            + (noNewPrivileges ? ", no new privileges" : "")
    }
}
