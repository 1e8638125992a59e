import NodeModels
import Foundation
import NTPCore
import NIOConcurrencyHelpers

/// The node's admin API routes: reads from the node's status and stores, writes that validate, persist,
/// then apply, and answer only after that. Writes run one at a time.
extension NodeDaemon {
    func adminRoutes() -> AdminRoutes {
        var routes = AdminRoutes()
        let writes = SerialWrites()
        routes.add(.GET, AdminPath.tracking) { [self] _ in .ok(AdminTracking(status: status())) }
        routes.add(.GET, AdminPath.sources) { [self] _ in .ok(AdminSources(status: status())) }
        routes.add(.GET, AdminPath.sourceStats) { [self] _ in .ok(AdminSources(status: status())) }
        routes.add(.GET, AdminPath.serverStats) { [self] _ in .ok(AdminServerStats(status: status(), adminRefusedHandshakes: adminServer?.handshakeFailures)) }
        routes.add(.GET, AdminPath.clients) { [self] _ in .ok(AdminClients(status: status())) }
        routes.add(.GET, AdminPath.gps) { [self] _ in .ok(AdminGPS(status: status())) }
        routes.add(.GET, AdminPath.health) { [self] _ in .ok(AdminHealth(status: status(), now: Self.unixNow)) }
        routes.add(.GET, AdminPath.keys) { [self] (_: AdminRequest) async -> AdminResponse in .ok(adminKeys()) }
        routes.add(.GET, AdminPath.history) { [self] (request: AdminRequest) async -> AdminResponse in
            history(request)
        }
        routes.add(.GET, AdminPath.certificates) { [self] (_: AdminRequest) async -> AdminResponse in .ok(adminCertificates()) }
        routes.add(.GET, AdminPath.overview) { [self] (_: AdminRequest) async -> AdminResponse in
            let status = status()
            return .ok(AdminOverview(
                health: AdminHealth(status: status, now: Self.unixNow), tracking: AdminTracking(status: status), sources: AdminSources(status: status),
                keys: adminKeys(), certificates: adminCertificates()))
        }

        routes.add(.PUT, AdminPath.ntsCertificate) { [self] (request: AdminRequest) async -> AdminResponse in
            await AdminResponse.parse(CertificateInstallRequest.self, request) { (body) async -> AdminResponse in
                guard let nts else { return Self.noNTS }
                return writes.run { Self.installResponse { () throws(CertificateInstallError) in try nts.installCertificate(body, now: Date()) } }
            }
        }
        routes.add(.POST, AdminPath.cookieKeyStage) { [self] (request: AdminRequest) async -> AdminResponse in
            await AdminResponse.parse(CookieKeyStageRequest.self, request) { (body) async -> AdminResponse in
                guard let nts else { return Self.noNTS }
                return writes.run { Self.cookieResponse { () throws(CookieKeyChangeError) in try nts.stageCookieKey(body, now: Self.unixNow) } }
            }
        }
        routes.add(.POST, AdminPath.cookieKeyActivate) { [self] (request: AdminRequest) async -> AdminResponse in
            await AdminResponse.parse(CookieKeyRequest.self, request) { (body) async -> AdminResponse in
                guard let nts else { return Self.noNTS }
                return writes.run { Self.cookieResponse { () throws(CookieKeyChangeError) in try nts.activateCookieKey(id: body.id, now: Self.unixNow) } }
            }
        }
        routes.add(.POST, AdminPath.cookieKeyRetire) { [self] (request: AdminRequest) async -> AdminResponse in
            await AdminResponse.parse(CookieKeyRequest.self, request) { (body) async -> AdminResponse in
                guard let nts else { return Self.noNTS }
                return writes.run { Self.cookieResponse { () throws(CookieKeyChangeError) in try nts.retireCookieKey(id: body.id, now: Self.unixNow) } }
            }
        }
        routes.add(.POST, AdminPath.configReload) { [self] (_: AdminRequest) async -> AdminResponse in
            writes.run {
                do {
                    return .ok(ConfigReloadResult(reloads: try reload()))
                } catch {
                    return .error(.unprocessableEntity, "invalid_configuration", "\(error)")
                }
            }
        }
        let symmetricOperations: [(String, @Sendable (UInt32) -> SiblingKeyOperation)] = [
            (AdminPath.symmetricKeyStage, { .stage($0) }), (AdminPath.symmetricKeyActivate, { .activate($0) }),
            (AdminPath.symmetricKeyRetire, { .retire($0) }),
        ]
        for (path, operation) in symmetricOperations {
            routes.add(.POST, path) { [self] (request: AdminRequest) async -> AdminResponse in
                await AdminResponse.parse(SymmetricKeyChangeRequest.self, request) { (body) async -> AdminResponse in
                    writes.run { symmetricKeyResponse(operation(body.id), body) }
                }
            }
        }
        return routes
    }

