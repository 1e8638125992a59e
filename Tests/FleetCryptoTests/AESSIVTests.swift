import Dispatch
import XCTest

@testable import FleetCrypto
import NTPCore

// AES-SIV (RFC 5297) as the NTS AEAD, on Nettle. Known answers in the AEAD form S2V(A, N, P) that AESSIV
// computes: the vectors of Nettle's testsuite (checked there against libaes_siv and miscreant.js, among them
// an empty plaintext). Cross-checks on random inputs against OpenSSL's own AES-SIV (test-only C in
// CCryptoReference), which cannot seal an empty plaintext. The list-form vectors (RFC 5297 Appendix A, the
// NIST SIV vectors with 192- and 256-bit subkeys, miscreant's vectors without associated data and a selection
// of Project Wycheproof's aes_siv_cmac_test.json) have S2V shapes other than (A, N, P): they anchor that
// OpenSSL reference, where their plaintext is not empty.

/// Bytes from hex text (spaces ignored) through the product's one hex codec.
func hex(_ text: String) -> [UInt8] {
    guard let bytes = HexText.decode(text.filter { $0 != " " }) else { preconditionFailure("not hex: \(text)") }
    return bytes
}

extension SeededRandom {
    /// `count` bytes from the seeded generator, so failures reproduce.
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

    // MARK: Known answers in the AEAD form (Nettle's testsuite: libaes_siv and miscreant.js vectors)

