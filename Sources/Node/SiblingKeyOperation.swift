/// One step of a sibling key change (see `SiblingRegistry`).
public enum SiblingKeyOperation: Sendable, Equatable {
    /// Accept the key on the siblings' requests.
    case stage(UInt32)
    /// Send the key from now on (and accept it).
    case activate(UInt32)
    /// Stop accepting the key; refused while it is still a send key.
    case retire(UInt32)
}
