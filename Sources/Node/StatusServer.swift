import NodeModels
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// A local Unix socket that answers every connection with the node's status as one JSON document, then
/// closes: what `fleetnode status` reads (as chronyc reads chronyd's socket). Filesystem permissions (0660)
/// are the access control; the authenticated remote API comes with the control plane.
public final class StatusServer: Service, Sendable {
    private let path: String
    private let provider: @Sendable () -> NodeStatus
    private let logger: Logger

    public init(path: String, logger: Logger, provider: @escaping @Sendable () -> NodeStatus) {
        self.path = path
        self.provider = provider
        self.logger = logger
    }

    public func run() async throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        try FileManager.default.setAttributes([.posixPermissions: 0o660], ofItemAtPath: path)
        logger.info("status socket ready", metadata: ["path": "\(path)"])

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let provider = self.provider
        let logger = self.logger
        await cancelWhenGracefulShutdown {
            try? await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask {
                            do {
                                // Encode inside executeThenClose: a connection must be closed on every path
                                // (NIO traps on an async writer dropped unfinished).
                                try await connection.executeThenClose { _, outbound in
                                    let body = try encoder.encode(provider()) + Data("\n".utf8)
                                    try await outbound.write(ByteBuffer(bytes: body))
                                }
                            } catch {
                                logger.debug("status request failed", metadata: ["error": "\(error)"])
                            }
                        }
                    }
                }
            }
        }
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Reads a node's status from its local socket.
public enum StatusClient {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public static func fetch(path: String) async throws -> NodeStatus {
        let data: Data
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(unixDomainSocketPath: path) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
            data = try await channel.executeThenClose { inbound, _ in
                var collected = Data()
                for try await buffer in inbound {
                    collected.append(contentsOf: buffer.readableBytesView)
                    if collected.count > 16 << 20 { throw Failure(description: "status larger than 16 MiB") }
                }
                return collected
            }
        } catch let error as Failure {
            throw error
        } catch {
            throw Failure(description: "cannot reach the node's status socket \(path): \(error)")
        }
        do {
            return try JSONDecoder().decode(NodeStatus.self, from: data)
        } catch {
            throw Failure(description: "the node's status socket \(path) sent an unreadable answer: \(error)")
        }
    }
}
