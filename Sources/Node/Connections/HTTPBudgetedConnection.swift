import NetworkEdges
import NIOCore
import NIOHTTP1
import NIOTLS

extension BudgetedConnection where Message == HTTPServerRequestPart {
    /// The budget of an HTTP listener (admin API, metrics), placed after the HTTP decoder: swift-nio-ssl's
    /// `TLSUserEvent.handshakeCompleted` ends the handshake, the request's `.end` part ends the request.
    ///
    /// - Parameter handshakeAuthenticates: whether a completed TLS handshake authenticates the client (mutual
    ///   TLS whose handshake refuses clients without a valid certificate).
    static func http(budget: ConnectionBudget, handshakeAuthenticates: Bool) -> BudgetedConnection<HTTPServerRequestPart> {
        BudgetedConnection(
            budget: budget, proof: handshakeAuthenticates ? .handshake : .none,
            isHandshakeCompleted: { event in
                if let event = event as? TLSUserEvent, case .handshakeCompleted = event { return true }
                return false
            },
            isRequestComplete: { part in
                if case .end = part { return true }
                return false
            })
    }
}
