import NTPCore

/// TEST ONLY, NOT CRYPTOGRAPHY: a stand-in AEAD with the shape of AES-SIV (16-byte tag in front, then the
/// ciphertext, same length as the plaintext) so the NTS logic can be tested without real cryptography. The tag is a
/// keyed checksum over nonce, associated data and plaintext (so any tampering is detected), the
/// "encryption" a keyed XOR stream seeded by the tag. Trivially breakable; never ship it.
struct ToyCipher: AEADCipher {
    let algorithm: UInt16
    let key: [UInt8]

    static let tagLength = 16

    func seal(nonce: [UInt8], associatedData: [UInt8], plaintext: [UInt8]) -> [UInt8] {
        let tag = self.tag(nonce: nonce, associatedData: associatedData, plaintext: plaintext)
        return tag + xor(plaintext, tag: tag)
    }

    func open(nonce: [UInt8], associatedData: [UInt8], sealed: [UInt8]) -> [UInt8]? {
        guard sealed.count >= Self.tagLength else { return nil }
        let tag = Array(sealed[0..<Self.tagLength])
        let plaintext = xor(Array(sealed[Self.tagLength...]), tag: tag)
        guard self.tag(nonce: nonce, associatedData: associatedData, plaintext: plaintext) == tag else { return nil }
        return plaintext
    }

    private func tag(nonce: [UInt8], associatedData: [UInt8], plaintext: [UInt8]) -> [UInt8] {
        var lanes: (UInt64, UInt64) = (0x243F_6A88_85A3_08D3 ^ UInt64(algorithm), 0x1319_8A2E_0370_7344)
        func absorb(_ bytes: [UInt8]) {
            mix(&lanes, UInt64(bytes.count) | 0xA5A5_0000_0000_0000)
            for byte in bytes { mix(&lanes, UInt64(byte)) }
        }
        absorb(key)
        absorb(nonce)
        absorb(associatedData)
        absorb(plaintext)
        absorb(key)
        var out: [UInt8] = []
        for word in [lanes.0, lanes.1] {
            for shift in stride(from: 0, to: 64, by: 8) { out.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return out
    }

    private func mix(_ lanes: inout (UInt64, UInt64), _ value: UInt64) {
        lanes.0 = splitmix(lanes.0 ^ value)
        lanes.1 = splitmix(lanes.1 &+ lanes.0 &+ value)
    }

    private func splitmix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private func xor(_ bytes: [UInt8], tag: [UInt8]) -> [UInt8] {
        var state: UInt64 = 0
        for byte in key + tag { state = splitmix(state ^ UInt64(byte)) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var word: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            if index % 8 == 0 {
                state = splitmix(state)
                word = state
            }
            out.append(byte ^ UInt8(truncatingIfNeeded: word >> UInt64(8 * (index % 8))))
        }
        return out
    }
}

/// TEST ONLY: makes `ToyCipher`s for the AES-SIV-CMAC ids with their real key lengths.
struct ToyCipherFactory: AEADCipherFactory {
    var supportedAlgorithms: [UInt16] = [AEADAlgorithm.aesSIVCMAC256, AEADAlgorithm.aesSIVCMAC512]

    func keyLength(of algorithm: UInt16) -> Int? {
        guard supportedAlgorithms.contains(algorithm) else { return nil }
        switch algorithm {
        case AEADAlgorithm.aesSIVCMAC256: return 32
        case AEADAlgorithm.aesSIVCMAC384: return 48
        case AEADAlgorithm.aesSIVCMAC512: return 64
        default: return nil
        }
    }

    func cipher(algorithm: UInt16, key: [UInt8]) -> (any AEADCipher)? {
        guard let length = keyLength(of: algorithm), key.count == length else { return nil }
        return ToyCipher(algorithm: algorithm, key: key)
    }
}
