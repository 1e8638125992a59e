/// chrony's key file (`chrony.conf(5)`, `keyfile`; what `chronyc keygen` prints), read as chrony 4.3
/// reads it (keys.c, cmdparse.c):
///
/// - one key per line: `ID [TYPE] KEY`, fields separated by white space; ID a decimal 1-4294967295; TYPE
///   one of `SymmetricKeyType` (case-sensitive, MD5 when left out); KEY `HEX:` and an even number of hex
///   digits (either case), or `ASCII:` and a string, or a bare string without white space (taken as
///   ASCII, even when it looks like hex);
/// - a line whose first non-blank character is `#`, `!`, `;` or `%` is a comment, blank lines are
///   skipped; there are no comments after a key (an ASCII key may contain `#`), so extra words are an
///   error;
/// - lines are at most 2047 characters (chrony reads them into a 2048-byte buffer);
/// - AES128/AES256 keys must be exactly 128/256 bits.
///
/// Where chrony warns and skips a line (bad line, unknown type, wrong AES length, duplicate ID), `parse`
/// throws with the line number; the message never repeats anything that could be key material.
public enum SymmetricKeyFile {
    /// chrony's limit on the length of a key file line, in bytes, without the line break.
    public static let maximumLineLength = 2047

    /// Types chrony knows (with some crypto libraries) that this implementation does not support.
    static let chronyOnlyTypes: Set<String> = ["SHA3-224", "SHA3-256", "SHA3-384", "SHA3-512", "TIGER", "WHIRLPOOL"]

    /// The keys in `text`, in file order. Throws on the first bad line or on a repeated key ID.
    public static func parse(_ text: String) throws(SymmetricKeyFileError) -> [SymmetricKey] {
        var keys: [SymmetricKey] = []
        var definedOn: [UInt32: Int] = [:]
        let bytes = Array(text.utf8)
        for (index, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            guard let key = try parseLine(line, number: number) else { continue }
            if let first = definedOn[key.id] {
                throw SymmetricKeyFileError(line: number, message: "duplicate key ID \(key.id) (first on line \(first))")
            }
            definedOn[key.id] = number
            keys.append(key)
        }
        return keys
    }

    /// One `ID TYPE HEX:...` line per key (hex digits upper case, as `chronyc keygen` writes them), each
    /// ending in a line break; `parse` reads it back to the same keys, and so does chrony.
    public static func encode(_ keys: [SymmetricKey]) -> String {
        var text = ""
        for key in keys {
            text += "\(key.id) \(key.type.rawValue) HEX:"
            text += HexText.encode(key.secret, uppercase: true)
            text += "\n"
        }
        return text
    }

    // MARK: - Lines

    /// The key on a line, nil for blank and comment lines.
    private static func parseLine(_ line: ArraySlice<UInt8>, number: Int) throws(SymmetricKeyFileError) -> SymmetricKey? {
        var content = line
        if content.last == 0x0D { content = content.dropLast() }  // CRLF files
        guard content.count <= maximumLineLength else {
            throw SymmetricKeyFileError(
                line: number, message: "line longer than \(maximumLineLength) characters (chrony's limit)")
        }
        guard !content.contains(0) else {
            throw SymmetricKeyFileError(line: number, message: "line contains a NUL character")
        }
        let words = content.split(whereSeparator: isSpace)
        guard let first = words.first else { return nil }
        if [UInt8(ascii: "#"), UInt8(ascii: "!"), UInt8(ascii: ";"), UInt8(ascii: "%")].contains(first[first.startIndex]) {
            return nil
        }
        guard words.count == 2 || words.count == 3 else {
            let found = words.count == 1 ? "only one field" : "\(words.count) fields (comments must start the line)"
            throw SymmetricKeyFileError(line: number, message: "expected `ID [TYPE] KEY`, found \(found)")
        }
        guard let id = parseID(words[0]) else {
            throw SymmetricKeyFileError(line: number, message: "invalid key ID (expected a decimal number 1-4294967295)")
        }
        let type: SymmetricKeyType
        let value: ArraySlice<UInt8>
        if words.count == 3 {
            type = try parseType(words[1], id: id, line: number)
            value = words[2]
        } else {
            type = .md5
            value = words[1]
        }
        let secret = try decodeKey(value, id: id, line: number)
        do throws(SymmetricKeyFileError) {
            return try SymmetricKey(id: id, type: type, secret: secret)
        } catch {
            throw SymmetricKeyFileError(line: number, message: error.message)
        }
    }

    /// chrony's `isspace` in the C locale.
    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }

    /// Decimal digits only (chrony's sscanf would also take `+5` or `5x`; nobody writes those).
    private static func parseID(_ word: ArraySlice<UInt8>) -> UInt32? {
        guard !word.isEmpty, word.count <= 10 else { return nil }
        var value: UInt64 = 0
        for byte in word {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + UInt64(byte - UInt8(ascii: "0"))
        }
        guard value <= UInt64(UInt32.max) else { return nil }
        // 0 is refused by SymmetricKey.init with its own message.
        return UInt32(value)
    }

    private static func parseType(_ word: ArraySlice<UInt8>, id: UInt32, line: Int) throws(SymmetricKeyFileError) -> SymmetricKeyType {
        let name = String(decoding: word, as: UTF8.self)
        if let type = SymmetricKeyType(rawValue: name) { return type }
        let supported = SymmetricKeyType.allCases.map(\.rawValue).joined(separator: ", ")
        // Only names that are themselves type names are repeated: on a malformed line the word in the
        // type position may be the secret.
        if let type = SymmetricKeyType.allCases.first(where: { $0.rawValue == name.uppercased() }) {
            throw SymmetricKeyFileError(
                line: line, message: "key \(id): unknown type (type names are case-sensitive: write \(type.rawValue))")
        }
        if chronyOnlyTypes.contains(name) {
            throw SymmetricKeyFileError(line: line, message: "key \(id): type \(name) is not supported (supported: \(supported))")
        }
        throw SymmetricKeyFileError(line: line, message: "key \(id): unknown type (supported: \(supported))")
    }

    private static func decodeKey(_ word: ArraySlice<UInt8>, id: UInt32, line: Int) throws(SymmetricKeyFileError) -> [UInt8] {
        let secret: [UInt8]
        if word.starts(with: "ASCII:".utf8) {
            secret = Array(word.dropFirst(6))
        } else if word.starts(with: "HEX:".utf8) {
            let digits = word.dropFirst(4)
            guard digits.count % 2 == 0 else {
                throw SymmetricKeyFileError(line: line, message: "key \(id): HEX key with an odd number of digits")
            }
            guard let bytes = HexText.decode(digits) else {
                throw SymmetricKeyFileError(line: line, message: "key \(id): HEX key with a character that is not a hex digit")
            }
            secret = bytes
        } else {
            secret = Array(word)
        }
        guard !secret.isEmpty else {
            throw SymmetricKeyFileError(line: line, message: "key \(id): the key is empty")
        }
        return secret
    }

}
