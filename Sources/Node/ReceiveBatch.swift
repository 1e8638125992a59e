import CFleetShim

/// The C buffers of one receive loop's batch (recvmmsg/sendmmsg headers, datagram slots, control data),
/// allocated once and freed with the loop. A class only so that the loop itself can be a struct (see
/// ``ReceiveLoop``) and still free them exactly once.
final class ReceiveBatch: @unchecked Sendable {
    let pointer: OpaquePointer

    init(count: Int, bufferSize: Int) throws(NodeStartError) {
        guard let pointer = cfs_batch_create(Int32(count), Int32(bufferSize)) else {
            throw NodeStartError(message: "cannot allocate receive buffers")
        }
        self.pointer = pointer
    }

    deinit { cfs_batch_destroy(pointer) }
}
