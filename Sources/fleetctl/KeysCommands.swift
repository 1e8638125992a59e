import Admin
import ArgumentParser
import Foundation
import NodeModels

/// `fleetctl keys`: what keys each node holds (ids, types, states, ages; never material), and the single
/// steps of a key change on the named nodes. A staged key is drawn here once and sent to every node named,
/// so a site's nodes share it; `fleetctl rotate` runs the whole change safely.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Symmetric and NTS cookie keys: show them, or stage, activate and retire one.",
        subcommands: [Show.self, Cookie.self, Symmetric.self], defaultSubcommand: Show.self)

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The node's keys: ids, types, states and ages (never material).")
        @OptionGroup var options: AdminOptions
        func run() async throws { try await options.show(AdminPath.keys, as: AdminKeys.self, text: NodeReadViews.keys) }
    }

    struct Cookie: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "NTS cookie master keys: stage one key on every node of a site, activate it, retire the old one.",
            subcommands: [Stage.self, Activate.self, Retire.self])

        struct Stage: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Stage key ID (opens cookies, seals none) with one new key drawn here, the same on every node named.")
            @Option(help: "The key id.") var id: UInt32
            @Option(help: "A file holding the key as 64 hex digits (default: a new key from the system's CSPRNG).")
            var keyFile: String?
            @OptionGroup var options: AdminOptions
            func run() async throws {
                let hex: String
                if let keyFile {
                    guard let text = try? String(contentsOfFile: keyFile, encoding: .utf8) else {
                        throw ValidationError("cannot read \(keyFile)")
                    }
                    hex = text.trimmingCharacters(in: .whitespacesAndNewlines)
                } else {
                    hex = KeyMaterial.cookieKeyHex()
                }
                let request = CookieKeyStageRequest(id: id, key: hex)
                try await options.run({ (client: AdminClient) async throws(AdminClientError) -> CookieKeyResult in
                    try await client.send("POST", AdminPath.cookieKeyStage, body: request, as: CookieKeyResult.self)
                }, text: NodeReadViews.cookieResult)
            }
        }

        struct Activate: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Key ID starts sealing cookies; the current key becomes previous.")
            @Option(help: "The key id.") var id: UInt32
            @OptionGroup var options: AdminOptions
            func run() async throws { try await Cookie.step(AdminPath.cookieKeyActivate, id: id, options: options) }
        }

        struct Retire: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Remove staged or previous key ID (its cookies no longer open).")
            @Option(help: "The key id.") var id: UInt32
            @OptionGroup var options: AdminOptions
            func run() async throws { try await Cookie.step(AdminPath.cookieKeyRetire, id: id, options: options) }
        }

        /// POST `CookieKeyRequest(id)` to `path` on every node named.
        static func step(_ path: String, id: UInt32, options: AdminOptions) async throws {
            let request = CookieKeyRequest(id: id)
            try await options.run({ (client: AdminClient) async throws(AdminClientError) -> CookieKeyResult in
                try await client.send("POST", path, body: request, as: CookieKeyResult.self)
            }, text: NodeReadViews.cookieResult)
        }
    }

    struct Symmetric: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Siblings' symmetric keys: stage (accepted), activate (sent), retire (no longer accepted).",
            subcommands: [Stage.self, Activate.self, Retire.self])

        struct SiblingOptions: ParsableArguments {
            @Option(help: "The key id.") var id: UInt32
            @Option(help: "The siblings, as each node names them (\"192.0.2.12\" or \"192.0.2.12:1123\"), comma-separated (default: all).")
            var siblings: String?
            var names: [String]? { siblings.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } }
        }

        struct Stage: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Stage key ID as accepted from the siblings; a key not in the key files is drawn here (--type), the same for every node named.")
            @OptionGroup var key: SiblingOptions
            @Option(help: "chrony key type of a new key: AES128, AES256, SHA1, SHA256, ... (omit to use the key files' key ID).")
            var type: String?
            @OptionGroup var options: AdminOptions
            func run() async throws {
                var request = SymmetricKeyChangeRequest(id: key.id, siblings: key.names)
                if let type {
                    guard let hex = KeyMaterial.symmetricKeyHex(type: type) else {
                        throw ValidationError("--type must be one of MD5, SHA1, SHA256, SHA384, SHA512, AES128, AES256")
                    }
                    request.type = type.uppercased()
                    request.hex = hex
                }
                try await Symmetric.step(AdminPath.symmetricKeyStage, request, options: options)
            }
        }

        struct Activate: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Send key ID to the siblings.")
            @OptionGroup var key: SiblingOptions
            @OptionGroup var options: AdminOptions
            func run() async throws {
                try await Symmetric.step(AdminPath.symmetricKeyActivate, SymmetricKeyChangeRequest(id: key.id, siblings: key.names), options: options)
            }
        }

        struct Retire: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Stop accepting key ID from the siblings.")
            @OptionGroup var key: SiblingOptions
            @OptionGroup var options: AdminOptions
            func run() async throws {
                try await Symmetric.step(AdminPath.symmetricKeyRetire, SymmetricKeyChangeRequest(id: key.id, siblings: key.names), options: options)
            }
        }

        /// POST one step of a sibling key change to `path` on every node named.
        static func step(_ path: String, _ request: SymmetricKeyChangeRequest, options: AdminOptions) async throws {
            try await options.run({ (client: AdminClient) async throws(AdminClientError) -> SymmetricKeyChangeResult in
                try await client.send("POST", path, body: request, as: SymmetricKeyChangeResult.self)
            }, text: NodeReadViews.symmetricResult)
        }
    }
}
