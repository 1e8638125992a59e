/// Why a cookie key set could not be built, rotated or parsed. `line` (1-based) is set for errors in a
/// key file.
public struct CookieKeySetError: Error, Hashable, Sendable, CustomStringConvertible {
    public var line: Int?
    public var message: String

    public init(line: Int? = nil, _ message: String) {
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "line \(line): \(message)" }
        return message
    }
}

/// The cookie master keys of a site. The newest seals new cookies; the previous `history - 1` still open
/// old ones, so a rotation never invalidates the cookies clients hold all at once (a client holding a
/// cookie sealed `history` rotations ago gets an NTS NAK and runs NTS-KE again, RFC 8915 §6).
///
/// Every node of a site holds the same set, so a cookie sealed by node A opens on node B.
public struct CookieKeySet: Hashable, Sendable, CustomStringConvertible {
    /// First line of the text format.
    public static let fileHeader = "timefleet-cookie-keys 1"

    /// Oldest first; never empty, never more than `history`.
    public private(set) var keys: [CookieKey]

    /// How many keys are kept (at least 1). Lowering it drops the oldest keys at once.
    public var history: Int {
        didSet {
            if history < 1 { history = 1 }
            trim()
        }
    }

    /// Keys oldest first (the last one is the current key). At least one key; ids unique; keys of
    /// `CookieKey.keyLength` bytes; `history` >= 1. Keys beyond `history` are dropped, oldest first.
    public init(keys: [CookieKey], history: Int = 3) throws(CookieKeySetError) {
        guard history >= 1 else { throw CookieKeySetError("history must be at least 1, not \(history)") }
        guard !keys.isEmpty else { throw CookieKeySetError("no cookie keys") }
        var seen = Set<UInt32>()
        for key in keys {
            guard key.key.count == CookieKey.keyLength else {
                throw CookieKeySetError("key \(key.id) is \(key.key.count) bytes, not \(CookieKey.keyLength)")
            }
            guard seen.insert(key.id).inserted else { throw CookieKeySetError("duplicate key id \(key.id)") }
        }
        self.keys = keys
        self.history = history
        trim()
    }

    /// The newest key: it seals every new cookie.
    public var current: CookieKey { keys[keys.count - 1] }

    public func key(id: UInt32) -> CookieKey? {
        // At most `history` (a handful of) keys: a linear scan beats hashing.
        keys.last { $0.id == id }
    }

    /// Makes `key` the current key, keeping the newest `history`. Its id must not be in the set.
    public mutating func rotate(to key: CookieKey) throws(CookieKeySetError) {
        guard key.key.count == CookieKey.keyLength else {
            throw CookieKeySetError("key \(key.id) is \(key.key.count) bytes, not \(CookieKey.keyLength)")
        }
        guard self.key(id: key.id) == nil else { throw CookieKeySetError("key id \(key.id) is already in the set") }
        keys.append(key)
        trim()
    }

    /// The id for the next key: `current.id &+ 1`, skipping ids still in the set.
    public var nextID: UInt32 {
        var id = current.id &+ 1
        while key(id: id) != nil { id &+= 1 }
        return id
    }

    /// Whether the current key is at least `interval` seconds old at `now` (Unix seconds). A clock that
    /// went backwards (now before the key's creation) does not trigger a rotation.
    public func needsRotation(now: Int64, interval: Int64) -> Bool {
        let (age, overflow) = now.subtractingReportingOverflow(current.createdAt)
        if overflow { return now > current.createdAt }
        return age >= 0 && age >= interval
    }

    private mutating func trim() {
        if keys.count > history { keys.removeFirst(keys.count - history) }
    }

    public var description: String {
        "CookieKeySet(ids: \(keys.map(\.id)), current: \(current.id), history: \(history))"
    }

    // MARK: Text format

    /// The persisted form (writing it with mode 0600 is the caller's job):
    ///
    ///     timefleet-cookie-keys 1
    ///     <id> <createdAt> <64 lowercase hex digits>
    ///
    /// one key line per key, oldest first.
    public func serialized() -> String {
        var text = Self.fileHeader + "\n"
        for key in keys {
            text += "\(key.id) \(key.createdAt) \(HexText.encode(key.key))\n"
        }
        return text
    }

    /// Parses `serialized()` output. Blank lines and lines whose first non-blank character is `#` are
    /// ignored anywhere; fields are separated by spaces or tabs; CRLF line ends are accepted. The first
    /// other line must be the header; every later one a key line. Every malformed line is an error naming
    /// its (1-based) line number.
    public init(parsing text: String, history: Int = 3) throws(CookieKeySetError) {
        var sawHeader = false
        var parsed: [CookieKey] = []
        var lineNumber = 0
        // Split on bytes: as Characters, "\r\n" is one grapheme and would not match "\n".
        for rawLine in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let words = rawLine.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") })
                .map { Substring(String(decoding: $0, as: UTF8.self)) }
            guard let first = words.first, !first.hasPrefix("#") else { continue }
            if !sawHeader {
                guard words.count == 2, words[0] == "timefleet-cookie-keys" else {
                    throw CookieKeySetError(line: lineNumber, "expected the header \"\(Self.fileHeader)\"")
                }
                guard words[1] == "1" else {
                    throw CookieKeySetError(line: lineNumber, "unsupported format version \"\(words[1])\"")
                }
                sawHeader = true
                continue
            }
            guard words.count == 3 else {
                throw CookieKeySetError(line: lineNumber, "expected \"<id> <createdAt> <64 hex digits>\", found \(words.count) fields")
            }
            guard let id = UInt32(words[0]) else {
                throw CookieKeySetError(line: lineNumber, "invalid key id \"\(words[0])\"")
            }
            guard let createdAt = Int64(words[1]) else {
                throw CookieKeySetError(line: lineNumber, "invalid creation time \"\(words[1])\"")
            }
            guard let key = HexText.decode(words[2]), key.count == CookieKey.keyLength else {
                throw CookieKeySetError(line: lineNumber, "key must be \(2 * CookieKey.keyLength) hex digits")
            }
            guard !parsed.contains(where: { $0.id == id }) else {
                throw CookieKeySetError(line: lineNumber, "duplicate key id \(id)")
            }
            parsed.append(CookieKey(id: id, key: key, createdAt: createdAt))
        }
        guard sawHeader else { throw CookieKeySetError("missing the header \"\(Self.fileHeader)\"") }
        guard !parsed.isEmpty else { throw CookieKeySetError("no cookie keys") }
        try self.init(keys: parsed, history: history)
    }
}
