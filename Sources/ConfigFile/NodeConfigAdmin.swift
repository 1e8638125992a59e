import NodeModels

extension NodeConfig {
    /// `[admin]`: the admin API (HTTPS, mutual TLS). Only clients whose certificate chains to `clientCA`
    /// (the fleet's admin CA) complete the handshake.
    public struct Admin: Sendable, Equatable {
        public static let defaultPort: UInt16 = 9124

        public var listen: SocketEndpoint
        /// The API's own certificate chain (PEM, leaf first) and private key.
        public var certificate: String = ""
        public var privateKey: String = ""
        /// PEM CA certificate(s) client certificates must chain to.
        public var clientCA: String = ""

        public init(listen: SocketEndpoint = SocketEndpoint(host: "127.0.0.1", port: defaultPort)) {
            self.listen = listen
        }
    }
}
