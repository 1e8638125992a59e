import Foundation
import Node
import XCTest

/// A self-signed P-256 certificate for localhost, 127.0.0.1 and ::1, made with openssl at test time (no
/// private key is ever committed).
struct TestCertificate {
    let certificate: String
    let privateKey: String

    /// `days`: its validity from now.
    static func make(in directory: URL, name: String = "server", commonName: String = "localhost", days: Int = 30) throws -> TestCertificate {
        let openssl = try ExternalTool.require("openssl", package: "openssl")
        let certificate = directory.appendingPathComponent("\(name)-cert.pem").path
        let privateKey = directory.appendingPathComponent("\(name)-key.pem").path
        let result = try ExternalTool.run(openssl, [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "\(days)",
            "-keyout", privateKey, "-out", certificate, "-subj", "/CN=\(commonName)",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
        ])
        guard result.status == 0 else { throw NodeStartError(message: "openssl req failed: \(result.stderr)") }
        return TestCertificate(certificate: certificate, privateKey: privateKey)
    }

    /// The certificate's SHA-256 fingerprint in lower-case hex (as status reports it).
    func fingerprint() throws -> String {
        let openssl = try ExternalTool.require("openssl", package: "openssl")
        let result = try ExternalTool.run(openssl, ["x509", "-in", certificate, "-noout", "-fingerprint", "-sha256"])
        // "sha256 Fingerprint=AB:CD:..."
        let value = result.stdout.split(separator: "=").last.map(String.init) ?? ""
        return value.replacingOccurrences(of: ":", with: "").trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    /// The [nts] table for a node on loopback ports chosen by the kernel.
    func ntsTable(keyFile: String, extra: String = "") -> String {
        """
        [nts]
        listen = ["127.0.0.1:0"]
        certificate = "\(certificate)"
        private_key = "\(privateKey)"
        key_file = "\(keyFile)"
        \(extra)
        """
    }
}

extension NodeProcess {
    /// The node's NTS-KE port (from status).
    func ntsKEPort() async throws -> UInt16 {
        let status = try await status()
        guard let listener = status.nts?.listeners.first, let port = listener.split(separator: ":").last.flatMap({ UInt16($0) }) else {
            throw NodeStartError(message: "no NTS-KE listener in status")
        }
        return port
    }
}

/// chronyd run by a test: never touching the clock (-x, no CAP_SYS_TIME), stopped by PID.
final class ChronyProcess {
    let process = Process()
    let directory: URL

    init(directory: URL, config: String) throws {
        self.directory = directory
        let chronyd = try ExternalTool.require("chronyd", package: "chrony")
        let setpriv = try ExternalTool.require("setpriv", package: "util-linux")
        let conf = directory.appendingPathComponent("chrony.conf")
        try (config + "\npidfile \(directory.path)/chronyd.pid\n").write(to: conf, atomically: true, encoding: .utf8)
        let log = directory.appendingPathComponent("chronyd.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: setpriv)
        process.arguments = ["--bounding-set=-sys_time", chronyd, "-x", "-d", "-u", "root", "-f", conf.path]
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var log: String { (try? String(contentsOf: directory.appendingPathComponent("chronyd.log"), encoding: .utf8)) ?? "" }

    /// chronyd as an upstream server on 127.0.0.1:`port` serving this machine's clock at `stratum`; with a
    /// certificate, also NTS-KE on `kePort`; with a key file, symmetric keys (`keyfile`).
    static func server(
        in directory: URL, port: UInt16, stratum: Int = 2, nts: (certificate: TestCertificate, kePort: UInt16)? = nil,
        keyFile: String? = nil
    ) throws -> ChronyProcess {
        var config = """
            port \(port)
            bindaddress 127.0.0.1
            allow 127.0.0.0/8
            local stratum \(stratum)
            cmdport 0
            """
        if let keyFile { config += "\nkeyfile \(keyFile)" }
        if let nts {
            config += """

                ntsport \(nts.kePort)
                ntsserverkey \(nts.certificate.privateKey)
                ntsservercert \(nts.certificate.certificate)
                ntsdumpdir \(directory.path)
                """
        }
        return try ChronyProcess(directory: directory, config: config)
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// Picks a free loopback port for a peer that cannot be told to use port 0 (chronyd).
func freeLoopbackPort() -> UInt16 {
    var port: UInt16 = 0
    for candidate in UInt16.random(in: 30_000...45_000)...UInt16(50_000) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = candidate.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if bound == 0 {
            let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            defer { close(udp) }
            let udpBound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(udp, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if udpBound == 0 {
                port = candidate
                break
            }
        }
    }
    return port
}
