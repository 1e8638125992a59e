import Foundation
import Node
import XCTest

/// Certificate authorities and certificates made with the openssl CLI at test time (no key is committed):
/// the fleet's admin CA and its client and server certificates, a foreign CA, expired certificates (`openssl
/// ca -startdate/-enddate`, since `x509 -days` cannot go negative), and NTS-KE server certificates.
struct TestPKI {
    struct Issued {
        let certificate: String
        let privateKey: String
    }

    struct Authority {
        let name: String
        let certificate: String
        let privateKey: String
        let directory: URL
    }

    let directory: URL
    let openssl: String

    init(directory: URL) throws {
        self.directory = directory
        openssl = try ExternalTool.require("openssl", package: "openssl")
    }

    private func run(_ arguments: [String]) throws {
        let result = try ExternalTool.run(openssl, arguments)
        guard result.status == 0 else {
            throw NodeStartError(message: "openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(result.stderr)")
        }
    }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func authority(_ name: String) throws -> Authority {
        let home = directory.appendingPathComponent("ca-\(name)")
        try FileManager.default.createDirectory(at: home.appendingPathComponent("new"), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: home.appendingPathComponent("index.txt").path, contents: Data())
        try "1000\n".write(to: home.appendingPathComponent("serial"), atomically: true, encoding: .utf8)
        let certificate = path("\(name)-ca.pem")
        let key = path("\(name)-ca-key.pem")
        try run([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
            "-keyout", key, "-out", certificate, "-subj", "/CN=\(name) test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
        let config = """
            [ca]
            default_ca = test
            [test]
            dir = \(home.path)
            database = \(home.path)/index.txt
            new_certs_dir = \(home.path)/new
            serial = \(home.path)/serial
            default_md = sha256
            policy = any
            unique_subject = no
            copy_extensions = none
            [any]
            commonName = supplied
            """
        try config.write(to: home.appendingPathComponent("ca.conf"), atomically: true, encoding: .utf8)
        return Authority(name: name, certificate: certificate, privateKey: key, directory: home)
    }

    /// A certificate from `ca`. `server`: a TLS server certificate with `sans` ("DNS:localhost,IP:127.0.0.1");
    /// otherwise a client certificate. `expired`: valid for one day in 2020. `key`: reuse a key file. `days`: validity.
    func issue(
        by ca: Authority, name: String, commonName: String? = nil, server: Bool, sans: String = "DNS:localhost,IP:127.0.0.1,IP:::1",
        expired: Bool = false, key: String? = nil, days: Int = 30
    ) throws -> Issued {
        let keyPath = key ?? path("\(name)-key.pem")
        let request = path("\(name).csr")
        let certificate = path("\(name)-cert.pem")
        let extensions = path("\(name).ext")
        try (server
            ? "basicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\nsubjectAltName = \(sans)\n"
            : "basicConstraints = CA:FALSE\nextendedKeyUsage = clientAuth\n").write(toFile: extensions, atomically: true, encoding: .utf8)
        if key == nil {
            try run(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", keyPath])
            try run(["pkcs8", "-topk8", "-nocrypt", "-in", keyPath, "-out", keyPath + ".p8"])
            try FileManager.default.removeItem(atPath: keyPath)
            try FileManager.default.moveItem(atPath: keyPath + ".p8", toPath: keyPath)
        }
        try run(["req", "-new", "-key", keyPath, "-out", request, "-subj", "/CN=\(commonName ?? name)"])
        var arguments = [
            "ca", "-batch", "-notext", "-config", ca.directory.appendingPathComponent("ca.conf").path, "-cert", ca.certificate,
            "-keyfile", ca.privateKey, "-in", request, "-out", certificate, "-extfile", extensions,
        ]
        arguments += expired ? ["-startdate", "20200101000000Z", "-enddate", "20200102000000Z"] : ["-days", "\(days)"]
        try run(arguments)
        return Issued(certificate: certificate, privateKey: keyPath)
    }

    /// SHA-256 fingerprint of a PEM certificate, lower-case hex.
    func fingerprint(_ certificate: String) throws -> String {
        let result = try ExternalTool.run(openssl, ["x509", "-in", certificate, "-noout", "-fingerprint", "-sha256"])
        let value = result.stdout.split(separator: "=").last.map(String.init) ?? ""
        return value.replacingOccurrences(of: ":", with: "").trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }
}

extension NodeProcess {
    /// "address:port" of the node's admin API (from status), once it listens.
    func adminListener() async throws -> String {
        try await waitFor(self) { $0.adminListener != nil }
        return try await status().adminListener ?? ""
    }
}