    /// (key, nonce, associated data, plaintext, sealed)
    static let aeadVectors: [(key: String, nonce: String, ad: String, plaintext: String, sealed: String)] = [
        // Small nonce, no AD, no plaintext (the NTS client request's shape: the tag alone)
        ("fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 f0f1f2f3 f4f5f6f7 f8f9fafb fcfdfeff", "01", "", "",
         "c696f84f df92aba3 c31c23d5 f2087513"),
        // Small nonce, no AD, one block of plaintext
        ("fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 f0f1f2f3 f4f5f6f7 f8f9fafb fcfdfeff", "02", "",
         "00112233 44556677 8899aabb ccddeeff",
         "5027b101 589747b8 865a9790 d3fd51d7 1f259d40 5bfa260b 9ba1d60a a287fd0b"),
        // RFC 5297 A.1's key, AD and plaintext (< 16 bytes) with a nonce
        ("fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 f0f1f2f3 f4f5f6f7 f8f9fafb fcfdfeff", "02",
         "10111213 14151617 18191a1b 1c1d1e1f 20212223 24252627", "11223344 55667788 99aabbcc ddee",
         "7300cd9b 3f514a44 ed660db6 14157f59 f0382e23 ae0e6e62 27a03dd3 2619"),
        // RFC 5297 A.2's key, first AD and plaintext (> 16 bytes), short nonce
        ("7f7e7d7c 7b7a7978 77767574 73727170 40414243 44454647 48494a4b 4c4d4e4f", "020304",
         "00112233 44556677 8899aabb ccddeeff deaddada deaddada ffeeddcc bbaa9988 77665544 33221100",
         "74686973 20697320 736f6d65 20706c61 696e7465 78742074 6f20656e 63727970 74207573 696e6720 5349562d 414553",
         "f1dba33d e5b3369e 883f67b6 fc823cee a4ffb87f dba97c89 44a62325 f133b4e0 1ca55276 e2261c1a 1d1d4248 d1da30ba 52b9c8d7 955d65c8 d2ce6eb7 e367d0"),
        // RFC 5297 A.2's key, first AD, nonce and plaintext (miscreant.js aes_siv_aead)
        ("7f7e7d7c 7b7a7978 77767574 73727170 40414243 44454647 48494a4b 4c4d4e4f", "09f91102 9d74e35b d84156c5 635688c0",
         "00112233 44556677 8899aabb ccddeeff deaddada deaddada ffeeddcc bbaa9988 77665544 33221100",
         "74686973 20697320 736f6d65 20706c61 696e7465 78742074 6f20656e 63727970 74207573 696e6720 5349562d 414553",
         "85825e22 e90cf2dd da2c548d c7c1b631 0dcdaca0 cebf9dc6 cb90583f 5bf1506e 02cd4883 2b00e4e5 98b2b22a 53e6199d 4df0c166 6a35a043 3b250dc1 34d776"),
        // The same with a plaintext shorter than a block
        ("7f7e7d7c 7b7a7978 77767574 73727170 40414243 44454647 48494a4b 4c4d4e4f", "09f91102 9d74e35b d84156c5 635688c0",
         "00112233 44556677 8899aabb ccddeeff deaddada deaddada ffeeddcc bbaa9988 77665544 33221100",
         "11223344 55667788 99aabbcc ddee",
         "15f83882 14bdc94e 3ec4c7c3 69863746 cd72d317 4b20a1e4 a0894fb7 cd78"),
        // miscreant.js with no AD (a 24-byte nonce)
        ("fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 f0f1f2f3 f4f5f6f7 f8f9fafb fcfdfeff",
         "10111213 14151617 18191a1b 1c1d1e1f 20212223 24252627", "", "11223344 55667788 99aabbcc ddee",
         "4b3d0f15 ae9ffa9e 65b94942 1582ef70 e410910d 6446c775 9ebff9b5 385a"),
        // AES-SIV-CMAC-512 (dchest/siv's key)
        ("fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 6f6e6d6c 6b6a6968 67666564 63626160 f0f1f2f3 f4f5f6f7 f8f9fafb fcfdfeff 00010203 04050607 08090a0b 0c0d0e0f",
         "02", "10111213 14151617 18191a1b 1c1d1e1f 20212223 24252627", "11223344 55667788 99aabbcc ddee",
         "6f740b42 1e2972d8 5e76189e 99842843 ad9e6ff1 4ea97c32 ab315e67 464c"),
        ("c27df2fd aec35d4a 2a412a50 c3e8c47d 2d568e91 a38e5414 8abdc0b6 e86caf87 695c0a8a df4c5f8e b2c6c8b1 36529864 f3b84b3a e8e3676c e760c461 f3a13e83",
         "02", "10111213 14151617 18191a1b 1c1d1e1f 20212223 24252627", "11223344 55667788 99aabbcc ddee",
         "c3366ef8 92911eac 3d17f29a 37d4ebad ddc1219e bbde06d1 ee893e55 a39f"),
        ("c27df2fd aec35d4a 2a412a50 c3e8c47d 2d568e91 a38e5414 8abdc0b6 e86caf87 695c0a8a df4c5f8e b2c6c8b1 36529864 f3b84b3a e8e3676c e760c461 f3a13e83",
         "02", "00112233 44556677 8899aabb ccddeeff deaddada deaddada ffeeddcc bbaa9988 77665544 33221100",
         "74686973 20697320 736f6d65 20706c61 696e7465 78742074 6f20656e 63727970 74207573 696e6720 5349562d 414553",
         "bbe4751a 549d2fce 410c2efd e0df4d13 1a6eac0d 030028f8 dc16b6c4 3a557d4e 3e846ad7 52c5a030 c75a85ff 8b07ff10 71b133f5 edac3c60 8bb6eb13 dd1fd9"),
        ("c27df2fd aec35d4a 2a412a50 c3e8c47d 2d568e91 a38e5414 8abdc0b6 e86caf87 695c0a8a df4c5f8e b2c6c8b1 36529864 f3b84b3a e8e3676c e760c461 f3a13e83",
         "09f91102 9d74e35b d84156c5 635688c0",
         "00112233 44556677 8899aabb ccddeeff deaddada deaddada ffeeddcc bbaa9988 77665544 33221100",
         "74686973 20697320 736f6d65 20706c61 696e7465 78742074 6f20656e 63727970 74207573 696e6720 5349562d 414553",
         "5a979b0d a58fde80 51621ae6 bf96feda 50933da8 047bc306 fabaf0c3 d9fa8471 c70a7def 39a2f91d 68a2021c 99ac7e2a 24535a13 4ba23ec1 5787cebe 5c53cc"),
    ]

