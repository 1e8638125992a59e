import ConfigFile
import Certificates
import Foundation
import NTPCore
import SwiftASN1
import X509

/// What `check-config` checks beyond the file's syntax, so that a configuration it passes also starts: the
/// files `run` would load (NTS and admin certificates and keys, the admin CA, symmetric and cookie key files)
/// are read, parsed and cross-checked, secrets must not be readable by group or others, and upstream servers
/// must resolve and name keys the key file holds. Every problem names the file and says what to do, in
/// words rather than library error types. `run` uses the same checks for its certificates and keys, so
/// both say the same thing about the same file.
public enum ConfigPreflight {
    /// One problem: "key: file: what is wrong; what to do".
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public var key: String
        public var message: String
        public var description: String { "\(key): \(message)" }
    }

    /// Every problem of `config` (loaded from a file already), none when it would start.
    public static func problems(_ config: NodeConfig, now: Date = Date()) -> [Problem] {
        var problems: [Problem] = []
        if let user = config.user {
            do throws(NodeStartError) {
                _ = try PrivilegeDrop.account(named: user)
            } catch {
                problems.append(Problem(key: "node.user", message: error.message.replacingOccurrences(of: "[node] user ", with: "")))
            }
        }
        if let nts = config.nts {
            problems += certificateAndKey(certificate: nts.certificate, privateKey: nts.privateKey, table: "nts", now: now)
            if FileManager.default.fileExists(atPath: nts.keyFile) {
                do {
                    let text = try secret(nts.keyFile)
                    _ = try CookieKeySet(parsing: text, history: nts.keyHistory)
                } catch let error as Problem {
                    problems.append(Problem(key: "nts.key_file", message: error.message))
                } catch let error as CookieKeySetError {
                    problems.append(Problem(key: "nts.key_file", message: "\(nts.keyFile)\(error.line.map { ":\($0)" } ?? ""): \(error.message); fix the line or move the file away to have a new key set made"))
                } catch {
                    problems.append(Problem(key: "nts.key_file", message: "\(nts.keyFile): \(error)"))
                }
            }
        }
        if let admin = config.admin {
            problems += certificateAndKey(certificate: admin.certificate, privateKey: admin.privateKey, table: "admin", now: now)
            do {
                _ = try certificates(admin.clientCA, what: "the admin CA certificate")
            } catch {
                problems.append(Problem(key: "admin.client_ca", message: error.message))
            }
        }
        var keys: SymmetricKeyRing?
        if let keyFile = config.keyFile {
            do {
                keys = try SymmetricKeyRing(path: keyFile)
            } catch {
                problems.append(Problem(key: "keys.file", message: "\(error.description); the file must exist, be mode 0600 and hold chrony-style key lines"))
            }
        }
        for (index, server) in config.servers.enumerated() {
            let key = "server[\(index + 1)]"
            if let reason = unresolvable(server.host) {
                problems.append(Problem(key: "\(key).address", message: "\(server.host) does not resolve (\(reason)); check the name or use a numeric address"))
            }
            if let id = server.key {
                if config.keyFile == nil {
                    problems.append(Problem(key: "\(key).key", message: "key \(id) but no [keys] file; add one that holds key \(id)"))
                } else if let keys, keys.key(id) == nil {
                    problems.append(Problem(key: "\(key).key", message: "key \(id) is not in \(keys.path); add it there or change the id"))
                }
            }
            if let ca = server.ca {
                do {
                    _ = try certificates(ca, what: "a CA certificate")
                } catch {
                    problems.append(Problem(key: "\(key).ca", message: error.message))
                }
            }
        }
        return problems
    }

    /// A certificate chain and its private key as `run` loads them: both files readable, the chain PEM
    /// certificates whose links hold, the leaf valid now, the key a private key (mode 0600 or stricter) that
    /// belongs to the leaf. `table`: "nts" or "admin", for the keys named in problems.
    public static func certificateAndKey(certificate: String, privateKey: String, table: String, now: Date = Date()) -> [Problem] {
        var problems: [Problem] = []
        var leaf: Certificate?
        do {
            let chain = try certificates(certificate, what: "a certificate chain (leaf first)")
            leaf = chain[0]
            if !(chain[0].notValidBefore <= now && now < chain[0].notValidAfter) {
                problems.append(Problem(key: "\(table).certificate", message: "\(certificate): the certificate is not valid now (valid from \(chain[0].notValidBefore) to \(chain[0].notValidAfter)); install a current one"))
            }
            for index in chain.indices.dropLast() where chain[index].issuer != chain[index + 1].subject {
                problems.append(Problem(key: "\(table).certificate", message: "\(certificate): certificate \(index + 1) of the chain was not issued by certificate \(index + 2); put the chain in order, leaf first"))
                break
            }
        } catch {
            problems.append(Problem(key: "\(table).certificate", message: error.message))
        }
        do {
            // Parsed before its mode is judged: a certificate named as the key is told so, not to chmod it.
            let text = try readable(privateKey)
            let key: Certificate.PrivateKey
            do {
                key = try Certificate.PrivateKey(pemEncoded: text)
            } catch {
                throw Problem(key: "", message: "\(privateKey): not a PEM private key (RSA, P-256, P-384, P-521 or Ed25519); check that private_key names the key, not the certificate")
            }
            _ = try secret(privateKey)
            if let leaf, key.publicKey != leaf.publicKey {
                problems.append(Problem(key: "\(table).private_key", message: "\(privateKey): this key does not belong to the certificate \(certificate); install the matching pair"))
            }
        } catch let error as Problem {
            problems.append(Problem(key: "\(table).private_key", message: error.message))
        } catch {
            problems.append(Problem(key: "\(table).private_key", message: "\(privateKey): \(error)"))
        }
        return problems
    }

    /// The PEM certificates of `path` (at least one), or a problem in words.
    static func certificates(_ path: String, what: String) throws(Problem) -> [Certificate] {
        let text = try readable(path)
        let documents = (try? PEMDocument.parseMultiple(pemString: text)) ?? []
        let blocks = documents.filter { $0.discriminator == "CERTIFICATE" }
        guard !blocks.isEmpty else {
            let hint = documents.contains { $0.discriminator.contains("PRIVATE KEY") } ? "it holds a private key: point this at the certificate" : "expected PEM CERTIFICATE blocks"
            throw Problem(key: "", message: "\(path): not \(what) (\(hint))")
        }
        var chain: [Certificate] = []
        for (index, block) in blocks.enumerated() {
            guard let certificate = try? Certificate(derEncoded: block.derBytes) else {
                throw Problem(key: "", message: "\(path): certificate \(index + 1) does not parse as X.509; replace the file")
            }
            chain.append(certificate)
        }
        return chain
    }

    /// The text of a secret file: readable, and readable by nobody but its owner.
    static func secret(_ path: String) throws(Problem) -> String {
        let text = try readable(path)
        do {
            try SecretFile.checkPermissions(path)
        } catch {
            throw Problem(key: "", message: "\(error)")
        }
        return text
    }

    static func readable(_ path: String) throws(Problem) -> String {
        guard !path.isEmpty else { throw Problem(key: "", message: "no file given; set the path") }
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot read it (permissions?)" : "no such file"
            throw Problem(key: "", message: "\(path): \(reason); check the path and that the node's user can read it")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Why `host` does not resolve, or nil when it does.
    static func unresolvable(_ host: String) -> String? {
        if IPAddress(host) != nil { return nil }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &result)
        if let result { freeaddrinfo(result) }
        return status == 0 ? nil : String(cString: gai_strerror(status))
    }
}
