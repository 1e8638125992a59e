import NIOConcurrencyHelpers
import Synchronization

/// The one place both halves of NTS read the site's cookie master keys from (RFC 8915 §6): NTS-KE seals the
/// cookies it hands out under the current key (§4.1.6), the NTP server opens the cookies clients bring and
/// seals fresh ones (§5.7). Whoever owns the keys (the node's key store) publishes each new set whole; readers
/// take a snapshot, so a packet or a session never sees half a rotation.
///
/// A snapshot is an ``NTSServerConfiguration``: the key set with each master key's cipher made once at
/// publication, not per packet or per session (keying AES-SIV is most of its cost).
public final class CookieKeyProvider: Sendable {
    /// The AEAD implementation the master keys' ciphers are made with, and NTS-KE's key lengths come from.
    public let ciphers: any AEADCipherFactory
    private let published: NIOLockedValueBox<NTSServerConfiguration?>
    private let publications = Atomic<UInt64>(0)

    /// A provider with no keys yet (readers see nil until the first ``publish(_:)``).
    public init(ciphers: any AEADCipherFactory) {
        self.ciphers = ciphers
        self.published = NIOLockedValueBox(nil)
    }

    /// A provider serving `keySet` from the start.
    public convenience init(keySet: CookieKeySet, ciphers: any AEADCipherFactory) {
        self.init(ciphers: ciphers)
        publish(keySet)
    }

    /// The keys in use now with their ciphers, or nil before any were published.
    public var current: NTSServerConfiguration? { published.withLockedValue { $0 } }

    /// Counts publications: a reader that keeps `current` (a receive loop, batch after batch) reads this
    /// first and `current` again only when it changed, with no lock per batch.
    public var generation: UInt64 { publications.load(ordering: .acquiring) }

    /// Serves `keySet` from the next read on. The ciphers are made before the swap, outside the lock.
    public func publish(_ keySet: CookieKeySet) {
        let configuration = NTSServerConfiguration(keySet: keySet, ciphers: ciphers)
        published.withLockedValue { $0 = configuration }
        publications.add(1, ordering: .releasing)
    }
}
