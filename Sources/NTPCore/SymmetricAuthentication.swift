/// Legacy symmetric-key MACs on NTP packets (RFC 5905 §7.5 and Appendix A.2; RFC 8573), made and checked
/// as chrony 4.3 does (ntp_auth.c, keys.c), so chrony clients, servers and peers interoperate:
///
/// - chrony truncates MACs in NTPv4 packets to 20 bytes of digest (`NTP_MAX_V4_MAC_LENGTH`) so that
///   extension fields parse deterministically (RFC 7822): SHA256/384/512 send 20 bytes, MD5 and the
///   AES-CMACs 16, SHA1 20;
/// - in NTPv1-3 packets it sends the full MAC (up to 64 bytes), and a chrony *client* whose key's full
///   MAC does not fit NTPv4 (SHA256/384/512) sends NTPv3 requests, unless its source has `version 4`;
///   a chrony server answers in the request's version, and so must we (`mac(for:key:version:computer:)`);
/// - a MAC is accepted when its digest has exactly the expected length (the NTPv4 truncation when the
///   packet is NTPv4 and the MAC at most 24 bytes, the full length otherwise) and equal bytes.
public enum SymmetricAuthentication {
    /// The MAC trailer (key ID + digest truncated to `key.type.macLength`, as in an NTPv4 packet) for the
    /// packet bytes `message` (the header plus any extension fields before the MAC).
    public static func mac(for message: UnsafeRawBufferPointer, key: SymmetricKey, computer: some MACComputer) -> MAC {
        mac(for: message, key: key, version: 4, computer: computer)
    }

    /// The MAC trailer for a packet of NTP version `version`, as chrony makes it: the digest truncated to
    /// `key.type.macLength` in NTPv4, the full `key.type.fullMACLength` in NTPv1-3. A server answers an
    /// NTPv3 request from chrony with an SHA256 key with an NTPv3 reply and its full 32-byte digest, or
    /// chrony rejects the reply.
    public static func mac(
        for message: UnsafeRawBufferPointer, key: SymmetricKey, version: UInt8, computer: some MACComputer
    ) -> MAC {
        let length = version >= 4 ? key.type.macLength : min(key.type.fullMACLength, SymmetricKeyType.maximumMACLength)
        let full = computer.mac(key, message)
        return MAC(keyID: key.id, digest: Array(full.prefix(length)))
    }

    /// True when `mac` (as parsed from a packet, see `MAC`) authenticates `message` under `key`: the same
    /// key ID, a digest of `key.type.macLength` bytes (NTPv4) or of the full `key.type.fullMACLength`
    /// bytes (what chrony sends in NTPv3 packets and accepts in NTPv4 packets without extension fields),
    /// and equal bytes, compared in constant time. A crypto-NAK never authenticates.
    ///
    /// Without the packet's version this accepts either length in any version, slightly more than chrony
    /// (which accepts the truncated length only in NTPv4 packets and the full length in NTPv4 only with
    /// MACs longer than 24 bytes); `verify(_:message:key:version:computer:)` applies chrony's exact rule.
    public static func verify(
        _ mac: MAC, message: UnsafeRawBufferPointer, key: SymmetricKey, computer: some MACComputer
    ) -> Bool {
        let full = min(key.type.fullMACLength, SymmetricKeyType.maximumMACLength)
        guard mac.digest.count == key.type.macLength || mac.digest.count == full else { return false }
        return matches(mac, message: message, key: key, computer: computer)
    }

    /// `verify` with chrony's exact length rule (`check_symmetric_auth`): in an NTPv4 packet whose MAC is
    /// at most 24 bytes the digest must be `key.type.macLength` bytes; otherwise (NTPv1-3, or an NTPv4
    /// packet with a longer MAC and no extension fields) the full `key.type.fullMACLength`.
    public static func verify(
        _ mac: MAC, message: UnsafeRawBufferPointer, key: SymmetricKey, version: UInt8, computer: some MACComputer
    ) -> Bool {
        let truncated = version == 4 && mac.encodedLength <= MAC.keyIDLength + SymmetricKeyType.maximumV4MACLength
        let expected = truncated ? key.type.macLength : min(key.type.fullMACLength, SymmetricKeyType.maximumMACLength)
        guard mac.digest.count == expected else { return false }
        return matches(mac, message: message, key: key, computer: computer)
    }

    /// Same key ID and the digest equal to the start of the full MAC (length already checked).
    private static func matches(
        _ mac: MAC, message: UnsafeRawBufferPointer, key: SymmetricKey, computer: some MACComputer
    ) -> Bool {
        guard mac.keyID == key.id, !mac.isCryptoNAK, !mac.digest.isEmpty else { return false }
        let full = computer.mac(key, message)
        guard full.count >= mac.digest.count else { return false }
        // Constant time in the contents: every byte is looked at whatever differs (lengths are public).
        var difference: UInt8 = 0
        for index in mac.digest.indices {
            difference |= mac.digest[index] ^ full[index]
        }
        return difference == 0
    }
}
