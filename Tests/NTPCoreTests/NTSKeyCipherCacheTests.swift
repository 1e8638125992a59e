import FleetCrypto
@testable import NTPCore
import XCTest

/// `NTSKeyCipherCache` (issue 18): a client's keys keyed once and found again; a slot taken by another key
/// is replaced; algorithm and length are part of the match; what it seals and opens is what the one-shot
/// factory calls give; off (capacity 0) or for keys it cannot hold, it falls back to them.
final class NTSKeyCipherCacheTests: XCTestCase {
    /// Counts the ciphers made (each one an AES key expansion).
    struct CountingFactory: AEADCipherFactory {
        let base = NettleCipherFactory()
        let made = Counter()
        final class Counter: @unchecked Sendable { var value = 0 }
        var supportedAlgorithms: [UInt16] { base.supportedAlgorithms }
        func keyLength(of algorithm: UInt16) -> Int? { base.keyLength(of: algorithm) }
        func cipher(algorithm: UInt16, key: [UInt8]) -> (any AEADCipher)? {
            made.value += 1
            return base.cipher(algorithm: algorithm, key: key)
        }
        func seal(
            algorithm: UInt16, key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer,
            plaintext: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
        ) -> Int? {
            base.seal(algorithm: algorithm, key: key, nonce: nonce, associatedData: associatedData, plaintext: plaintext, into: output)
        }
        func open(
            algorithm: UInt16, key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer,
            sealed: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
        ) -> Int? {
            base.open(algorithm: algorithm, key: key, nonce: nonce, associatedData: associatedData, sealed: sealed, into: output)
        }
    }

    var random = SeededRandom(seed: 0xCAC4E)

