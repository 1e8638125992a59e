import Certificates
import ConfigFile
import Fleet
import Foundation
import NTSKE
import X509

/// Finds, reads and checks `fleet.toml`: `--inventory`, then `FLEETCTL_INVENTORY`, then
/// `/etc/fleetctl/fleet.toml`. Beyond what `InventoryReader` checks in the text, this looks at the files it
/// names: readable, PEM, the operator's key belonging to its certificate, private keys not readable by
/// group or others.
public enum InventoryFile {
    public static let variable = "FLEETCTL_INVENTORY"
    public static let defaultPath = "/etc/fleetctl/fleet.toml"

    public static func locate(option: String?, environment: [String: String]) -> String {
        option ?? environment[variable].flatMap { $0.isEmpty ? nil : $0 } ?? defaultPath
    }

    /// The inventory, or every problem with it (text and, unless `syntaxOnly`, the files it names), each one line.
    public static func load(path: String, syntaxOnly: Bool = false) -> Result<Inventory, InventoryProblems> {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot read the file (permissions?)" : "no such file (give --inventory FILE or set \(variable))"
            return .failure(InventoryProblems([ConfigError(file: path, line: nil, key: nil, message: reason)]))
        }
        switch InventoryReader.read(text: text, file: path) {
        case .failure(let problems):
            return .failure(problems)
        case .success(let inventory):
            guard !syntaxOnly else { return .success(inventory) }
            let problems = checkFiles(inventory, file: path, locator: ConfigLineLocator(text: text))
            return problems.isEmpty ? .success(inventory) : .failure(InventoryProblems(problems))
        }
    }

    static func checkFiles(_ inventory: Inventory, file: String, locator: ConfigLineLocator) -> [ConfigError] {
        var problems: [ConfigError] = []
        func problem(_ key: String, _ message: String) {
            problems.append(ConfigError(file: file, line: locator.line(of: "credentials.\(key)"), key: "credentials.\(key)", message: message))
        }
        let credentials = inventory.credentials
        var leaf: Certificate?
        for (key, path) in [("certificate", credentials.certificate), ("admin_ca", credentials.adminCA), ("nts_trust_anchors", credentials.ntsTrustAnchors)] {
            guard let path else { continue }
            guard let text = readable(path, problem: { problem(key, $0) }) else { continue }
            do {
                let chain = try CertificateInspector.chain(pem: text)
                if key == "certificate" { leaf = chain.first }
            } catch {
                problem(key, "\(path): \(error.description)")
            }
        }
        if let path = credentials.privateKey, let pem = readable(path, problem: { problem("private_key", $0) }) {
            let mode = ((try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? NSNumber)?.intValue ?? 0
            do {
                let key = try CertificateInspector.privateKey(pem: pem)
                if mode & 0o077 != 0 {
                    problem("private_key", "\(path) is readable by group or others (mode \(String(mode, radix: 8))): chmod 600 it")
                } else if let leaf, leaf.publicKey != key.publicKey {
                    problem("private_key", "\(path) does not belong to the certificate \(credentials.certificate ?? "")")
                }
            } catch {
                problem("private_key", "\(path): \(error.description)")
            }
        }
        return problems
    }

    /// The file's text, or nil after reporting why it cannot be read.
    private static func readable(_ path: String, problem: (String) -> Void) -> String? {
        if let text = try? String(contentsOfFile: path, encoding: .utf8) { return text }
        problem("\(path): cannot read the file (\(FileManager.default.fileExists(atPath: path) ? "permissions?" : "no such file"))")
        return nil
    }

    /// What the sweep uses to connect: admin credentials when the inventory has them, NTS trust anchors.
    public static func access(for inventory: Inventory) throws -> SweepAccess {
        let credentials = inventory.credentials
        var admin: AdminCredentials?
        if let certificate = credentials.certificate, let key = credentials.privateKey, let ca = credentials.adminCA {
            admin = AdminCredentials(certificate: certificate, privateKey: key, ca: ca)
        }
        let trust = try TLSContext.client(trustedCertificates: credentials.ntsTrustAnchors, alpn: NTSKEServer.alpn)
        return SweepAccess(admin: admin, nts: trust)
    }
}
