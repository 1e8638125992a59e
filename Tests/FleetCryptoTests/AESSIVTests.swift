import Dispatch
import XCTest

@testable import FleetCrypto
import NTPCore

// AES-SIV (RFC 5297) as the NTS AEAD. Vectors: RFC 5297 Appendix A; the NIST "proposed modes" SIV
// vectors with 192- and 256-bit subkeys (as carried by the miscreant and dchest/siv test suites); the
// miscreant vectors with no associated data; and a selection of Project Wycheproof's
// aes_siv_cmac_test.json (one associated-data component, often empty, and empty messages). The empty-
// plaintext path (S2V by hand) is also cross-checked against OpenSSL's own SIV on random inputs.

/// Bytes from hex text; spaces are ignored.
func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.utf8.filter { $0 != UInt8(ascii: " ") })
    precondition(digits.count % 2 == 0, "odd hex length")
    func value(_ c: UInt8) -> UInt8 {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: preconditionFailure("not hex")
        }
    }
    return stride(from: 0, to: digits.count, by: 2).map { value(digits[$0]) << 4 | value(digits[$0 + 1]) }
}

/// A small deterministic generator (SplitMix64) so failures reproduce.
struct TestRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) } }
}

private func siv(_ key: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> AESSIV {
    do {
        return try AESSIV(key: key)
    } catch {
        XCTFail("\(error)", file: file, line: line)
        fatalError()
    }
}

/// Every single-bit change of `bytes`.
private func bitFlips(_ bytes: [UInt8]) -> [[UInt8]] {
    var all: [[UInt8]] = []
    for i in bytes.indices {
        for bit in 0..<8 {
            var copy = bytes
            copy[i] ^= 1 << bit
            all.append(copy)
        }
    }
    return all
}

final class AESSIVTests: XCTestCase {
    static let keySizes = [32, 48, 64]

    // MARK: RFC 5297 Appendix A

    func testRFC5297A1DeterministicVector() {
        let cipher = siv(hex("fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 f0f1f2f3 f4f5f6f7 f8f9fafb fcfdfeff"))
        let ad = hex("10111213 14151617 18191a1b 1c1d1e1f 20212223 24252627")
        let plaintext = hex("11223344 55667788 99aabbcc ddee")
        let sealed = cipher.seal(components: [ad], plaintext: plaintext)
        XCTAssertEqual(Array(sealed.prefix(16)), hex("85632d07 c6e8f37f 950acd32 0a2ecc93"))  // SIV
        XCTAssertEqual(Array(sealed.dropFirst(16)), hex("40c02b96 90c4dc04 daef7f6a fe5c"))    // ciphertext
        XCTAssertEqual(cipher.s2v([ad, plaintext]), hex("85632d07 c6e8f37f 950acd32 0a2ecc93"))
        XCTAssertEqual(cipher.seal(components: [ad], plaintext: plaintext, path: .byHand), sealed)
        XCTAssertEqual(cipher.seal(components: [ad], plaintext: plaintext, path: .byHandEVP), sealed)
        XCTAssertEqual(cipher.seal(components: [ad], plaintext: plaintext, path: .openSSL), sealed)
        XCTAssertEqual(cipher.open(components: [ad], sealed: sealed), plaintext)
        XCTAssertEqual(cipher.open(components: [ad], sealed: sealed, path: .byHandEVP), plaintext)

        XCTAssertEqual(cipher.open(components: [ad], sealed: sealed, path: .byHand), plaintext)
        XCTAssertEqual(cipher.open(components: [ad], sealed: sealed, path: .openSSL), plaintext)
        for forged in bitFlips(sealed) {
            XCTAssertNil(cipher.open(components: [ad], sealed: forged))
            XCTAssertNil(cipher.open(components: [ad], sealed: forged, path: .byHand))
        }
        for forgedAD in bitFlips(ad) {
            XCTAssertNil(cipher.open(components: [forgedAD], sealed: sealed))
        }
        XCTAssertNil(cipher.open(components: [], sealed: sealed))
        XCTAssertNil(cipher.open(components: [ad, []], sealed: sealed))
        XCTAssertNil(cipher.open(components: [ad], sealed: Array(sealed.dropLast())))
    }

    func testRFC5297A2NonceBasedVector() {
        let cipher = siv(hex("7f7e7d7c 7b7a7978 77767574 73727170 40414243 44454647 48494a4b 4c4d4e4f"))
        let ad1 = hex("00112233 44556677 8899aabb ccddeeff deaddada deaddada ffeeddcc bbaa9988 77665544 33221100")
        let ad2 = hex("10203040 50607080 90a0")
        let nonce = hex("09f91102 9d74e35b d84156c5 635688c0")
        let plaintext = hex(
            "74686973 20697320 736f6d65 20706c61 696e7465 78742074 6f20656e 63727970 74207573 696e6720 5349562d 414553")
        let sealed = cipher.seal(components: [ad1, ad2, nonce], plaintext: plaintext)
        XCTAssertEqual(Array(sealed.prefix(16)), hex("7bdb6e3b 432667eb 06f4d14b ff2fbd0f"))
        XCTAssertEqual(
            Array(sealed.dropFirst(16)),
            hex("cb900f2f ddbe4043 26601965 c889bf17 dba77ceb 094fa663 b7a3f748 ba8af829 ea64ad54 4a272e9c 485b62a3 fd5c0d"))
        XCTAssertEqual(cipher.s2v([ad1, ad2, nonce, plaintext]), Array(sealed.prefix(16)))
        XCTAssertEqual(cipher.seal(components: [ad1, ad2, nonce], plaintext: plaintext, path: .byHand), sealed)
        XCTAssertEqual(cipher.seal(components: [ad1, ad2, nonce], plaintext: plaintext, path: .byHandEVP), sealed)
        XCTAssertEqual(cipher.open(components: [ad1, ad2, nonce], sealed: sealed), plaintext)

        for forged in bitFlips(sealed) {
            XCTAssertNil(cipher.open(components: [ad1, ad2, nonce], sealed: forged))
        }
        for forged in bitFlips(ad1) {
            XCTAssertNil(cipher.open(components: [forged, ad2, nonce], sealed: sealed))
        }
        for forged in bitFlips(ad2) {
            XCTAssertNil(cipher.open(components: [ad1, forged, nonce], sealed: sealed))
        }
        for forged in bitFlips(nonce) {
            XCTAssertNil(cipher.open(components: [ad1, ad2, forged], sealed: sealed))
        }
        // Order and grouping of the components matter.
        XCTAssertNil(cipher.open(components: [ad2, ad1, nonce], sealed: sealed))
        XCTAssertNil(cipher.open(components: [ad1 + ad2, nonce], sealed: sealed))
    }

    /// The AEAD interface is exactly S2V(A, N, P): the list form with components [A, N].
    func testAEADInterfaceIsTheListFormWithAssociatedDataThenNonce() {
        var random = TestRandom(state: 5297)
        for size in Self.keySizes {
            let cipher = siv(random.bytes(size))
            for plaintextLength in [0, 1, 15, 16, 17, 100] {
                let a = random.bytes(48), n = random.bytes(16), p = random.bytes(plaintextLength)
                let sealed = cipher.seal(nonce: n, associatedData: a, plaintext: p)
                XCTAssertEqual(sealed, cipher.seal(components: [a, n], plaintext: p))
                XCTAssertEqual(cipher.open(nonce: n, associatedData: a, sealed: sealed), p)
                XCTAssertEqual(cipher.open(components: [a, n], sealed: sealed), p)
                // Swapping A and N is a different message.
                XCTAssertNil(cipher.open(nonce: a, associatedData: n, sealed: sealed))
            }
        }
    }

    // MARK: Longer keys (NIST SIV vectors, 192- and 256-bit subkeys)

    func testNISTVectorsWith384And512BitKeys() {
        let ad = hex("10111213 14151617 18191a1b 1c1d1e1f 20212223 24252627")
        let plaintext = hex("11223344 55667788 99aabbcc ddee")
        let ad1 = hex("00112233 44556677 8899aabb ccddeeff deaddada deaddada ffeeddcc bbaa9988 77665544 33221100")
        let ad2 = hex("10203040 50607080 90a0")
        let nonce = hex("09f91102 9d74e35b d84156c5 635688c0")
        let plaintext2 = hex(
            "74686973 20697320 736f6d65 20706c61 696e7465 78742074 6f20656e 63727970 74207573 696e6720 5349562d 414553")
        let cases: [(key: String, components: [[UInt8]], plaintext: [UInt8], sealed: String)] = [
            ("fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 6f6e6d6c 6b6a6968 f0f1f2f3 f4f5f6f7 f8f9fafb fcfdfeff 00010203 04050607",
             [ad], plaintext,
             "02347811 daa8b274 91f24448 932775a6 2af34a06 ac0016e8 ac284a55 14f6"),
            ("fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 6f6e6d6c 6b6a6968 67666564 63626160 f0f1f2f3 f4f5f6f7 f8f9fafb fcfdfeff 00010203 04050607 08090a0b 0c0d0e0f",
             [ad], plaintext,
             "f125274c 598065cf c26b0e71 57502908 8b035217 e380cac8 919ee800 c126"),
            ("7f7e7d7c 7b7a7978 77767574 73727170 6f6e6d6c 6b6a6968 40414243 44454647 48494a4b 4c4d4e4f 50515253 54555657",
             [ad1, ad2, nonce], plaintext2,
             "de40aa1e 7180d519 cb14308e a7f77586 da09877c 510f2965 1f42311a b728e956 09e7de29 94bdf80b b99bfaac e31c4ec0 d15ba650 9f53f36a d725dcab c9e2a7"),
            ("7f7e7d7c 7b7a7978 77767574 73727170 6f6e6d6c 6b6a6968 67666564 63626160 40414243 44454647 48494a4b 4c4d4e4f 50515253 54555657 58595a5b 5b5d5e5f",
             [ad1, ad2, nonce], plaintext2,
             "85b81673 10038db7 dc4692c0 281ca358 68181b27 62f3c24f 2efa5fb8 0cb14351 6ce6c434 b898a6fd 8eb98a41 8842f51f 66fc67de 43ac185a 66dd7247 5bbb08"),
        ]
        for c in cases {
            let cipher = siv(hex(c.key))
            let expected = hex(c.sealed)
            XCTAssertEqual(cipher.seal(components: c.components, plaintext: c.plaintext), expected)
            XCTAssertEqual(cipher.seal(components: c.components, plaintext: c.plaintext, path: .byHand), expected)
            XCTAssertEqual(cipher.open(components: c.components, sealed: expected), c.plaintext)
            var forged = expected
            forged[0] ^= 0x80
            XCTAssertNil(cipher.open(components: c.components, sealed: forged))
        }
    }

    // MARK: No associated data at all (miscreant vectors)

    func testNoAssociatedDataComponents() {
        let cipher = siv(hex("fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 f0f1f2f3 f4f5f6f7 f8f9fafb fcfdfeff"))
        // S2V over the plaintext alone, here empty: the by-hand path.
        let empty = cipher.seal(components: [], plaintext: [])
        XCTAssertEqual(empty, hex("f2007a5beb2b8900c588a7adf599f172"))
        XCTAssertEqual(cipher.open(components: [], sealed: empty), [])
        XCTAssertNil(cipher.open(components: [[]], sealed: empty))  // one empty component is not no component
        // A block-sized plaintext (the first length that takes xorend in S2V).
        let block = hex("00112233445566778899aabbccddeeff")
        let sealed = cipher.seal(components: [], plaintext: block)
        XCTAssertEqual(sealed, hex("f304f912863e303d5b540e5057c7010c942ffaf45b0e5ca5fb9a56a5263bb065"))
        XCTAssertEqual(cipher.seal(components: [], plaintext: block, path: .byHand), sealed)
        XCTAssertEqual(cipher.open(components: [], sealed: sealed), block)
    }

    // MARK: Wycheproof (one AD component, possibly empty)

    func testWycheproofSelection() {
        let k32 = (0..<32).map(UInt8.init), k48 = (0..<48).map(UInt8.init), k64 = (0..<64).map(UInt8.init)
        // (tcId, key, aad, msg, ct, valid)
        let cases: [(Int, [UInt8], String, String, String, Bool)] = [
            (2, hex("2b27e429fb6c02678e589ccc4437c5adfb44b331ab6d21ea321727e6ec03d354"), "", "",
             "b2b2354e3724dcdaa85ecf029b49a90c", true),
            (3, hex("e40992eb4f649e5d49134652aecc24bafa6b45ce8dd9e9d371ede7d5de84fa72"), "8268c5194a71aed0fc1dafe3", "",
             "92bc07ee200fbd488b7f70a10da26a21", true),
            (5, hex("7bf9e536b66a215c22233fe2daaa743a898b9acb9f7802de70b40e3d6e43ef97"),
             "9ffff196befb5ffba01afa9235418d57", "", "c11ab0ae193018d2c9c7985aec3f8a5b", true),
            (7, hex("1e225cafb90339bba1b24076d4206c3e79c355805d851682bc818baa4f5a7779"),
             "896dcdb367f3c76d60093dc5ae09bc4f30e5cb88e3434e6eb0f0700ac752cd97", "",
             "8f603b65e767ef178b4dd11db6c114c1", true),
            (8, hex("612e837843ceae7f61d49625faa7e7494f9253e20cb3adcea686512b043936cd"),
             "865d39ae9b5e9ff8d6308e00208745bc", "cc37fae15f745a2f40e2c8b192f2b38d",
             "c79c86cd7509e60a16ca8cec6bcaa1c58fbd6099718991fe775bf5a659d30a24", true),
            (11, hex("298962335a075e9eacb7a7627beafa4ee5a02242423cdfb0b4f106eb61cf5663"), "4c375fd3c4d45c5cfff16d55",
             "49", "f5c8155c7dd7f47c61d980ccd2175beb9b", true),
            (31, k32, "", "1d7f9cc81b316c518efcd7927e8f7b88",
             "00000000000000000000000000000000f0dcac3115ddbd3d8ec28822e54088d0", true),
            (33, k32, "", "110d3aa6f558c30977870672804064e0",
             "ffffffffffffffffffffffffffffffff01f74b8e43a262001d8357f95489432e", true),
            (143, k32, "", "303132333435363738393a3b3c3d3e3f",
             "e0688217303ac145ce5ad844e8d0abb2da4e0efa57352f1a114e4b3f0cb234c6", false),
            (145, k32, "", "", "656b1d3fffb6d3599afcd1882dc96822", false),
            (149, hex("d3d58a2f21e62f5095542e618168ef040922ab7d80b3840055eb9caf5726a8d4a7f071dc40ddb320effc094211735090"),
             "", "", "59e0a9a04cdb1d9d7bee6be8bb06fd61", true),
            (150, hex("ad0f7862386c35fee128ae7ff18db084a0f457fcfc7fe1c5370b145f7fa645a97ba3eb4f90e18941b18e8d89494ec796"),
             "b402ae880487cfaa9314549b", "", "b50be5e46a3912dcacff27115e209e24", true),
            (152, hex("5ad985b9bcb461f9115937b6bde7073fbed9e8bf32245afe5836e8c2f67b3999266ba0d8d9eba6fa978c47ea9ef4690a"),
             "bd2aa07a70aca69c4621d91a6686f42a", "", "863161c67e86648340fc5eab9fb728a7", true),
            (178, k48, "", "05ae1ded78b927e7bf5560571e177760",
             "0000000000000000000000000000000081460aba44a680fc6c776c00a1e94b6b", true),
            (180, k48, "", "3de1fd2ff8d5260005edbf9b59b6cf06",
             "ffffffffffffffffffffffffffffffffe8a56dbae884e990cc0df180d5e456ba", true),
            (296, hex("bc7635c1fd566aa8357fd103714bfaee1c9e5b3c578b3980401a981030254a54b1756a8c96e600b7252fd0aab12f39d115d256b3f3e7c2c41a7fece72ba7c3c4"),
             "", "", "44b1c6fe8a8c07dee5377b161f283c31", true),
            (297, hex("aff6388fdd2908e0c3b610e3dcd410c8146a268d6befd5c45ffdd23508b5b311cc3a9d8f838f456436b289018682151dd57d8d65d1a823c06eca8ab8ee01da01"),
             "d0bb2949a411e22d32964526", "", "e288d802a0e56ed7544a2e5775459389", true),
            (299, hex("0b6aaf05f9b5221e539940cd83cb29d2bcc7a0aa472d8fc67bedd0108869394e33c9f233d4b2cc9c6a59e8ce9cd268a0f3f2857e08fe1eb329ef347dace1557d"),
             "76aade95964f074c693886f245fa57f9", "", "f1ad6ea998a2a438acaf90bad0cb9f9f", true),
            (325, k64, "", "8dbfee9580e7e2bc66100a674497f4e1",
             "000000000000000000000000000000007ef8aa7e4dd49d9cfa09e9cb574fd90d", true),
            (327, k64, "", "72543a9a07a3c18a280060653432c05c",
             "ffffffffffffffffffffffffffffffff3db09cc48f2780859351901d1014ae06", true),
        ]
        for (id, key, aadHex, msgHex, ctHex, valid) in cases {
            let cipher = siv(key)
            let aad = hex(aadHex), msg = hex(msgHex), ct = hex(ctHex)
            if valid {
                XCTAssertEqual(cipher.seal(components: [aad], plaintext: msg), ct, "tcId \(id)")
                XCTAssertEqual(cipher.seal(components: [aad], plaintext: msg, path: .byHand), ct, "tcId \(id) by hand")
                XCTAssertEqual(cipher.open(components: [aad], sealed: ct), msg, "tcId \(id)")
            } else {
                XCTAssertNil(cipher.open(components: [aad], sealed: ct), "tcId \(id)")
            }
        }
    }

    // MARK: Empty plaintext (the NTS client request) and the by-hand S2V

    func testEmptyPlaintextRoundTripsForEveryKeySize() {
        var random = TestRandom(state: 8915)
        for size in Self.keySizes {
            let cipher = siv(random.bytes(size))
            let a = random.bytes(48 + 36), n = random.bytes(16)
            let sealed = cipher.seal(nonce: n, associatedData: a, plaintext: [])
            XCTAssertEqual(sealed.count, 16)
            XCTAssertEqual(sealed, cipher.s2v([a, n, []]), "the tag is S2V(A, N, \"\")")
            XCTAssertEqual(cipher.open(nonce: n, associatedData: a, sealed: sealed), [])
            XCTAssertNil(cipher.seal(components: [a, n], plaintext: [], path: .openSSL),
                         "OpenSSL's SIV cannot seal an empty plaintext: that is why the by-hand path exists")
            XCTAssertNil(cipher.open(components: [a, n], sealed: sealed, path: .openSSL),
                         "the OpenSSL path is never used for an empty ciphertext")

            var otherA = a
            otherA[0] ^= 1
            XCTAssertNil(cipher.open(nonce: n, associatedData: otherA, sealed: sealed), "wrong AD")
            XCTAssertNil(cipher.open(nonce: n, associatedData: Array(a.dropLast()), sealed: sealed), "short AD")
            var otherN = n
            otherN[15] ^= 0x80
            XCTAssertNil(cipher.open(nonce: otherN, associatedData: a, sealed: sealed), "wrong nonce")
            for forged in bitFlips(sealed) {
                XCTAssertNil(cipher.open(nonce: n, associatedData: a, sealed: forged))
            }
            // A tag that would be right for an empty plaintext does not open with a ciphertext attached.
            XCTAssertNil(cipher.open(nonce: n, associatedData: a, sealed: sealed + [0]))
            // A different key of the same size does not open it.
            XCTAssertNil(siv(random.bytes(size)).open(nonce: n, associatedData: a, sealed: sealed))
        }
    }

    func testEmptyAssociatedDataAndEmptyNonce() {
        var random = TestRandom(state: 16)
        for size in Self.keySizes {
            let cipher = siv(random.bytes(size))
            let n = random.bytes(16), a = random.bytes(20)
            for (aa, nn) in [([UInt8](), n), (a, []), ([], [])] {
                for p in [[UInt8](), random.bytes(1), random.bytes(40)] {
                    let sealed = cipher.seal(nonce: nn, associatedData: aa, plaintext: p)
                    XCTAssertEqual(Array(sealed.prefix(16)), cipher.s2v([aa, nn, p]))
                    XCTAssertEqual(cipher.seal(components: [aa, nn], plaintext: p, path: .byHand), sealed)
                    XCTAssertEqual(cipher.open(nonce: nn, associatedData: aa, sealed: sealed), p)
                    // An empty component still counts: dropping it changes the result.
                    XCTAssertNotEqual(sealed, cipher.seal(components: aa.isEmpty ? [nn] : [aa], plaintext: p))
                }
            }
        }
    }

    /// The by-hand S2V (and the whole by-hand SIV) against OpenSSL's SIV on random non-empty plaintexts:
    /// this is what shows the empty-plaintext path computes RFC 5297's S2V.
    func testHandS2VMatchesOpenSSLOnRandomInputs() {
        var random = TestRandom(state: 0x5297)
        for size in Self.keySizes {
            for _ in 0..<1000 {
                let cipher = siv(random.bytes(size))
                let a = random.bytes(Int.random(in: 0...80, using: &random))
                let n = random.bytes(Int.random(in: 0...40, using: &random))
                let p = random.bytes(Int.random(in: 1...80, using: &random))
                guard let openSSL = cipher.seal(components: [a, n], plaintext: p, path: .openSSL) else {
                    return XCTFail("OpenSSL seal failed")
                }
                XCTAssertEqual(cipher.s2v([a, n, p]), Array(openSSL.prefix(16)), "key \(size) A \(a.count) N \(n.count) P \(p.count)")
                XCTAssertEqual(cipher.seal(components: [a, n], plaintext: p, path: .byHand), openSSL)
                XCTAssertEqual(cipher.open(nonce: n, associatedData: a, sealed: openSSL), p)
                XCTAssertEqual(cipher.open(components: [a, n], sealed: openSSL, path: .byHand), p)
                var forged = openSSL
                forged[Int.random(in: 0..<forged.count, using: &random)] ^= 1 << UInt8.random(in: 0...7, using: &random)
                XCTAssertNil(cipher.open(components: [a, n], sealed: forged, path: .byHand))
                XCTAssertNil(cipher.open(components: [a, n], sealed: forged, path: .openSSL))
            }
        }
    }

    /// Components and plaintexts longer than the 512 bytes the by-hand path hands OpenSSL per call (CMAC
    /// chains and CTR counters continue across calls), with lengths on and around the boundaries.
    func testLongInputsAcrossChunkBoundaries() {
        var random = TestRandom(state: 512)
        let lengths = [0, 1, 15, 16, 17, 495, 496, 497, 511, 512, 513, 528, 1023, 1024, 1025, 1535, 1536, 1537, 3000]
        for size in Self.keySizes {
            let cipher = siv(random.bytes(size))
            for (k, length) in lengths.enumerated() {
                let a = random.bytes(lengths[(k * 7) % lengths.count])
                let n = random.bytes(16)
                let p = random.bytes(max(length, 1))
                guard let openSSL = cipher.seal(components: [a, n], plaintext: p, path: .openSSL) else {
                    return XCTFail("OpenSSL seal failed")
                }
                XCTAssertEqual(cipher.seal(nonce: n, associatedData: a, plaintext: p), openSSL, "key \(size) A \(a.count) P \(p.count)")
                XCTAssertEqual(cipher.open(nonce: n, associatedData: a, sealed: openSSL), p)
                XCTAssertEqual(cipher.open(components: [a, n], sealed: openSSL, path: .openSSL), p)
                // A long last component with the by-hand path's xorend, and a long middle one.
                XCTAssertEqual(cipher.s2v([a, n, p]), Array(openSSL.prefix(16)))
                let long = random.bytes(length)
                guard let openSSL2 = cipher.seal(components: [long, a], plaintext: [7], path: .openSSL) else {
                    return XCTFail("OpenSSL seal failed")
                }
                XCTAssertEqual(cipher.seal(components: [long, a], plaintext: [7]), openSSL2, "key \(size) AD1 \(long.count)")
                var forged = openSSL
                forged[forged.count - 1] ^= 1
                XCTAssertNil(cipher.open(nonce: n, associatedData: a, sealed: forged))
            }
        }
    }

    /// More key objects in use on one thread than its cache of keyed contexts has slots, of all sizes and
    /// interleaved, plus keys freed and made again (a new object may get a freed one's address): every
    /// answer must be the one OpenSSL's SIV gives.
    func testManyKeysInterleavedOnOneThread() {
        var random = TestRandom(state: 4)
        let keys = (0..<13).map { i in random.bytes(Self.keySizes[i % 3]) }
        let inputs = (0..<5).map { i in (random.bytes(i * 31), random.bytes(16), random.bytes(1 + i * 29)) }
        let expected = keys.map { key in
            inputs.map { siv(key).seal(components: [$0.0, $0.1], plaintext: $0.2, path: .openSSL)! }
        }
        var ciphers = keys.map { siv($0) }
        for round in 0..<30 {
            for i in keys.indices where (i + round) % 4 != 0 {
                let j = (i + round) % inputs.count
                let (a, n, p) = inputs[j]
                XCTAssertEqual(ciphers[i].seal(nonce: n, associatedData: a, plaintext: p), expected[i][j], "key \(i) round \(round)")
                XCTAssertEqual(ciphers[i].open(nonce: n, associatedData: a, sealed: expected[i][j]), p)
                XCTAssertEqual(ciphers[i].s2v([a, n, []]), ciphers[i].seal(nonce: n, associatedData: a, plaintext: []))
            }
            // Free one and make it again: per-packet keys do this on every packet.
            let renewed = round % keys.count
            ciphers[renewed] = siv(keys[renewed])
            // A throw-away key of the same size in between.
            _ = siv(random.bytes(keys[renewed].count)).seal(nonce: [1], associatedData: [2], plaintext: [3])
        }
    }

    /// More components than NTS uses, through both implementations.
    func testManyComponentsAgree() {
        var random = TestRandom(state: 126)
        let cipher = siv(random.bytes(32))
        for count in [0, 1, 2, 5, 126] {
            let components = (0..<count).map { _ in random.bytes(Int.random(in: 0...33, using: &random)) }
            let p = random.bytes(29)
            let sealed = cipher.seal(components: components, plaintext: p)
            XCTAssertEqual(cipher.seal(components: components, plaintext: p, path: .byHand), sealed)
            XCTAssertEqual(cipher.open(components: components, sealed: sealed), p)
            let empty = cipher.seal(components: components, plaintext: [])
            XCTAssertEqual(cipher.open(components: components, sealed: empty), [])
        }
        XCTAssertNil(cipher.open(components: Array(repeating: [1], count: 127), sealed: Array(repeating: 0, count: 16)))
    }

    // MARK: Malformed input and keys

    func testOpenOfLessThan16BytesIsNil() {
        let cipher = siv(Array(repeating: 7, count: 32))
        for length in 0..<16 {
            XCTAssertNil(cipher.open(nonce: [1], associatedData: [2], sealed: Array(repeating: 0, count: length)))
            XCTAssertNil(cipher.open(components: [], sealed: Array(repeating: 0, count: length)))
        }
        XCTAssertNil(cipher.open(nonce: [1], associatedData: [2], sealed: Array(repeating: 0, count: 16)))
    }

    func testKeyLengthsAndAlgorithmIDs() {
        for (length, id) in [(32, UInt16(15)), (48, 16), (64, 17)] {
            let cipher = siv(Array(repeating: 1, count: length))
            XCTAssertEqual(cipher.algorithm, id)
            XCTAssertEqual(cipher.keyLength, length)
        }
        for length in [0, 1, 16, 24, 31, 33, 47, 49, 63, 65, 128] {
            XCTAssertThrowsError(try AESSIV(key: Array(repeating: 1, count: length))) { error in
                XCTAssertEqual(error as? CryptoError, .invalidKeyLength(length))
            }
        }
        XCTAssertEqual(CryptoError.invalidKeyLength(5).description, "invalid key length 5")
    }

    func testFactory() {
        let factory = OpenSSLCipherFactory()
        XCTAssertEqual(factory.supportedAlgorithms, [15, 17, 16])
        XCTAssertEqual(factory.keyLength(of: 15), 32)
        XCTAssertEqual(factory.keyLength(of: 16), 48)
        XCTAssertEqual(factory.keyLength(of: 17), 64)
        XCTAssertNil(factory.keyLength(of: 30))  // AEAD_AES_128_GCM_SIV: not offered
        XCTAssertNil(factory.keyLength(of: 0))
        XCTAssertNil(factory.cipher(algorithm: 15, key: Array(repeating: 0, count: 48)))
        XCTAssertNil(factory.cipher(algorithm: 30, key: Array(repeating: 0, count: 32)))
        var random = TestRandom(state: 15)
        for id in factory.supportedAlgorithms {
            let key = random.bytes(factory.keyLength(of: id)!)
            guard let cipher = factory.cipher(algorithm: id, key: key) else { return XCTFail("no cipher for \(id)") }
            XCTAssertEqual(cipher.algorithm, id)
            let n = random.bytes(16), a = random.bytes(48), p = random.bytes(100)
            let sealed = cipher.seal(nonce: n, associatedData: a, plaintext: p)
            XCTAssertEqual(sealed, siv(key).seal(nonce: n, associatedData: a, plaintext: p))
            XCTAssertEqual(cipher.open(nonce: n, associatedData: a, sealed: sealed), p)
        }
    }

    /// The buffer forms (the packet path): the cipher's, in place, and the factory's one-shot per-packet
    /// key, all equal to the array form; refusals for short buffers, bad keys and forgeries.
    func testBufferFormsMatchTheArrayForm() {
        let factory = OpenSSLCipherFactory()
        var random = TestRandom(state: 77)
        for id in factory.supportedAlgorithms {
            let key = random.bytes(factory.keyLength(of: id)!)
            let cipher = factory.cipher(algorithm: id, key: key)!
            for length in [0, 1, 16, 68, 864] {
                let n = random.bytes(16), a = random.bytes(84), p = random.bytes(length)
                let expected = cipher.seal(nonce: n, associatedData: a, plaintext: p)
                var out = [UInt8](repeating: 0, count: 16 + length)
                var inPlace = [UInt8](repeating: 0, count: 16) + p
                var oneShot = out
                var opened = [UInt8](repeating: 0, count: length)
                n.withUnsafeBytes { n in
                    a.withUnsafeBytes { a in
                        p.withUnsafeBytes { p in
                            out.withUnsafeMutableBytes { XCTAssertEqual(cipher.seal(nonce: n, associatedData: a, plaintext: p, into: $0), 16 + length) }
                            key.withUnsafeBytes { k in
                                oneShot.withUnsafeMutableBytes {
                                    XCTAssertEqual(factory.seal(algorithm: id, key: k, nonce: n, associatedData: a, plaintext: p, into: $0), 16 + length)
                                }
                            }
                            var short = [UInt8](repeating: 0, count: 15 + length)
                            short.withUnsafeMutableBytes { XCTAssertNil(cipher.seal(nonce: n, associatedData: a, plaintext: p, into: $0)) }
                        }
                        inPlace.withUnsafeMutableBytes { buffer in
                            let plaintext = UnsafeRawBufferPointer(rebasing: buffer[16...])
                            XCTAssertEqual(cipher.seal(nonce: n, associatedData: a, plaintext: plaintext, into: buffer), 16 + length)
                        }
                        var forged = expected
                        forged[forged.count - 1] ^= 1
                        expected.withUnsafeBytes { sealed in
                            opened.withUnsafeMutableBytes { XCTAssertEqual(cipher.open(nonce: n, associatedData: a, sealed: sealed, into: $0), length) }
                            key.withUnsafeBytes { k in
                                var again = [UInt8](repeating: 0, count: length)
                                again.withUnsafeMutableBytes {
                                    XCTAssertEqual(factory.open(algorithm: id, key: k, nonce: n, associatedData: a, sealed: sealed, into: $0), length)
                                }
                                XCTAssertEqual(again, p)
                                var unused = [UInt8](repeating: 0, count: length)
                                unused.withUnsafeMutableBytes {
                                    XCTAssertNil(factory.open(algorithm: 30, key: k, nonce: n, associatedData: a, sealed: sealed, into: $0))
                                }
                            }
                        }
                        forged.withUnsafeBytes { sealed in
                            var scratch = [UInt8](repeating: 0, count: length)
                            scratch.withUnsafeMutableBytes { XCTAssertNil(cipher.open(nonce: n, associatedData: a, sealed: sealed, into: $0)) }
                        }
                    }
                }
                XCTAssertEqual(out, expected, "algorithm \(id), \(length) bytes")
                XCTAssertEqual(inPlace, expected, "in place, algorithm \(id), \(length) bytes")
                XCTAssertEqual(oneShot, expected, "one-shot key, algorithm \(id), \(length) bytes")
                XCTAssertEqual(opened, p)
            }
        }
        // A wrong key length for the algorithm is refused, not trapped.
        let short = [UInt8](repeating: 1, count: 31)
        short.withUnsafeBytes { k in
            var out = [UInt8](repeating: 0, count: 16)
            out.withUnsafeMutableBytes {
                XCTAssertNil(factory.seal(algorithm: 15, key: k, nonce: UnsafeRawBufferPointer(start: nil, count: 0),
                                          associatedData: UnsafeRawBufferPointer(start: nil, count: 0),
                                          plaintext: UnsafeRawBufferPointer(start: nil, count: 0), into: $0))
            }
        }
    }

    /// The AES-instruction blocks (x86-64 AES-NI, AES-128 keys) and EVP's blocks give the same results on
    /// every length around the 16-byte blocks and the 512-byte chunks, with one key object used along both
    /// paths in turn and more keys than the per-thread cache has slots (so hardware-keyed and EVP-keyed
    /// slots of the same key evict each other), and forgeries fail on both.
    func testAESInstructionsMatchEVPBlocks() throws {
        #if arch(x86_64)
        // On an x86-64 CPU with AES-NI the two paths must really differ, or this test compares EVP with EVP.
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ") ?? []
        XCTAssertEqual(AESSIV.usesAESInstructions, flags.contains("aes"))
        #endif
        var random = TestRandom(state: 5297)
        let ciphers = (0..<9).map { i in siv(random.bytes(Self.keySizes[i % 3])) }
        let lengths = Array(0...70) + [127, 128, 129, 511, 512, 513, 864, 1023, 1024, 1025, 1500]
        for (index, length) in lengths.enumerated() {
            let cipher = ciphers[index % ciphers.count]
            let a = random.bytes(index % 97), n = random.bytes(16), p = random.bytes(length)
            guard let hardware = cipher.seal(components: [a, n], plaintext: p, path: .byHand),
                  let evp = cipher.seal(components: [a, n], plaintext: p, path: .byHandEVP)
            else { return XCTFail("seal failed at length \(length)") }
            XCTAssertEqual(hardware, evp, "length \(length)")
            if length > 0 { XCTAssertEqual(cipher.seal(components: [a, n], plaintext: p, path: .openSSL), evp, "length \(length)") }
            XCTAssertEqual(cipher.open(components: [a, n], sealed: evp, path: .byHand), p)
            XCTAssertEqual(cipher.open(components: [a, n], sealed: hardware, path: .byHandEVP), p)
            var forged = hardware
            forged[index % forged.count] ^= 0x20
            XCTAssertNil(cipher.open(components: [a, n], sealed: forged, path: .byHand))
            XCTAssertNil(cipher.open(components: [a, n], sealed: forged, path: .byHandEVP))
        }
    }

    // MARK: Threads

    /// One cipher shared by many threads from its first use (so the lazily built OpenSSL templates are
    /// raced for), both paths, checked against results computed on one thread with another key object.
    func testSharedAcrossThreads() {
        var random = TestRandom(state: 42)
        for size in Self.keySizes {
            let key = random.bytes(size)
            let inputs = (0..<64).map { i in (random.bytes(48), random.bytes(16), random.bytes(i % 2 == 0 ? 0 : 100)) }
            let reference = siv(key)
            let expected = inputs.map { reference.seal(nonce: $0.1, associatedData: $0.0, plaintext: $0.2) }
            let shared = siv(key)
            let failures = Counter()
            DispatchQueue.concurrentPerform(iterations: 8) { worker in
                for round in 0..<200 {
                    let i = (worker * 7 + round) % inputs.count
                    let (a, n, p) = inputs[i]
                    let sealed = shared.seal(nonce: n, associatedData: a, plaintext: p)
                    if sealed != expected[i] || shared.open(nonce: n, associatedData: a, sealed: sealed) != p {
                        failures.add()
                    }
                }
            }
            XCTAssertEqual(failures.value, 0)
        }
    }

    /// What an NTS server does: receive loops on 8 threads share the master key (sealing and opening
    /// cookies) while each makes, uses and frees its per-packet keys; under ThreadSanitizer this is the
    /// race check of the per-thread caches.
    func testNTSPatternAcrossThreads() {
        var random = TestRandom(state: 8915)
        let master = siv(random.bytes(32))
        let keys = (0..<16).map { _ in random.bytes(32) }
        let cookies = keys.map { key in (random.bytes(16), master.seal(nonce: [9], associatedData: [1, 2, 3, 4], plaintext: key)) }
        let request = random.bytes(228), nonce = random.bytes(16)
        let authenticators = keys.map { siv($0).seal(nonce: nonce, associatedData: request, plaintext: []) }
        let failures = Counter()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for round in 0..<250 {
                let i = (worker * 5 + round) % keys.count
                guard let key = master.open(nonce: [9], associatedData: [1, 2, 3, 4], sealed: cookies[i].1), key == keys[i],
                    let c2s = try? AESSIV(key: key),
                    c2s.open(nonce: nonce, associatedData: request, sealed: authenticators[i]) == []
                else {
                    failures.add()
                    continue
                }
                let fresh = master.seal(nonce: cookies[i].0, associatedData: [1, 2, 3, 4], plaintext: key)
                if master.open(nonce: cookies[i].0, associatedData: [1, 2, 3, 4], sealed: fresh) != key { failures.add() }
                let s2c = try! AESSIV(key: key)
                let response = s2c.seal(nonce: nonce, associatedData: Array(request.prefix(84)), plaintext: fresh)
                if s2c.open(nonce: nonce, associatedData: Array(request.prefix(84)), sealed: response) != fresh { failures.add() }
            }
        }
        XCTAssertEqual(failures.value, 0)
    }
}

/// A thread-safe counter for the concurrency test.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
