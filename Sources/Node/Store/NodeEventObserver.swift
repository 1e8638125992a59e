import NodeModels

/// Journal events for changes the node makes outside the store, found by comparing successive status
/// snapshots (so the NTS and key-file code need not know about the journal): the NTS certificate in use,
/// the cookie master keys, and the symmetric keys of `[keys] file`. The first snapshot is recorded as what
/// the node started with.
struct NodeEventObserver: Sendable {
    private var certificate: String?
    private var cookieKeys: Set<UInt32>?
    private var currentCookieKey: UInt32?
    private var symmetricKeys: Set<String>?

    mutating func events(_ status: NodeStatus, at utc: Double) -> [EventRecord] {
        var events: [EventRecord] = []
        if let nts = status.nts, let certificate = nts.certificate {
            let fingerprint = certificate.sha256
            if fingerprint != self.certificate {
                let detail = "\(self.certificate == nil ? "in use" : "swapped in"): sha256 \(fingerprint), valid until \(certificate.notAfter)"
                events.append(EventRecord(at: utc, kind: .certificate, subject: certificate.subject, detail: detail))
                self.certificate = fingerprint
            }
            let ids = Set(nts.cookieKeys.map(\.id))
            let current = nts.cookieKeys.first(where: \.current)?.id
            if let known = cookieKeys {
                for id in ids.subtracting(known).sorted() {
                    events.append(EventRecord(at: utc, kind: .key, subject: "cookie/\(id)", detail: "added"))
                }
                for id in known.subtracting(ids).sorted() {
                    events.append(EventRecord(at: utc, kind: .key, subject: "cookie/\(id)", detail: "dropped"))
                }
                if let current, current != currentCookieKey {
                    events.append(EventRecord(at: utc, kind: .key, subject: "cookie/\(current)", detail: "current"))
                }
            } else {
                events.append(EventRecord(at: utc, kind: .key, subject: "cookie", detail: "in use: \(ids.sorted().map(String.init).joined(separator: ", ")), current \(current.map(String.init) ?? "-")"))
            }
            cookieKeys = ids
            currentCookieKey = current
        }
        let symmetric = Set(status.symmetricKeys.map { "\($0.id) \($0.type)" })
        if let known = symmetricKeys {
            for key in symmetric.subtracting(known).sorted() {
                events.append(EventRecord(at: utc, kind: .key, subject: "symmetric-file/\(key.split(separator: " ")[0])", detail: "loaded \(key)"))
            }
            for key in known.subtracting(symmetric).sorted() {
                events.append(EventRecord(at: utc, kind: .key, subject: "symmetric-file/\(key.split(separator: " ")[0])", detail: "removed \(key)"))
            }
        } else if !symmetric.isEmpty {
            events.append(EventRecord(at: utc, kind: .key, subject: "symmetric-file", detail: "in use: \(symmetric.sorted().joined(separator: ", "))"))
        }
        symmetricKeys = symmetric
        return events
    }
}
