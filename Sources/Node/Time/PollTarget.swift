import ConfigFile
import TimeCore

/// What a poller needs to know about a server it polls in client mode: an upstream `[[server]]` or a
/// `[[sibling]]`. A sibling's key is looked up at every poll (it changes with reloads and key operations),
/// and its exchanges are reported to the sibling registry.
struct PollTarget: Sendable {
    var id: SourceID
    var host: String
    var port: UInt16
    var nts = false
    var kePort: UInt16 = 4460
    var ca: String?
    var iburst = true
    /// Interleaved client mode requested (`xleave = true`).
    var xleave = false
    var minPoll: Int
    var maxPoll: Int
    /// The symmetric key id the next request carries, nil for none.
    var key: @Sendable () -> UInt32?
    /// The sibling registry, for a sibling.
    var siblings: SiblingRegistry?
    /// The source address requests go from (a sibling: this node's own NTP address of the same family).
    var localAddress: String?

    init(_ server: NodeConfig.Server) {
        id = TimeService.sourceID(server)
        host = server.host
        port = server.port
        nts = server.nts
        kePort = server.kePort
        ca = server.ca
        iburst = server.iburst
        xleave = server.xleave
        minPoll = server.minPoll
        maxPoll = server.maxPoll
        let key = server.key
        self.key = { key }
    }

    init(_ sibling: NodeConfig.Sibling, registry: SiblingRegistry, localAddress: String?) {
        self.localAddress = localAddress
        id = SourceID(sibling.name)
        host = sibling.host
        port = sibling.port
        iburst = sibling.iburst
        xleave = sibling.xleave
        minPoll = sibling.minPoll
        maxPoll = sibling.maxPoll
        let name = sibling.name
        key = { registry.sendKey(for: name) }
        siblings = registry
    }
}
