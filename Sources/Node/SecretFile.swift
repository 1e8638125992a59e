import Foundation

/// Files that hold key material (NTS cookie master keys, symmetric NTP keys): refused when group or others
/// may read them, the way ssh refuses a private key with loose permissions, so a misconfigured deployment
/// fails loudly instead of leaking keys quietly.
enum SecretFile {
    struct Error: Swift.Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    static func checkPermissions(_ path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let reason = errno == ENOENT ? "no such file" : String(cString: strerror(errno))
            throw Error(message: "\(path): \(reason); check the path and that the node's user can read it")
        }
        let mode = Int(info.st_mode) & 0o7777
        if mode & 0o077 != 0 {
            throw Error(message: "\(path) is readable by group or others (mode \(String(mode, radix: 8))): it holds secret keys; chmod 600 it")
        }
    }
}
