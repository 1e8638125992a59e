import ConfigFile
import CFleetShim
import Foundation
import Logging
import NodeModels

/// `[node] user` (or `fleetnode run --user`): a node started as root binds its ports and opens what needs root
/// (PPS devices, gpsd's root-only shared memory), then runs as that user with no capability left but
/// CAP_SYS_TIME when it steers the kernel clock (`[clock] driver = "system"`), as `chronyd -u` does. Its
/// state directory, status socket directory and the files it rewrites are given to the user first (chronyd
/// creates its directories owned by its user), so keys and the database stay writable. A node not started
/// as root (the systemd unit starts it as `fleetnode` with only CAP_NET_BIND_SERVICE) changes nothing and
/// logs what it runs with.
struct PrivilegeDrop: Sendable {
    /// The user to become, from the password and group databases.
    struct Account: Sendable, Equatable {
        var name: String
        var uid: UInt32
        var gid: UInt32
        /// Supplementary groups (getgrouplist), e.g. `dialout` for /dev/pps0.
        var groups: [UInt32]
    }

    let account: Account
    /// The capabilities kept: CAP_SYS_TIME with the system clock driver, none with the software clock.
    let keep: UInt64

    init(account: Account, driver: NodeConfig.ClockDriver) {
        self.account = account
        keep = driver == .system ? ProcessCredentials.sysTime : 0
    }

    /// Looks the user up; a user that does not exist (or is root) stops the node with what to do.
    static func account(named name: String) throws(NodeStartError) -> Account {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        let status = getpwnam_r(name, &entry, &buffer, buffer.count, &result)
        guard status == 0, let found = result?.pointee else {
            let reason = status == 0 ? "no such user on this machine" : "cannot look it up: \(String(cString: strerror(status)))"
            throw NodeStartError(message: "[node] user \"\(name)\": \(reason); create it (useradd --system --user-group --home-dir /var/lib/fleetnode --shell /usr/sbin/nologin \(name)) or remove the setting")
        }
        guard found.pw_uid != 0 else {
            throw NodeStartError(message: "[node] user \"\(name)\" is root: name an unprivileged user for the node to run as")
        }
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(name, found.pw_gid, &groups, &count) < 0 {
            groups = [gid_t](repeating: 0, count: Int(count))
            _ = getgrouplist(name, found.pw_gid, &groups, &count)
        }
        return Account(name: name, uid: found.pw_uid, gid: found.pw_gid, groups: Array(groups.prefix(Int(max(0, count)))))
    }

    // MARK: files

    /// Directories no node may take over: a state file placed directly in one of them needs a directory of its own.
    static let sharedDirectories: Set<String> = [
        "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/media", "/mnt", "/opt", "/proc", "/root", "/run",
        "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/lib", "/usr/local", "/usr/local/lib", "/var", "/var/cache",
        "/var/lib", "/var/log", "/var/run", "/var/spool", "/var/tmp",
    ]

    /// What the node writes after the drop: directories it creates files in (temporary file, then rename),
    /// with the setting that names them, and the files it rewrites in place.
    static func writablePaths(_ config: NodeConfig) -> (directories: [(key: String, path: String)], files: [String]) {
        var directories: [(key: String, path: String)] = [("node.status_socket", parent(config.statusSocket))]
        var files: [String] = []
        if let state = config.state {
            directories.append(("state.database", parent(state.database)))
            files += [state.database, state.database + "-wal", state.database + "-shm"]
        }
        if let nts = config.nts {
            directories.append(("nts.key_file", parent(nts.keyFile)))
            files.append(nts.keyFile)
        }
        if let drift = config.clock.driftFile {
            directories.append(("clock.drift_file", parent(drift)))
            files.append(drift)
        }
        return (directories, files)
    }