    func testAEADKnownAnswers() {
        for (index, v) in Self.aeadVectors.enumerated() {
            let cipher = siv(hex(v.key))
            let n = hex(v.nonce), a = hex(v.ad), p = hex(v.plaintext), expected = hex(v.sealed)
            XCTAssertEqual(cipher.seal(nonce: n, associatedData: a, plaintext: p), expected, "vector \(index)")
            XCTAssertEqual(cipher.open(nonce: n, associatedData: a, sealed: expected), p, "vector \(index)")
            for forged in bitFlips(expected) {
                XCTAssertNil(cipher.open(nonce: n, associatedData: a, sealed: forged), "vector \(index)")
            }
            for forged in bitFlips(n) {
                XCTAssertNil(cipher.open(nonce: forged, associatedData: a, sealed: expected), "vector \(index)")
            }
            for forged in bitFlips(a) {
                XCTAssertNil(cipher.open(nonce: n, associatedData: forged, sealed: expected), "vector \(index)")
            }
            // A and N are separate components: moving bytes between them is a different message.
            if !a.isEmpty {
                XCTAssertNil(cipher.open(nonce: n + a, associatedData: [], sealed: expected), "vector \(index)")
            }
            XCTAssertNil(cipher.open(nonce: n, associatedData: a + [0], sealed: expected), "vector \(index)")
            XCTAssertNil(cipher.open(nonce: n, associatedData: a, sealed: Array(expected.dropLast())), "vector \(index)")
            // The AEAD form is OpenSSL's list form [A, N] (where OpenSSL can seal at all).
            if !p.isEmpty {
                XCTAssertEqual(OpenSSLReference.sivSeal(key: hex(v.key), components: [a, n], plaintext: p), expected)
            }
        }
    }

    // MARK: List-form vectors, anchoring the OpenSSL reference (RFC 5297 Appendix A, NIST, miscreant, Wycheproof)

    /// RFC 5297 A.1 (S2V over one AD component and the plaintext) and A.2 (AD1, AD2, nonce, plaintext):
    /// OpenSSL's SIV, which the random-input cross-checks below compare AESSIV with, reproduces them.
    func testRFC5297VectorsAnchorTheOpenSSLReference() {
        let key1 = hex("fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 f0f1f2f3 f4f5f6f7 f8f9fafb fcfdfeff")
        let ad = hex("10111213 14151617 18191a1b 1c1d1e1f 20212223 24252627")
        let plaintext = hex("11223344 55667788 99aabbcc ddee")
        let sealed1 = hex("85632d07 c6e8f37f 950acd32 0a2ecc93 40c02b96 90c4dc04 daef7f6a fe5c")
        XCTAssertEqual(OpenSSLReference.sivSeal(key: key1, components: [ad], plaintext: plaintext), sealed1)
        XCTAssertEqual(OpenSSLReference.sivOpen(key: key1, components: [ad], sealed: sealed1), plaintext)

        let key2 = hex("7f7e7d7c 7b7a7978 77767574 73727170 40414243 44454647 48494a4b 4c4d4e4f")
        let ad1 = hex("00112233 44556677 8899aabb ccddeeff deaddada deaddada ffeeddcc bbaa9988 77665544 33221100")
        let ad2 = hex("10203040 50607080 90a0")
        let nonce = hex("09f91102 9d74e35b d84156c5 635688c0")
        let plaintext2 = hex(
            "74686973 20697320 736f6d65 20706c61 696e7465 78742074 6f20656e 63727970 74207573 696e6720 5349562d 414553")
        let sealed2 = hex(
            "7bdb6e3b 432667eb 06f4d14b ff2fbd0f cb900f2f ddbe4043 26601965 c889bf17 dba77ceb 094fa663 b7a3f748 ba8af829 ea64ad54 4a272e9c 485b62a3 fd5c0d")
        XCTAssertEqual(OpenSSLReference.sivSeal(key: key2, components: [ad1, ad2, nonce], plaintext: plaintext2), sealed2)
        XCTAssertEqual(OpenSSLReference.sivOpen(key: key2, components: [ad1, ad2, nonce], sealed: sealed2), plaintext2)
        XCTAssertNil(OpenSSLReference.sivOpen(key: key2, components: [ad2, ad1, nonce], sealed: sealed2))
    }

