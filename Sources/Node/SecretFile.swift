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
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0
        if mode & 0o077 != 0 {
            throw Error(message: "\(path) is readable by group or others (mode \(String(mode, radix: 8))): it holds secret keys; chmod 600 it")
        }
    }
}
