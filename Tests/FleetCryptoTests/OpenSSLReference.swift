import CCryptoReference

/// OpenSSL's own AES-SIV and CMAC (test-only C in CCryptoReference): the independent implementation the
/// Nettle-based AESSIV and AESCMAC are cross-checked against.
enum OpenSSLReference {
    /// OpenSSL's AES-SIV with a list of associated-data components (each one S2V string; the AEAD form is
    /// `[associatedData, nonce]`). Nil when OpenSSL fails, as OpenSSL 3.0 does for an empty plaintext.
    static func sivSeal(key: [UInt8], components: [[UInt8]], plaintext: [UInt8]) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: 16 + plaintext.count)
        let ok = withFlattened(components) { concat, lengths, count in
            ref_siv_seal(key, key.count, concat, lengths, count, plaintext, plaintext.count, &out)
        }
        return ok == 1 ? out : nil
    }

    /// Opens what `sivSeal` produced; nil when not authentic (or the ciphertext is empty).
    static func sivOpen(key: [UInt8], components: [[UInt8]], sealed: [UInt8]) -> [UInt8]? {
        guard sealed.count > 16 else { return nil }
        var out = [UInt8](repeating: 0, count: sealed.count - 16)
        let ok = withFlattened(components) { concat, lengths, count in
            ref_siv_open(key, key.count, concat, lengths, count, sealed, sealed.count, &out)
        }
        return ok == 1 ? out : nil
    }

    /// OpenSSL's EVP_MAC CMAC.
    static func cmac(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        precondition(ref_cmac(key, key.count, message, message.count, &out) == 1, "OpenSSL's CMAC failed")
        return out
    }

    private static func withFlattened<R>(
        _ strings: [[UInt8]], _ body: (UnsafePointer<UInt8>?, UnsafePointer<Int>?, Int) -> R
    ) -> R {
        let concat = strings.flatMap { $0 }
        let lengths = strings.map(\.count)
        return concat.withUnsafeBufferPointer { c in
            lengths.withUnsafeBufferPointer { l in body(c.baseAddress, l.baseAddress, strings.count) }
        }
    }
}
