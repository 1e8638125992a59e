import Admin
import Foundation

/// What a test needs to run a node's admin API and talk to it: the admin CA, a server certificate for the
/// node, an operator's client credentials, and the `[admin]` table (listening on a kernel-chosen port).
struct AdminAccess {
    let authority: TestPKI.Authority
    let credentials: AdminCredentials
    let table: String

    init(pki: TestPKI) throws {
        authority = try pki.authority("admin")
        let server = try pki.issue(by: authority, name: "node-admin", server: true)
        let client = try pki.issue(by: authority, name: "operator", server: false)
        credentials = AdminCredentials(certificate: client.certificate, privateKey: client.privateKey, ca: authority.certificate)
        table = """
            [admin]
            listen = "127.0.0.1:0"
            certificate = "\(server.certificate)"
            private_key = "\(server.privateKey)"
            client_ca = "\(authority.certificate)"
            """
    }
}