    /// The NIST SIV vectors with 192- and 256-bit subkeys (AEAD_AES_SIV_CMAC_384/512), list form.
    func testNISTVectorsWith384And512BitKeysAnchorTheOpenSSLReference() {
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
            let expected = hex(c.sealed)
            XCTAssertEqual(OpenSSLReference.sivSeal(key: hex(c.key), components: c.components, plaintext: c.plaintext), expected)
            XCTAssertEqual(OpenSSLReference.sivOpen(key: hex(c.key), components: c.components, sealed: expected), c.plaintext)
        }
    }

    /// miscreant's vector without associated data (S2V over the plaintext alone), list form.
    func testNoAssociatedDataVectorAnchorsTheOpenSSLReference() {
        let key = hex("fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 f0f1f2f3 f4f5f6f7 f8f9fafb fcfdfeff")
        let block = hex("00112233445566778899aabbccddeeff")
        let sealed = hex("f304f912863e303d5b540e5057c7010c942ffaf45b0e5ca5fb9a56a5263bb065")
        XCTAssertEqual(OpenSSLReference.sivSeal(key: key, components: [], plaintext: block), sealed)
        XCTAssertEqual(OpenSSLReference.sivOpen(key: key, components: [], sealed: sealed), block)
    }

    /// Wycheproof aes_siv_cmac_test.json (one AD component, list form), the cases with a message.
    func testWycheproofSelectionAnchorsTheOpenSSLReference() {
        let k32 = (0..<32).map(UInt8.init), k48 = (0..<48).map(UInt8.init), k64 = (0..<64).map(UInt8.init)
        // (tcId, key, aad, msg, ct, valid)
        let cases: [(Int, [UInt8], String, String, String, Bool)] = [
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
            (178, k48, "", "05ae1ded78b927e7bf5560571e177760",
             "0000000000000000000000000000000081460aba44a680fc6c776c00a1e94b6b", true),
            (180, k48, "", "3de1fd2ff8d5260005edbf9b59b6cf06",
             "ffffffffffffffffffffffffffffffffe8a56dbae884e990cc0df180d5e456ba", true),
            (325, k64, "", "8dbfee9580e7e2bc66100a674497f4e1",
             "000000000000000000000000000000007ef8aa7e4dd49d9cfa09e9cb574fd90d", true),
            (327, k64, "", "72543a9a07a3c18a280060653432c05c",
             "ffffffffffffffffffffffffffffffff3db09cc48f2780859351901d1014ae06", true),
        ]
        for (id, key, aadHex, msgHex, ctHex, valid) in cases {
            let aad = hex(aadHex), msg = hex(msgHex), ct = hex(ctHex)
            if valid {
                XCTAssertEqual(OpenSSLReference.sivSeal(key: key, components: [aad], plaintext: msg), ct, "tcId \(id)")
                XCTAssertEqual(OpenSSLReference.sivOpen(key: key, components: [aad], sealed: ct), msg, "tcId \(id)")
            } else {
                XCTAssertNil(OpenSSLReference.sivOpen(key: key, components: [aad], sealed: ct), "tcId \(id)")
            }
        }
    }

    // MARK: AESSIV against the OpenSSL reference

    /// The AEAD interface is exactly S2V(A, N, P): OpenSSL's list form with components [A, N].
    func testAEADInterfaceIsTheListFormWithAssociatedDataThenNonce() {
        var random = SeededRandom(seed: 5297)
        for size in Self.keySizes {
            let key = random.bytes(size)
            let cipher = siv(key)
            for plaintextLength in [0, 1, 15, 16, 17, 100] {
                let a = random.bytes(48), n = random.bytes(16), p = random.bytes(plaintextLength)
                let sealed = cipher.seal(nonce: n, associatedData: a, plaintext: p)
                if !p.isEmpty {
                    XCTAssertEqual(sealed, OpenSSLReference.sivSeal(key: key, components: [a, n], plaintext: p))
                    XCTAssertEqual(OpenSSLReference.sivOpen(key: key, components: [a, n], sealed: sealed), p)
                }
                XCTAssertEqual(cipher.open(nonce: n, associatedData: a, sealed: sealed), p)
                // Swapping A and N is a different message.
                XCTAssertNil(cipher.open(nonce: a, associatedData: n, sealed: sealed))
            }
        }
    }

    // MARK: Empty plaintext (the NTS client request)

    func testEmptyPlaintextRoundTripsForEveryKeySize() {
        var random = SeededRandom(seed: 8915)
        for size in Self.keySizes {
            let key = random.bytes(size)
            let cipher = siv(key)
            let a = random.bytes(48 + 36), n = random.bytes(16)
            let sealed = cipher.seal(nonce: n, associatedData: a, plaintext: [])
            XCTAssertEqual(sealed.count, 16)
            XCTAssertEqual(cipher.open(nonce: n, associatedData: a, sealed: sealed), [])
            XCTAssertEqual(siv(key).seal(nonce: n, associatedData: a, plaintext: []), sealed, "deterministic per key")
            XCTAssertNil(OpenSSLReference.sivSeal(key: key, components: [a, n], plaintext: []),
                         "OpenSSL 3.0's SIV cannot seal an empty plaintext: that is why AESSIV is not on OpenSSL")

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

    /// Empty associated data is a component like any other; an empty nonce is refused (RFC 5297 §6.1:
    /// N_MIN is 1 octet; Nettle requires one), never trapped on when opening (a peer's input).
    func testEmptyAssociatedDataAndEmptyNonce() {
        var random = SeededRandom(seed: 16)
        for size in Self.keySizes {
            let key = random.bytes(size)
            let cipher = siv(key)
            let n = random.bytes(16), a = random.bytes(20)
            for p in [[UInt8](), random.bytes(1), random.bytes(40)] {
                let sealed = cipher.seal(nonce: n, associatedData: [], plaintext: p)
                XCTAssertEqual(cipher.open(nonce: n, associatedData: [], sealed: sealed), p)
                if !p.isEmpty {
                    XCTAssertEqual(OpenSSLReference.sivSeal(key: key, components: [[], n], plaintext: p), sealed)
                    // An empty component still counts: dropping it changes the result.
                    XCTAssertNotEqual(sealed, OpenSSLReference.sivSeal(key: key, components: [n], plaintext: p))
                }
                // An empty nonce: refused by the buffer forms and by open, with or without associated data.
                for aa in [a, []] {
                    let good = cipher.seal(nonce: n, associatedData: aa, plaintext: p)
                    XCTAssertNil(cipher.open(nonce: [], associatedData: aa, sealed: good))
                    var out = [UInt8](repeating: 0, count: 16 + p.count)
                    aa.withUnsafeBytes { a in
                        p.withUnsafeBytes { p in
                            out.withUnsafeMutableBytes {
                                XCTAssertNil(cipher.seal(nonce: UnsafeRawBufferPointer(start: nil, count: 0), associatedData: a,
                                                         plaintext: p, into: $0))
                            }
                        }
                    }
                }
            }
        }
    }

    /// AESSIV against OpenSSL's SIV on random non-empty plaintexts, nonces of 1 to 40 bytes.
    func testMatchesOpenSSLOnRandomInputs() {
        var random = SeededRandom(seed: 0x5297)
        for size in Self.keySizes {
            for _ in 0..<1000 {
                let key = random.bytes(size)
                let cipher = siv(key)
                let a = random.bytes(Int.random(in: 0...80, using: &random))
                let n = random.bytes(Int.random(in: 1...40, using: &random))
                let p = random.bytes(Int.random(in: 1...80, using: &random))
                guard let openSSL = OpenSSLReference.sivSeal(key: key, components: [a, n], plaintext: p) else {
                    return XCTFail("OpenSSL seal failed")
                }
                XCTAssertEqual(cipher.seal(nonce: n, associatedData: a, plaintext: p), openSSL,
                               "key \(size) A \(a.count) N \(n.count) P \(p.count)")
                XCTAssertEqual(cipher.open(nonce: n, associatedData: a, sealed: openSSL), p)
                var forged = openSSL
                forged[Int.random(in: 0..<forged.count, using: &random)] ^= 1 << UInt8.random(in: 0...7, using: &random)
                XCTAssertNil(cipher.open(nonce: n, associatedData: a, sealed: forged))
                XCTAssertNil(OpenSSLReference.sivOpen(key: key, components: [a, n], sealed: forged))
            }
        }
    }

    /// Long associated data and plaintexts (several CMAC and CTR blocks, up to 3000 bytes) with lengths on
    /// and around block and 512-byte boundaries, against OpenSSL's SIV.
    func testLongInputs() {
        var random = SeededRandom(seed: 512)
        let lengths = [0, 1, 15, 16, 17, 495, 496, 497, 511, 512, 513, 528, 1023, 1024, 1025, 1535, 1536, 1537, 3000]
        for size in Self.keySizes {
            let key = random.bytes(size)
            let cipher = siv(key)
            for (k, length) in lengths.enumerated() {
                let a = random.bytes(lengths[(k * 7) % lengths.count])
                let n = random.bytes(16)
                let p = random.bytes(max(length, 1))
                guard let openSSL = OpenSSLReference.sivSeal(key: key, components: [a, n], plaintext: p) else {
                    return XCTFail("OpenSSL seal failed")
                }
                XCTAssertEqual(cipher.seal(nonce: n, associatedData: a, plaintext: p), openSSL, "key \(size) A \(a.count) P \(p.count)")
                XCTAssertEqual(cipher.open(nonce: n, associatedData: a, sealed: openSSL), p)
                // Long associated data with a one-byte plaintext.
                let long = random.bytes(length)
                XCTAssertEqual(cipher.seal(nonce: n, associatedData: long, plaintext: [7]),
                               OpenSSLReference.sivSeal(key: key, components: [long, n], plaintext: [7]), "key \(size) A \(long.count)")
                var forged = openSSL
                forged[forged.count - 1] ^= 1
                XCTAssertNil(cipher.open(nonce: n, associatedData: a, sealed: forged))
            }
        }
    }

    /// Many key objects of all sizes in use on one thread, interleaved, plus keys freed and made again (a
    /// new object may get a freed one's address): every answer must be the one OpenSSL's SIV gives.
    func testManyKeysInterleavedOnOneThread() {
        var random = SeededRandom(seed: 4)
        let keys = (0..<13).map { i in random.bytes(Self.keySizes[i % 3]) }
        let inputs = (0..<5).map { i in (random.bytes(i * 31), random.bytes(16), random.bytes(1 + i * 29)) }
        let expected = keys.map { key in
            inputs.map { OpenSSLReference.sivSeal(key: key, components: [$0.0, $0.1], plaintext: $0.2)! }
        }
        var ciphers = keys.map { siv($0) }
        for round in 0..<30 {
            for i in keys.indices where (i + round) % 4 != 0 {
                let j = (i + round) % inputs.count
                let (a, n, p) = inputs[j]
                XCTAssertEqual(ciphers[i].seal(nonce: n, associatedData: a, plaintext: p), expected[i][j], "key \(i) round \(round)")
                XCTAssertEqual(ciphers[i].open(nonce: n, associatedData: a, sealed: expected[i][j]), p)
                XCTAssertEqual(siv(keys[i]).seal(nonce: n, associatedData: a, plaintext: []),
                               ciphers[i].seal(nonce: n, associatedData: a, plaintext: []))
            }
            // Free one and make it again.
            let renewed = round % keys.count
            ciphers[renewed] = siv(keys[renewed])
            // A throw-away key of the same size in between.
            _ = siv(random.bytes(keys[renewed].count)).seal(nonce: [1], associatedData: [2], plaintext: [3])
        }
    }

    // MARK: Malformed input and keys

    func testOpenOfLessThan16BytesIsNil() {
        let cipher = siv(Array(repeating: 7, count: 32))
        for length in 0..<16 {
            XCTAssertNil(cipher.open(nonce: [1], associatedData: [2], sealed: Array(repeating: 0, count: length)))
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
        let factory = NettleCipherFactory()
        XCTAssertEqual(factory.supportedAlgorithms, [15, 17, 16])
        XCTAssertEqual(factory.keyLength(of: 15), 32)
        XCTAssertEqual(factory.keyLength(of: 16), 48)
        XCTAssertEqual(factory.keyLength(of: 17), 64)
        XCTAssertNil(factory.keyLength(of: 30))  // AEAD_AES_128_GCM_SIV: not offered
        XCTAssertNil(factory.keyLength(of: 0))
        XCTAssertNil(factory.cipher(algorithm: 15, key: Array(repeating: 0, count: 48)))
        XCTAssertNil(factory.cipher(algorithm: 30, key: Array(repeating: 0, count: 32)))
        var random = SeededRandom(seed: 15)
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
        let factory = NettleCipherFactory()
        var random = SeededRandom(seed: 77)
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
        // An empty nonce is refused by the one-shot forms too, not trapped.
        let key = [UInt8](repeating: 3, count: 32)
        let sealed = factory.cipher(algorithm: 15, key: key)!.seal(nonce: [1], associatedData: [2], plaintext: [3])
        key.withUnsafeBytes { k in
            sealed.withUnsafeBytes { s in
                var out = [UInt8](repeating: 0, count: 17)
                out.withUnsafeMutableBytes {
                    let none = UnsafeRawBufferPointer(start: nil, count: 0)
                    XCTAssertNil(factory.seal(algorithm: 15, key: k, nonce: none, associatedData: none, plaintext: none, into: $0))
                    XCTAssertNil(factory.open(algorithm: 15, key: k, nonce: none, associatedData: none, sealed: s, into: $0))
                }
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

    // MARK: Threads

    /// One cipher shared by many threads from its first use, checked against results computed on one
    /// thread with another key object.
    func testSharedAcrossThreads() {
        var random = SeededRandom(seed: 42)
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
    /// cookies) while each makes, uses and frees its per-packet keys, as key objects and through the
    /// factory's one-shot forms (the packet path); under ThreadSanitizer this is the race check.
    func testNTSPatternAcrossThreads() {
        var random = SeededRandom(seed: 8915)
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
                var oneShot = [UInt8](repeating: 0, count: response.count)
                let length = key.withUnsafeBytes { k in
                    nonce.withUnsafeBytes { n in
                        request.prefix(84).withUnsafeBytes { a in
                            fresh.withUnsafeBytes { p in
                                oneShot.withUnsafeMutableBytes {
                                    NettleCipherFactory().seal(algorithm: 15, key: k, nonce: n, associatedData: a, plaintext: p, into: $0)
                                }
                            }
                        }
                    }
                }
                if length != response.count || oneShot != response { failures.add() }
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
