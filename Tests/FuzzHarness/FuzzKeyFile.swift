import NTPCore

/// One libFuzzer input: a chrony-format symmetric key file (`SymmetricKeyFile.parse`, what the node's key
/// ring loads from `[keys] file`), read from bytes as the node reads it (invalid UTF-8 replaced). Checks:
/// nothing traps; a refusal is a `SymmetricKeyFileError` on a line of the file (typed throws) whose message
/// repeats no key material; what parses has unique ids, non-empty secrets of the type's length (AES), and
/// encodes to a file that parses back to the same keys.
public func fuzzKeyFile(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: count), as: UTF8.self)
    let lines = text.utf8.reduce(1) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
    switch Result(catching: { () throws(SymmetricKeyFileError) in try SymmetricKeyFile.parse(text) }) {
    case .success(let keys):
        precondition(Set(keys.map(\.id)).count == keys.count, "a repeated key id accepted")
        precondition(keys.allSatisfy { $0.id != 0 && !$0.secret.isEmpty }, "key id 0 or an empty key accepted")
        let again = try? SymmetricKeyFile.parse(SymmetricKeyFile.encode(keys))
        precondition(again == keys, "encoding and parsing changed the keys")
    case .failure(let error):
        precondition(error.line.map { (1...lines).contains($0) } ?? false, "an error not on a line of the file: \(error)")
        // Words of 8+ characters on the offending line are candidates for key material: none may be repeated.
        // Not the id (the first word) nor a word that names a type (chrony's too: they are echoed).
        let typeNames = Set(SymmetricKeyType.allCases.map(\.rawValue) + ["SHA3-224", "SHA3-256", "SHA3-384", "SHA3-512", "TIGER", "WHIRLPOOL"])
        let line = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)[error.line! - 1]
        for word in line.split(whereSeparator: { $0 == 0x20 || (0x09...0x0D).contains($0) }).dropFirst() where word.count >= 8 {
            let secret = word.starts(with: "ASCII:".utf8) ? word.dropFirst(6) : word.starts(with: "HEX:".utf8) ? word.dropFirst(4) : word[...]
            // All digits: an id, or a number the messages quote ("1-4294967295"), not checked.
            guard secret.count >= 8, !typeNames.contains(String(decoding: word, as: UTF8.self).uppercased()),
                  !secret.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { continue }
            precondition(!error.message.utf8.elementsEqual(secret) && !error.message.contains(String(decoding: secret, as: UTF8.self)),
                         "an error message repeating a word that may be key material")
        }
    }
    return 0
}
