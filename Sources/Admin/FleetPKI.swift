import Certificates
import Fleet
import Foundation
import Glibc

/// The admin host's certificate folder (default `pki/` beside the inventory): the fleet's admin CA and the
/// operator's client certificate, an optional site CA for NTS-KE, and per node its admin API and NTS-KE
/// certificates. Private keys are created 0600 and never overwritten without `force`; the folder is 0700.
public struct FleetPKI: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// `option`, else `pki` beside the inventory file.
    public static func locate(option: String?, inventoryPath: String) -> FleetPKI {
        FleetPKI(directory: option ?? ((inventoryPath as NSString).deletingLastPathComponent.isEmpty ? "pki" : (inventoryPath as NSString).deletingLastPathComponent + "/pki"))
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    func path(_ name: String) -> String { "\(directory)/\(name)" }
    public var adminCA: String { path("admin-ca.pem") }
    public var adminCAKey: String { path("admin-ca-key.pem") }
    public var operatorCertificate: String { path("operator.pem") }
    public var operatorKey: String { path("operator-key.pem") }
    public var siteCA: String { path("site-ca.pem") }
    public var siteCAKey: String { path("site-ca-key.pem") }
    public func nodeDirectory(_ node: String) -> String { path("nodes/\(node)") }
    public func adminCertificate(_ node: String) -> String { "\(nodeDirectory(node))/admin.pem" }
    public func adminKey(_ node: String) -> String { "\(nodeDirectory(node))/admin-key.pem" }
    public func ntsCertificate(_ node: String) -> String { "\(nodeDirectory(node))/nts.pem" }
    public func ntsKey(_ node: String) -> String { "\(nodeDirectory(node))/nts-key.pem" }

    /// Writes `text`; `secret` files 0600, others 0644. An existing file is kept unless `force`.
    public func write(_ text: String, to path: String, secret: Bool, force: Bool) throws(Failure) {
        let folder = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw Failure("cannot create the folder \(folder)")
        }
        let flags = O_WRONLY | O_CREAT | (force ? O_TRUNC : O_EXCL)
        let descriptor = open(path, flags, secret ? 0o600 : 0o644)
        guard descriptor >= 0 else {
            if errno == EEXIST { throw Failure("\(path) exists: not overwritten (give --force to replace it)") }
            throw Failure("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        _ = fchmod(descriptor, secret ? 0o600 : 0o644)
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(descriptor) == 0 else { throw Failure("cannot write \(path): \(String(cString: strerror(errno)))") }
    }

    public func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    public func authority(certificate: String, key: String, what: String) throws(Failure) -> CertificateIssuer.Authority {
        guard let pem = try? String(contentsOfFile: certificate, encoding: .utf8), let keyPEM = try? String(contentsOfFile: key, encoding: .utf8) else {
            throw Failure("no \(what) in \(directory) (\(certificate) and its key): run fleetctl certs init-ca first")
        }
        do {
            return try CertificateIssuer.Authority(certificatePEM: pem, privateKeyPEM: keyPEM)
        } catch {
            throw Failure("\(certificate): \(error.description)")
        }
    }

    /// An issued pair written as `certificate` and `key`; the written paths.
    @discardableResult
    public func store(_ issued: CertificateIssuer.Issued, certificate: String, key: String, force: Bool) throws(Failure) -> [String] {
        if !force {
            for path in [certificate, key] where exists(path) { throw Failure("\(path) exists: not overwritten (give --force to replace it)") }
        }
        try write(issued.privateKey, to: key, secret: true, force: force)
        try write(issued.certificate, to: certificate, secret: false, force: force)
        return [certificate, key]
    }

    /// The names a node's NTS-KE certificate must carry, and those of its admin API certificate.
    public static func ntsNames(_ node: Inventory.Node) -> [String] {
        var names: [String] = []
        if let name = node.ntsName { names.append(name) }
        if let host = node.ntsKE?.host, !names.contains(host) { names.append(host) }
        return names
    }

    public static func adminNames(_ node: Inventory.Node) -> [String] {
        var names = [node.admin.host]
        if let name = node.adminServerName, !names.contains(name) { names.insert(name, at: 0) }
        return names
    }

    /// A fresh NTS-KE pair for a rotation, from the site CA, beside the node's others (`nts-<time>.pem`).
    public func issueForRotation(_ node: Inventory.Node, days: Int, now: Date = Date()) throws -> (chain: String, key: String) {
        let site = try authority(certificate: siteCA, key: siteCAKey, what: "site CA")
        let issued = try CertificateIssuer.issue(commonName: node.ntsName ?? node.name, use: .server(names: Self.ntsNames(node)), days: days, issuer: site, now: now)
        let stamp = ISODate.text(now.timeIntervalSince1970).replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "-", with: "")
        var chain = "\(nodeDirectory(node.name))/nts-\(stamp).pem"
        var key = "\(nodeDirectory(node.name))/nts-\(stamp)-key.pem"
        var suffix = 1
        while exists(chain) || exists(key) {
            chain = "\(nodeDirectory(node.name))/nts-\(stamp)-\(suffix).pem"
            key = "\(nodeDirectory(node.name))/nts-\(stamp)-\(suffix)-key.pem"
            suffix += 1
        }
        try store(issued, certificate: chain, key: key, force: false)
        return (chain, key)
    }

    /// Every NTS-KE pair held for `node` whose leaf has fingerprint `sha256` (the one in service), if any.
    public func heldPair(_ node: String, sha256: String?) -> (chain: String, key: String)? {
        guard let sha256, let files = try? FileManager.default.contentsOfDirectory(atPath: nodeDirectory(node)) else { return nil }
        for file in files.sorted() where file.hasPrefix("nts") && file.hasSuffix(".pem") && !file.hasSuffix("-key.pem") {
            let chain = "\(nodeDirectory(node))/\(file)"
            let key = "\(nodeDirectory(node))/\(file.dropLast(4))-key.pem"
            guard exists(key), let leaf = try? CertificateInspector.chain(file: chain).first else { continue }
            if CertificateInspector.fingerprint(of: leaf) == sha256 { return (chain, key) }
        }
        return nil
    }
}
