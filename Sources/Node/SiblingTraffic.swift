import Foundation
import NodeModels
import NTPCore
import NIOConcurrencyHelpers

/// The server side of sibling peering: requests that arrived from siblings' addresses, answered per key or
/// rejected with the reason, so a sibling polling with a wrong or retired key is reported by the node it
/// polls (the poller itself only sees silence, as chrony's server sends nothing back). Recorded by the receive
/// loops only for siblings' addresses, which send a request every few seconds at most.
final class SiblingTraffic: Sendable {
    struct Entry: Sendable, Equatable {
        var answeredByKey: [UInt32: UInt64] = [:]
        var rejected: UInt64 = 0
        var lastRejection: String?
        /// Unix seconds since its requests have been rejected with none answered since.
        var rejectingSince: Double?
    }

    private let entries = NIOLockedValueBox<[IPAddress: Entry]>([:])

    func answered(from address: IPAddress, keyID: UInt32) {
        entries.withLockedValue {
            $0[address, default: Entry()].answeredByKey[keyID, default: 0] += 1
            $0[address]?.rejectingSince = nil
        }
    }

    func rejected(from address: IPAddress, keyID: UInt32, reason: String, now: Double = Date().timeIntervalSince1970) {
        entries.withLockedValue { entries in
            var entry = entries[address, default: Entry()]
            entry.rejected += 1
            entry.lastRejection = reason
            if entry.rejectingSince == nil { entry.rejectingSince = now }
            entries[address] = entry
        }
    }

    func entry(for address: IPAddress) -> Entry { entries.withLockedValue { $0[address] ?? Entry() } }

    /// Why a sibling's request under `keyID` was not answered.
    static func reason(keyID: UInt32, from address: IPAddress, configuration: SymmetricServerConfiguration) -> String {
        if configuration.keys[keyID] == nil { return "key \(keyID) is not in the key file" }
        if let allowed = configuration.restrictions[address], !allowed.contains(keyID) {
            return "key \(keyID) is not accepted from this sibling (accepted: \(allowed.sorted().map(String.init).joined(separator: ", ")))"
        }
        return "MAC does not verify under key \(keyID)"
    }
}