    /// A sibling key operation from the API: the key given with it (type + hex) checked first, then
    /// `changeSiblingKeys` (validate, persist, apply).
    func symmetricKeyResponse(_ operation: SiblingKeyOperation, _ body: SymmetricKeyChangeRequest) -> AdminResponse {
        var newKey: SymmetricKey?
        switch (body.type, body.hex) {
        case (nil, nil):
            break
        case (let type?, let hex?):
            guard let parsedType = SymmetricKeyType(rawValue: type) else {
                return .error(.badRequest, "bad_request", "type \"\(type)\" is not one of \(SymmetricKeyType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let secret = HexText.decode(hex), !secret.isEmpty else {
                return .error(.badRequest, "bad_request", "hex: not an even number of hexadecimal digits")
            }
            do {
                newKey = try SymmetricKey(id: body.id, type: parsedType, secret: secret)
            } catch {
                return .error(.badRequest, "bad_request", "\(error.message)")
            }
        default:
            return .error(.badRequest, "bad_request", "type and hex come together (or neither, for a key of the key file)")
        }
        do {
            let changed = try changeSiblingKeys(operation, siblings: body.siblings, newKey: newKey)
            let all = status().siblings
            let named = body.siblings.map { names in all.filter { names.contains($0.name) } } ?? all
            return .ok(SymmetricKeyChangeResult(changed: changed, siblings: named))
        } catch {
            switch error {
            case .unknownSibling, .keyNotInKeyFile: return .error(.notFound, "not_found", error.description)
            case .noSiblings, .retiringSendKey, .keyConflict: return .error(.conflict, "conflict", error.description)
            case .invalidKey: return .error(.badRequest, "bad_request", error.description)
            case .notPersisted: return .error(.internalServerError, "storage", error.description)
            }
        }
    }

    /// The siblings' key sets for `GET /v1/keys`, with their stored history when the database has it.
    func siblingKeys() -> [AdminSiblingKeys]? {
        guard siblings != nil else { return nil }
        return status().siblings.map { sibling in
            let records = (try? siblingKeyStore?.store.keys(kind: .symmetric, scope: sibling.name)) ?? []
            return AdminSiblingKeys(
                name: sibling.name, sendKey: sibling.sendKey, acceptedKeys: sibling.acceptedKeys,
                stored: records.map {
                    .init(id: UInt32(clamping: $0.id), type: $0.type, state: $0.state.rawValue, createdAt: Int64($0.createdAt), changedAt: Int64($0.changedAt))
                })
        }
    }

    func adminCertificate() -> CertificateDetails? { adminServer?.certificateDetails }

    static var unixNow: Int64 { Int64(Date().timeIntervalSince1970) }

    static let noNTS = AdminResponse.error(.conflict, "conflict", "this node has no [nts] table")

    static func installResponse(_ body: () throws(CertificateInstallError) -> CertificateInstallResult) -> AdminResponse {
        do {
            return .ok(try body())
        } catch {
            return error.storage ? .error(.internalServerError, "storage", error.description) : .error(.unprocessableEntity, "invalid_certificate", error.description)
        }
    }

    static func cookieResponse(_ body: () throws(CookieKeyChangeError) -> CookieKeyResult) -> AdminResponse {
        do {
            return .ok(try body())
        } catch {
            switch error.kind {
            case .invalid: return .error(.badRequest, "bad_request", error.message)
            case .conflict: return .error(.conflict, "conflict", error.message)
            case .notFound: return .error(.notFound, "not_found", error.message)
            case .storage: return .error(.internalServerError, "storage", error.message)
            }
        }
    }
}

/// Runs the admin API's writes one at a time (they read, check and replace files).
final class SerialWrites: Sendable {
    private let lock = NIOLockedValueBox(())
    func run<T: Sendable>(_ body: () -> T) -> T { lock.withLockedValue { _ in body() } }
}

extension NodeDaemon {
    func adminKeys() -> AdminKeys {
        AdminKeys(
            symmetric: keys?.summary ?? [], cookie: nts?.cookieKeys(now: Self.unixNow) ?? [],
            cookieRotateIntervalSeconds: nts?.configuration.rotateInterval, siblings: siblingKeys())
    }

    func adminCertificates() -> AdminCertificates {
        AdminCertificates(nts: nts?.certificateDetails(), ntsSwaps: nts?.certificateSwaps, admin: adminCertificate())
    }

    /// `GET /v1/history`: the state database's clock updates in the asked range, thinned to the limit.
    func history(_ request: AdminRequest) -> AdminResponse {
        let query: AdminHistory.Query
        do {
            query = try AdminHistory.Query(parsing: request.query, now: Date().timeIntervalSince1970)
        } catch {
            return .error(.badRequest, "bad_request", error.description)
        }
        guard let store = recorder?.store else {
            return .error(.notFound, "no_history", "this node keeps no history: configure [state] database")
        }
        do {
            let rows = try store.clockUpdates(since: query.since, limit: 1_000_000).filter { $0.utc <= query.until }
            let points = AdminHistory.thin(rows, to: query.limit).map {
                AdminHistory.Point(
                    utc: $0.utc, offset: $0.offset, jitter: $0.rmsOffset, frequencyPPM: $0.frequencyPPM, errorBound: $0.errorBound,
                    synchronized: $0.synchronized, source: $0.source)
            }
            return .ok(AdminHistory(since: query.since, until: query.until, stored: rows.count, points: points))
        } catch {
            return .error(.internalServerError, "store_failed", "the state database could not be read: \(error)")
        }
    }
}
