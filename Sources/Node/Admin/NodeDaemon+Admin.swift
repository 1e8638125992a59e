import Fleet
import Foundation
import Synchronization

/// The node's admin API routes: reads from the node's status and stores, writes that validate, persist,
/// then apply, and answer only after that. Writes run one at a time.
extension NodeDaemon {
    func adminRoutes() -> AdminRoutes {
        var routes = AdminRoutes()
        let writes = SerialWrites()
        routes.add("GET", AdminPath.tracking) { [self] _ in .ok(AdminTracking(status: status())) }
        routes.add("GET", AdminPath.sources) { [self] _ in .ok(AdminSources(status: status())) }
        routes.add("GET", AdminPath.sourceStats) { [self] _ in .ok(AdminSources(status: status())) }
        routes.add("GET", AdminPath.serverStats) { [self] _ in .ok(AdminServerStats(status: status(), adminRefusedHandshakes: adminServer?.handshakeFailures)) }
        routes.add("GET", AdminPath.clients) { [self] _ in .ok(AdminClients(status: status())) }
        routes.add("GET", AdminPath.gps) { [self] _ in .ok(AdminGPS(status: status())) }
        routes.add("GET", AdminPath.health) { [self] _ in .ok(AdminHealth(status: status(), now: Self.unixNow)) }
        routes.add("GET", AdminPath.keys) { [self] (_: AdminRequest) async -> AdminResponse in
            .ok(AdminKeys(
                symmetric: keys?.summary ?? [], cookie: nts?.cookieKeys(now: Self.unixNow) ?? [],
                cookieRotateIntervalSeconds: nts?.configuration.rotateInterval))
        }
        routes.add("GET", AdminPath.certificates) { [self] (_: AdminRequest) async -> AdminResponse in
            .ok(AdminCertificates(nts: nts?.certificateDetails(), ntsSwaps: nts?.certificateSwaps, admin: adminCertificate()))
        }

        routes.add("PUT", AdminPath.ntsCertificate) { [self] (request: AdminRequest) async -> AdminResponse in
            await AdminResponse.parse(CertificateInstallRequest.self, request) { (body) async -> AdminResponse in
                guard let nts else { return Self.noNTS }
                return writes.run { Self.installResponse { () throws(CertificateInstallError) in try nts.installCertificate(body, now: Date()) } }
            }
        }
        routes.add("POST", AdminPath.cookieKeyStage) { [self] (request: AdminRequest) async -> AdminResponse in
            await AdminResponse.parse(CookieKeyStageRequest.self, request) { (body) async -> AdminResponse in
                guard let nts else { return Self.noNTS }
                return writes.run { Self.cookieResponse { () throws(CookieKeyChangeError) in try nts.stageCookieKey(body, now: Self.unixNow) } }
            }
        }
        routes.add("POST", AdminPath.cookieKeyActivate) { [self] (request: AdminRequest) async -> AdminResponse in
            await AdminResponse.parse(CookieKeyRequest.self, request) { (body) async -> AdminResponse in
                guard let nts else { return Self.noNTS }
                return writes.run { Self.cookieResponse { () throws(CookieKeyChangeError) in try nts.activateCookieKey(id: body.id, now: Self.unixNow) } }
            }
        }
        routes.add("POST", AdminPath.cookieKeyRetire) { [self] (request: AdminRequest) async -> AdminResponse in
            await AdminResponse.parse(CookieKeyRequest.self, request) { (body) async -> AdminResponse in
                guard let nts else { return Self.noNTS }
                return writes.run { Self.cookieResponse { () throws(CookieKeyChangeError) in try nts.retireCookieKey(id: body.id, now: Self.unixNow) } }
            }
        }
        routes.add("POST", AdminPath.configReload) { [self] (_: AdminRequest) async -> AdminResponse in
            writes.run {
                do {
                    return .ok(ConfigReloadResult(reloads: try reload()))
                } catch {
                    return .error(422, "invalid_configuration", "\(error)")
                }
            }
        }
        // Symmetric (NTP MAC) key writes come from another branch: add their routes under
        // AdminPath.symmetricKeysPrefix here, e.g. routes.add("PUT", prefix: AdminPath.symmetricKeysPrefix) { ... }.
        return routes
    }

    func adminCertificate() -> CertificateDetails? { adminServer?.certificateDetails }

    static var unixNow: Int64 { Int64(Date().timeIntervalSince1970) }

    static let noNTS = AdminResponse.error(409, "conflict", "this node has no [nts] table")

    static func installResponse(_ body: () throws(CertificateInstallError) -> CertificateInstallResult) -> AdminResponse {
        do {
            return .ok(try body())
        } catch {
            return error.storage ? .error(500, "storage", error.description) : .error(422, "invalid_certificate", error.description)
        }
    }

    static func cookieResponse(_ body: () throws(CookieKeyChangeError) -> CookieKeyResult) -> AdminResponse {
        do {
            return .ok(try body())
        } catch {
            switch error.kind {
            case .invalid: return .error(400, "bad_request", error.message)
            case .conflict: return .error(409, "conflict", error.message)
            case .notFound: return .error(404, "not_found", error.message)
            case .storage: return .error(500, "storage", error.message)
            }
        }
    }
}

/// Runs the admin API's writes one at a time (they read, check and replace files).
final class SerialWrites: Sendable {
    private let lock = Mutex(())
    func run<T: Sendable>(_ body: () -> T) -> T { lock.withLock { _ in body() } }
}