    /// Files read again at run time (SIGHUP, certificate renewals): unreadable ones are reported at start.
    static func rereadFiles(_ config: NodeConfig, configPath: String) -> [(what: String, path: String)] {
        var files: [(String, String)] = [("the configuration (SIGHUP reloads)", configPath)]
        if let keys = config.keyFile { files.append(("[keys] file (SIGHUP reloads)", keys)) }
        if let nts = config.nts {
            files.append(("[nts] certificate (renewals)", nts.certificate))
            files.append(("[nts] private_key (renewals)", nts.privateKey))
        }
        if let admin = config.admin { files.append(("[admin] certificate (GET /v1/certificates)", admin.certificate)) }
        return files
    }

    static func parent(_ path: String) -> String {
        let directory = (path as NSString).deletingLastPathComponent
        return directory.isEmpty ? "." : directory
    }

    /// Whether the account may do `bits` (read 4, write 2) on `path` by its mode bits (root's view aside).
    func may(_ bits: mode_t, _ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        if info.st_uid == account.uid { return info.st_mode & (bits << 6) != 0 }
        if info.st_gid == account.gid || account.groups.contains(info.st_gid) { return info.st_mode & (bits << 3) != 0 }
        return info.st_mode & bits != 0
    }

    /// As root, before the drop: the node's directories are created for the user or given to it (never a
    /// shared system directory), the files it rewrites are given to it, and files it reads again later but
    /// the user cannot read are logged.
    func prepare(_ config: NodeConfig, configPath: String, logger: Logger) throws(NodeStartError) {
        let (directories, files) = Self.writablePaths(config)
        var done: Set<String> = []
        for (key, directory) in directories where done.insert(directory).inserted {
            let canonical = URL(fileURLWithPath: directory).resolvingSymlinksInPath().standardizedFileURL.path
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
                do {
                    try FileManager.default.createDirectory(
                        atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
                } catch {
                    throw NodeStartError(message: "\(key): cannot create \(directory): \(error.localizedDescription)")
                }
                try give(directory, key: key)
                logger.info("directory created for the node's user", metadata: ["directory": "\(directory)", "user": "\(account.name)"])
            } else if !may(2, directory) || !may(1, directory) {
                guard !Self.sharedDirectories.contains(canonical) else {
                    throw NodeStartError(message: "\(key): \(directory) is a shared system directory that user \"\(account.name)\" cannot write; give the file a directory of its own (e.g. /var/lib/fleetnode or /run/fleetnode)")
                }
                try give(directory, key: key)
                logger.notice("directory given to the node's user", metadata: ["directory": "\(directory)", "user": "\(account.name)"])
            }
        }
        for file in files where FileManager.default.fileExists(atPath: file) {
            var info = stat()
            if stat(file, &info) == 0, info.st_uid != account.uid || info.st_gid != account.gid {
                try give(file, key: file)
            }
        }
        for (what, path) in Self.rereadFiles(config, configPath: configPath) where !may(4, path) {
            logger.warning("\(what) is not readable by the node's user: reading it again will fail; give the user read access (its group and mode 0640, for example)", metadata: ["file": "\(path)", "user": "\(account.name)"])
        }
        if config.admin != nil, let nts = config.nts {
            for path in Set([Self.parent(nts.certificate), Self.parent(nts.privateKey)]) where !may(2, path) {
                logger.warning("certificate installs through the admin API write next to the [nts] certificate and key, and the node's user cannot write there", metadata: ["directory": "\(path)", "user": "\(account.name)"])
            }
        }
    }

    private func give(_ path: String, key: String) throws(NodeStartError) {
        guard chown(path, account.uid, account.gid) == 0 else {
            throw NodeStartError(message: "\(key): cannot give \(path) to user \"\(account.name)\": \(String(cString: strerror(errno)))")
        }
    }

    /// Becomes the user on every thread, keeping only `keep`, and checks the result (see cfs_drop_privileges).
    func apply() throws(NodeStartError) {
        var message = [CChar](repeating: 0, count: 256)
        let status = account.groups.withUnsafeBufferPointer { groups in
            cfs_drop_privileges(account.uid, account.gid, groups.baseAddress, Int32(groups.count), keep, &message, message.count)
        }
        guard status == 0 else {
            throw NodeStartError(message: "cannot drop root privileges to user \"\(account.name)\": \(String(nulTerminated: message))")
        }
    }
}