    func key(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) } }

    func seal(_ cache: NTSKeyCipherCache?, _ factory: any AEADCipherFactory, algorithm: UInt16 = 15, key: [UInt8], plaintext: [UInt8]) -> [UInt8]? {
        let nonce = [UInt8](repeating: 7, count: 16)
        let associated = [UInt8](repeating: 9, count: 84)
        var output = [UInt8](repeating: 0, count: plaintext.count + 16)
        let count = key.withUnsafeBytes { key in
            nonce.withUnsafeBytes { nonce in
                associated.withUnsafeBytes { associated in
                    plaintext.withUnsafeBytes { plaintext in
                        output.withUnsafeMutableBytes { output in
                            NTSKeyCipherCache.seal(
                                algorithm: algorithm, key: key, nonce: nonce, associatedData: associated, plaintext: plaintext,
                                into: output, cache: cache, factory: factory)
                        }
                    }
                }
            }
        }
        return count.map { Array(output.prefix($0)) }
    }

    func open(_ cache: NTSKeyCipherCache?, _ factory: any AEADCipherFactory, key: [UInt8], sealed: [UInt8]) -> [UInt8]? {
        let nonce = [UInt8](repeating: 7, count: 16)
        let associated = [UInt8](repeating: 9, count: 84)
        var output = [UInt8](repeating: 0, count: max(1, sealed.count))
        let count = key.withUnsafeBytes { key in
            nonce.withUnsafeBytes { nonce in
                associated.withUnsafeBytes { associated in
                    sealed.withUnsafeBytes { sealed in
                        output.withUnsafeMutableBytes { output in
                            NTSKeyCipherCache.open(
                                algorithm: 15, key: key, nonce: nonce, associatedData: associated, sealed: sealed, into: output,
                                cache: cache, factory: factory)
                        }
                    }
                }
            }
        }
        return count.map { Array(output.prefix($0)) }
    }

    func testAKeyIsExpandedOnceAndItsResultsAreTheOneShotOnes() throws {
        let factory = CountingFactory()
        XCTAssertEqual(NTSKeyCipherCache(capacity: 1000).capacity, 1024, "rounded up to a power of two")
        // Room enough that these 20 (seeded) keys fall into 20 slots: a shared slot would replace.
        let cache = NTSKeyCipherCache(capacity: 65_536)
        let keys = (0..<20).map { _ in key(32) }
        let plaintext = key(112)
        for round in 0..<3 {
            for key in keys {
                let cached = try XCTUnwrap(seal(cache, factory, key: key, plaintext: plaintext))
                XCTAssertEqual(cached, seal(nil, NettleCipherFactory(), key: key, plaintext: plaintext))
                XCTAssertEqual(open(cache, factory, key: key, sealed: cached), plaintext)
                var tampered = cached
                tampered[round] ^= 1
                XCTAssertNil(open(cache, factory, key: key, sealed: tampered))
            }
        }
        XCTAssertEqual(factory.made.value, 20, "one expansion per key, whatever the number of uses")
        XCTAssertEqual(cache.occupied, 20)
    }

    func testASlotTakenByAnotherKeyIsReplaced() throws {
        let factory = CountingFactory()
        let cache = NTSKeyCipherCache(capacity: 1)
        let (a, b) = (key(32), key(32))
        let plaintext = key(20)
        let sealedA = try XCTUnwrap(seal(cache, factory, key: a, plaintext: plaintext))
        XCTAssertNotNil(seal(cache, factory, key: b, plaintext: plaintext))
        XCTAssertEqual(open(cache, factory, key: a, sealed: sealedA), plaintext, "a replaced key is keyed again")
        XCTAssertNil(open(cache, factory, key: b, sealed: sealedA), "the other key's cipher is never used for it")
        XCTAssertEqual(factory.made.value, 4)
        XCTAssertEqual(cache.occupied, 1)
        // A key differing in its last byte only (same slot, same first word) is another key.
        var near = a
        near[31] ^= 0x80
        XCTAssertNil(open(cache, factory, key: near, sealed: sealedA))
    }

    func testAlgorithmAndLengthArePartOfTheMatch() throws {
        let factory = CountingFactory()
        let cache = NTSKeyCipherCache(capacity: 64)
        let long = key(64)
        let plaintext = key(24)
        let as512 = try XCTUnwrap(seal(cache, factory, algorithm: AEADAlgorithm.aesSIVCMAC512, key: long, plaintext: plaintext))
        XCTAssertEqual(as512, seal(nil, NettleCipherFactory(), algorithm: AEADAlgorithm.aesSIVCMAC512, key: long, plaintext: plaintext))
        // The first 32 bytes of the same key under AES-SIV-CMAC-256: another cipher, other results.
        let short = Array(long.prefix(32))
        let as256 = try XCTUnwrap(seal(cache, factory, key: short, plaintext: plaintext))
        XCTAssertNotEqual(as256, as512)
        XCTAssertEqual(as256, seal(nil, NettleCipherFactory(), key: short, plaintext: plaintext))
        XCTAssertEqual(factory.made.value, 2)
        // A key the algorithm does not take is refused, as by the factory, and nothing is kept for it.
        XCTAssertNil(seal(cache, factory, algorithm: AEADAlgorithm.aesSIVCMAC256, key: long, plaintext: plaintext))
        XCTAssertNil(seal(cache, factory, key: key(80), plaintext: plaintext))
        XCTAssertNil(seal(cache, factory, key: [], plaintext: plaintext))
        XCTAssertEqual(cache.occupied, 2)
    }

    func testOffMeansOneShot() throws {
        let factory = CountingFactory()
        let cache = NTSKeyCipherCache(capacity: 0)
        XCTAssertEqual(cache.capacity, 0)
        let key = key(32)
        let plaintext = self.key(16)
        let sealed = try XCTUnwrap(seal(cache, factory, key: key, plaintext: plaintext))
        XCTAssertEqual(open(cache, factory, key: key, sealed: sealed), plaintext)
        XCTAssertEqual(factory.made.value, 0, "no cipher object made: the factory's one-shot calls")
        XCTAssertEqual(cache.occupied, 0)
    }
}
