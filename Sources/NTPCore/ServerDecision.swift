/// The outcome of one datagram at the server: answer it, or drop it for a counted reason.
public enum ServerDecision: Hashable, Sendable {
    case reply(ServerReply)
    case drop(ServerDropReason)
}
