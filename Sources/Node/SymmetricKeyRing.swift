import NodeModels
import FleetCrypto
import Foundation
import Logging
import NTPCore
import NIOConcurrencyHelpers

/// The node's symmetric NTP keys (RFC 5905 §7.5, RFC 8573) from `[keys] file`, in chrony's key file format so
/// existing keys carry over. Loaded at start (a bad file stops the node) and on SIGHUP (a bad file keeps the
/// keys in use); the NTP server accepts requests under any of them, upstream servers are polled with theirs.
/// Key material never reaches a log line or status: only ids, types and lengths.
public final class SymmetricKeyRing: Sendable {
    public let path: String
    private let keys = NIOLockedValueBox<[UInt32: SymmetricKey]>([:])
    private let loaded = NIOLockedValueBox<Date?>(nil)
    public let computer: any MACComputer = OpenSSLMACComputer()

    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    public init(path: String) throws(LoadError) {
        self.path = path
        try reload()
    }

    /// Reads, checks and swaps in the file's keys; on any error the keys in use stay.
    public func reload() throws(LoadError) {
        let parsed: [SymmetricKey]
        do {
            try SecretFile.checkPermissions(path)
            guard let data = FileManager.default.contents(atPath: path) else {
                throw SecretFile.Error(message: "\(path): cannot read it; check that the node's user can read it")
            }
            let text = String(decoding: data, as: UTF8.self)
            parsed = try SymmetricKeyFile.parse(text)
        } catch let error as SymmetricKeyFileError {
            throw LoadError(description: "\(path)\(error.line.map { ":\($0)" } ?? ""): \(error.message)")
        } catch let error as SecretFile.Error {
            throw LoadError(description: error.message)
        } catch {
            throw LoadError(description: "\(path): \(error)")
        }
        keys.withLockedValue { current in
            current = Dictionary(parsed.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        }
        loaded.withLockedValue { $0 = Date() }
    }

    /// Keys installed through the admin API and kept in the state database (sibling keys staged with their
    /// material); the key file's keys win on an id held by both.
    private let managed = NIOLockedValueBox<[UInt32: SymmetricKey]>([:])

    public func key(_ id: UInt32) -> SymmetricKey? { keys.withLockedValue { $0[id] } ?? managed.withLockedValue { $0[id] } }

    public var all: [SymmetricKey] {
        let file = keys.withLockedValue { $0 }
        let merged = file.merging(managed.withLockedValue { $0 }) { fromFile, _ in fromFile }
        return merged.values.sorted { $0.id < $1.id }
    }

    /// Adds (or replaces) managed keys.
    public func addManaged(_ added: [SymmetricKey]) {
        managed.withLockedValue { for key in added { $0[key.id] = key } }
    }

    /// What the server accepts from now on: every key held, and from the addresses in `restrictions` (the
    /// siblings) only their keys.
    public func serverConfiguration(restrictions: [IPAddress: Set<UInt32>] = [:]) -> SymmetricServerConfiguration {
        SymmetricServerConfiguration(keys: all, computer: computer, restrictions: restrictions)
    }

    /// For status: ids, types and sizes only.
    public var summary: [NodeStatus.SymmetricKey] {
        all.map { NodeStatus.SymmetricKey(id: $0.id, type: $0.type.rawValue, bits: $0.secret.count * 8) }
    }
}
