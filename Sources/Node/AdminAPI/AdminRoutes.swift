import NIOHTTP1
import NodeModels

/// One admin API request as a route sees it: the TLS handshake already proved the client holds a
/// certificate from the admin CA (`client` is its subject, for the log).
public struct AdminRequest: Sendable {
    public var method: HTTPMethod
    public var path: String
    /// What followed `?` in the request target ("" without one).
    public var query: String = ""
    public var body: [UInt8]
    public var client: String?

    public init(method: HTTPMethod, path: String, query: String = "", body: [UInt8], client: String?) {
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.client = client
    }
}

public struct AdminResponse: Sendable {
    public var status: HTTPResponseStatus
    public var body: [UInt8]

    public static func ok(_ body: some AdminBody) -> AdminResponse { AdminResponse(status: .ok, body: body.json(pretty: true)) }

    public static func error(_ status: HTTPResponseStatus, _ code: String, _ message: String) -> AdminResponse {
        AdminResponse(status: status, body: AdminErrorBody(code: code, error: message).json(pretty: true))
    }

    /// Parses the request body as `T`, or answers 400 with what was wrong.
    static func parse<T: AdminBody>(_ type: T.Type, _ request: AdminRequest, _ body: (T) async -> AdminResponse) async -> AdminResponse {
        do {
            return await body(try T(json: request.body))
        } catch {
            return .error(.badRequest, "bad_request", "\(error)")
        }
    }
}

/// The admin API's route table: method and exact path (or path prefix) to handler. Unknown paths get 404,
/// known paths with another method 405.
public struct AdminRoutes: Sendable {
    public typealias Handler = @Sendable (AdminRequest) async -> AdminResponse

    struct Route: Sendable {
        var method: HTTPMethod
        var path: String
        var isPrefix: Bool
        var handler: Handler

        func matches(_ path: String) -> Bool { isPrefix ? path.hasPrefix(self.path) : path == self.path }
    }

    private(set) var routes: [Route] = []

    public init() {}

    public mutating func add(_ method: HTTPMethod, _ path: String, _ handler: @escaping Handler) {
        routes.append(Route(method: method, path: path, isPrefix: false, handler: handler))
    }

    /// Every path starting with `prefix` (for example `/v1/keys/symmetric/`), the handler parsing the rest.
    public mutating func add(_ method: HTTPMethod, prefix: String, _ handler: @escaping Handler) {
        routes.append(Route(method: method, path: prefix, isPrefix: true, handler: handler))
    }

    public func respond(to request: AdminRequest) async -> AdminResponse {
        let matching = routes.filter { $0.matches(request.path) }
        guard !matching.isEmpty else { return .error(.notFound, "not_found", "no such path: \(request.path)") }
        let method: HTTPMethod = request.method == .HEAD ? .GET : request.method
        guard let route = matching.first(where: { $0.method == method }) else {
            let allowed = Set(matching.map(\.method.rawValue)).sorted().joined(separator: ", ")
            return .error(.methodNotAllowed, "method_not_allowed", "\(request.path) takes \(allowed)")
        }
        return await route.handler(request)
    }
}
