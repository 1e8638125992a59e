import Foundation
import NTPCore

/// Drives a `NodeStore` as fast as it can with key rotations (stage, activate, retire, for every key kind)
/// and measurement batches, announcing each write before it starts (`intent ...`) and after it committed
/// (`ack ...`). The kill -9 test runs it as `fleetnode store-exercise`, kills it at random moments and checks
/// that the reopened store holds the last acknowledged state or the one announced after it, never anything
/// else. Each step is derived from the store's content, so a restarted exerciser carries on where the
/// killed one stopped.
public enum StoreExerciser {
    /// Samples per measurement batch.
    public static let batchSize = 20

    public struct Mismatch: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs `writes` key operations (forever when nil), each followed by a measurement batch.
    public static func run(path: String, writes: Int? = nil, emit: (String) -> Void) throws {
        let store = try NodeStore(path: path)
        emit("ack keys \(try digest(store))")
        var rows = try store.sampleCount()
        emit("ack rows \(rows)")
        var done = 0
        while writes.map({ done < $0 }) ?? true {
            for kind in KeyRecord.Kind.allCases {
                var model = try store.keys(kind: kind, scope: "")
                let step = nextStep(model)
                apply(step, kind: kind, to: &model)
                var all = try KeyRecord.Kind.allCases.filter { $0 != kind }.flatMap { try store.keys(kind: $0, scope: "") }
                all += model
                let intended = digest(all)
                emit("intent keys \(intended)")
                switch step {
                case .stage(let id): try store.stageKey(kind, id: id, type: type(kind), material: material(kind, id))
                case .activate(let id): try store.activateKey(kind, id: id)
                case .retire(let id): try store.retireKey(kind, id: id)
                }
                let stored = try digest(store)
                guard stored == intended else { throw Mismatch(description: "after \(step): stored \(stored), intended \(intended)") }
                emit("ack keys \(stored)")

                emit("intent rows \(rows + batchSize)")
                let now = Date().timeIntervalSince1970
                let samples = (0..<batchSize).map { index in
                    SourceSampleRecord(source: "exercise", local: Int64(rows + index), utc: now, offset: Double(index) * 1e-6, delay: 1e-3, dispersion: 1e-6)
                }
                let update = ClockUpdateRecord(local: Int64(rows), utc: now, offset: 1e-6, rmsOffset: 1e-6, frequencyPPM: 1.5, skewPPM: 0.01,
                                               errorBound: 1e-5, source: "exercise", synchronized: true, updates: rows)
                try store.append(samples: samples, updates: [update], events: [EventRecord(at: now, kind: .source, subject: "exercise", detail: "batch")])
                rows += batchSize
                emit("ack rows \(rows)")
            }
            done += 1
        }
    }

    enum Step: CustomStringConvertible {
        case stage(Int64)
        case activate(Int64)
        case retire(Int64)
        var description: String {
            switch self {
            case .stage(let id): "stage \(id)"
            case .activate(let id): "activate \(id)"
            case .retire(let id): "retire \(id)"
            }
        }
    }

    /// The rotation cycle: stage a new key, activate it (the old one is demoted), retire the old one.
    static func nextStep(_ keys: [KeyRecord]) -> Step {
        let usable = keys.filter(\.isUsable)
        let next = (keys.map(\.id).max() ?? 0) + 1
        guard let highest = usable.map(\.id).max() else { return .stage(next) }
        guard let active = usable.first(where: { $0.state == .active }) else { return .activate(highest) }
        if let old = usable.filter({ $0.id < active.id }).map(\.id).min() { return .retire(old) }
        if let newer = usable.filter({ $0.id > active.id }).map(\.id).max() { return .activate(newer) }
        return .stage(next)
    }

    /// What the store is expected to do, on a plain array.
    static func apply(_ step: Step, kind: KeyRecord.Kind, to keys: inout [KeyRecord]) {
        switch step {
        case .stage(let id):
            keys.append(KeyRecord(kind: kind, scope: "", id: id, type: type(kind), material: material(kind, id), state: .staged, createdAt: 0, changedAt: 0))
        case .activate(let id):
            for index in keys.indices where keys[index].state == .active { keys[index].state = .staged }
            for index in keys.indices where keys[index].id == id { keys[index].state = .active }
        case .retire(let id):
            for index in keys.indices where keys[index].id == id {
                keys[index].state = .retired
                keys[index].material = Data()
            }
        }
    }

    static func type(_ kind: KeyRecord.Kind) -> String { kind == .symmetric ? "AES128" : "AES-SIV-CMAC-256" }

    static func material(_ kind: KeyRecord.Kind, _ id: Int64) -> Data {
        Data((0..<(kind == .symmetric ? 16 : 64)).map { UInt8(truncatingIfNeeded: Int(id) &* 31 &+ $0 &* 7 &+ (kind == .symmetric ? 1 : 2)) })
    }

    /// The key sets in a compact canonical form: runs of retired ids as ranges, others with state, type and
    /// the first bytes of their material. Timestamps are left out.
    public static func digest(_ store: NodeStore) throws -> String {
        digest(try KeyRecord.Kind.allCases.flatMap { try store.keys(kind: $0) })
    }

    public static func digest(_ keys: [KeyRecord]) -> String {
        KeyRecord.Kind.allCases.map { kind in
            var parts: [String] = []
            var retiredRun: (Int64, Int64)?
            func closeRun() {
                if let run = retiredRun { parts.append(run.0 == run.1 ? "r\(run.0)" : "r\(run.0)-\(run.1)") }
                retiredRun = nil
            }
            for key in keys.filter({ $0.kind == kind }).sorted(by: { ($0.scope, $0.id) < ($1.scope, $1.id) }) {
                if key.state == .retired, key.material.isEmpty {
                    if let run = retiredRun, run.1 + 1 == key.id { retiredRun = (run.0, key.id) } else { closeRun(); retiredRun = (key.id, key.id) }
                    continue
                }
                closeRun()
                let prefix = HexText.encode(Array(key.material.prefix(4)))
                parts.append("\(key.state.rawValue.prefix(1))\(key.id):\(key.type):\(prefix)")
            }
            closeRun()
            return "\(kind.rawValue)[\(parts.joined(separator: ","))]"
        }.joined(separator: ";")
    }
}
