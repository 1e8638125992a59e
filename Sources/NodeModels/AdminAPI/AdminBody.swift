import Foundation

/// A JSON body of the admin API (request or response), shared by the node and fleetctl. Parsing never traps:
/// it throws `AdminBodyError` saying what was wrong; writing gives the bytes sent.
public protocol AdminBody: Codable, Sendable, Equatable {}

/// A body that could not be read: not JSON, or JSON of another shape.
public struct AdminBodyError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

extension AdminBody {
    /// Parses a JSON body.
    public init(json bytes: some Collection<UInt8>) throws(AdminBodyError) {
        do {
            let decoder = JSONDecoder()
            decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            self = try decoder.decode(Self.self, from: Data(bytes))
        } catch let DecodingError.keyNotFound(key, context) {
            throw AdminBodyError(message: "missing field \"\(Self.path(context.codingPath + [key]))\"")
        } catch let DecodingError.typeMismatch(type, context) {
            throw AdminBodyError(message: "field \"\(Self.path(context.codingPath))\": expected \(type)")
        } catch let DecodingError.valueNotFound(type, context) {
            throw AdminBodyError(message: "field \"\(Self.path(context.codingPath))\": expected \(type), found null")
        } catch let DecodingError.dataCorrupted(context) {
            let place = context.codingPath.isEmpty ? "" : "field \"\(Self.path(context.codingPath))\": "
            throw AdminBodyError(message: "\(place)not valid JSON for \(Self.self): \(context.debugDescription)")
        } catch {
            throw AdminBodyError(message: "not valid JSON for \(Self.self): \(error)")
        }
    }

    /// The JSON bytes (keys sorted, so equal values give equal bytes).
    public func json(pretty: Bool = false) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted] : [.sortedKeys]
        // A clock estimate that is not known yet may be infinite or NaN: JSON has no such numbers.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        // Plain structs of strings and numbers do not fail to encode; an empty object is the safe fallback.
        return (try? Array(encoder.encode(self))) ?? Array("{}".utf8)
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}

/// The body of every refused request: a message for the operator and a stable code for scripts.
public struct AdminErrorBody: AdminBody {
    /// "bad_request", "not_found", "method_not_allowed", "conflict", "unavailable", "too_large", "internal".
    public var code: String
    public var error: String
    public init(code: String, error: String) {
        self.code = code
        self.error = error
    }
}

/// `{}`: the body of a write that takes no parameters (`POST /v1/config/reload`).
public struct EmptyBody: AdminBody {
    public init() {}
}
