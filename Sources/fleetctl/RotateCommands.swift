import Admin
import ArgumentParser
import Fleet
import Foundation

/// `fleetctl rotate symmetric|cookie|certs|status|resume|abort`: fleet-wide staged rotations, journaled in
/// the admin host's database before every step. Exit codes: 0 finished (or aborted), 1 waiting (resume
/// later), 2 stopped at a failed step, 3 nothing started.
struct RotateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Rotate keys and certificates across the fleet, staged, verified, resumable.",
        subcommands: [Symmetric.self, Cookie.self, Certs.self, Status.self, Resume.self, Abort.self])

    struct Options: ParsableArguments {
        @OptionGroup var inventoryOptions: InventoryOptions
        @Option(help: "Only this site (default: every site).")
        var site: String?
        @Flag(help: "Print the plan and change nothing.")
        var dryRun = false
        @Flag(name: .shortAndLong, help: "Start without asking.")
        var yes = false
    }

    struct Symmetric: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "New peering keys for the siblings: stage everywhere, switch each node, verify every pair, retire the old keys.")
        @OptionGroup var options: Options
        @Option(help: "chrony key type: AES128, AES256, SHA1, SHA256, SHA384, SHA512, MD5.")
        var type = RotationPlanner.defaultSymmetricType

        func run() async throws {
            let inventory = try options.inventoryOptions.load()
            let nodes = try RotateCommand.select(inventory, site: options.site)
            let (plan, secrets) = try await RotateCommand.planned { try await RotationSetup.symmetric(inventory: inventory, nodes: nodes, type: type) }
            try await RotateCommand.start(plan, secrets: secrets, inventory: inventory, options: options)
        }
    }

    struct Cookie: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A new NTS cookie master key per site: staged on every node, activated once all hold it, the old one retired after the cookie lifetime.")
        @OptionGroup var options: Options

        func run() async throws {
            let inventory = try options.inventoryOptions.load()
            let nodes = try RotateCommand.select(inventory, site: options.site)
            let (plan, secrets) = try await RotateCommand.planned { try await RotationSetup.cookie(inventory: inventory, nodes: nodes) }
            try await RotateCommand.start(plan, secrets: secrets, inventory: inventory, options: options)
        }
    }

    struct Certs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "New NTS-KE certificates: issued from the site CA (or --chain/--key), pushed node by node, each verified in a real handshake.")
        @OptionGroup var options: Options
        @Option(help: "Install this chain (PEM, leaf first) on every node instead of issuing one per node.")
        var chain: String?
        @Option(help: "The chain's private key (with --chain).")
        var key: String?
        @Option(help: "Certificate folder (default: pki beside the inventory).")
        var dir: String?
        @Option(help: "Days the issued certificates are valid.")
        var days = 90

        func validate() throws {
            if (chain == nil) != (key == nil) { throw ValidationError("--chain and --key go together") }
            guard (1...3650).contains(days) else { throw ValidationError("--days takes 1 to 3650") }
        }

        func run() async throws {
            let inventory = try options.inventoryOptions.load()
            let nodes = try RotateCommand.select(inventory, site: options.site)
            let pki = FleetPKI.locate(option: dir, inventoryPath: InventoryFile.locate(option: options.inventoryOptions.inventory, environment: ProcessInfo.processInfo.environment))
            let served = try await RotateCommand.planned { try await RotationSetup.observe(inventory: inventory, nodes: nodes) }
            let plan = try await RotateCommand.planned {
                try await RotationSetup.certificates(inventory: inventory, nodes: nodes) { node in
                    let previous = pki.heldPair(node.name, sha256: served.certificates[node.name]?.nts?.sha256)
                    if let chain, let key { return ((chain, key), previous) }
                    if options.dryRun { return ((pki.ntsCertificate(node.name), pki.ntsKey(node.name)), previous) }
                    return (try pki.issueForRotation(node, days: days), previous)
                }
            }
            try await RotateCommand.start(plan, secrets: [:], inventory: inventory, options: options)
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The current (or last) rotation: every step and where it stands.")
        @OptionGroup var inventoryOptions: InventoryOptions
        @Flag(help: "Print JSON for scripts.")
        var json = false

        func run() async throws {
            let inventory = try inventoryOptions.load()
            guard let journal = try RotateCommand.journal(inventory) else {
                print("no rotation recorded yet")
                return
            }
            let now = Date().timeIntervalSince1970
            if json {
                print(FleetCommandSupport.json(RotationStatusView(journal, now: now)))
            } else {
                print(RotationText.status(journal, now: now))
            }
            throw ExitCode(RotateCommand.exitCode(journal, now: now))
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Continue the unfinished rotation (or abort) from the first step not done; a failed or interrupted step is taken again.")
        @OptionGroup var inventoryOptions: InventoryOptions

        func run() async throws {
            let inventory = try inventoryOptions.load()
            let held = RotateCommand.lock(inventory)
            defer { withExtendedLifetime(held) {} }
            guard let journal = try RotateCommand.journal(inventory), try !RotateCommand.store(inventory).isOver(journal.id) else {
                print("no unfinished rotation: nothing to resume")
                return
            }
            print("resuming rotation \(journal.id): \(RotationText.summary(journal, now: Date().timeIntervalSince1970))")
            try await RotateCommand.execute(journal, inventory: inventory)
        }
    }

    struct Abort: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Roll the unfinished rotation back wherever that is still possible, and say where it is not.")
        @OptionGroup var inventoryOptions: InventoryOptions
        @Flag(name: .shortAndLong, help: "Abort without asking.")
        var yes = false

        func run() async throws {
            let inventory = try inventoryOptions.load()
            let store = try RotateCommand.store(inventory)
            let held = RotateCommand.lock(inventory)
            defer { withExtendedLifetime(held) {} }
            guard var journal = try RotateCommand.journal(inventory), try !store.isOver(journal.id) else {
                print("no unfinished rotation: nothing to abort")
                return
            }
            if !journal.isAborting {
                let abort: RotationAbort
                do {
                    abort = try RotationAbort.plan(journal)
                } catch {
                    RotateCommand.fail(error.description)
                }
                print("abort of rotation \(journal.id):")
                for step in abort.steps { print("  \(step.describe(in: journal.plan))") }
                for note in abort.notes { print("  note: \(note)") }
                try RotateCommand.confirm("Abort?", yes: yes)
                try store.setAbort(journal.id, abort)
                journal.abortSteps = abort.steps
                journal.abortNotes = abort.notes
            }
            try await RotateCommand.execute(journal, inventory: inventory)
        }
    }

    // MARK: Shared

    static func select(_ inventory: Inventory, site: String?) throws -> [Inventory.Node] {
        do {
            return try inventory.select(names: [], site: site)
        } catch {
            throw ValidationError(error.description)
        }
    }

    static func fail(_ message: String, code: Int32 = 3) -> Never {
        FileHandle.standardError.write(Data("fleetctl: \(message)\n".utf8))
        Foundation.exit(code)
    }

    /// `body`'s result, or its error as one line and exit 3 (nothing was changed).
    static func planned<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            fail("\(error)")
        }
    }

    static func store(_ inventory: Inventory) throws -> AdminHostStore {
        do {
            return try FleetCommandSupport.store(for: inventory)
        } catch {
            fail("\(error)")
        }
    }

    /// The admin host's rotation lock, held until the command ends; another fleetctl rotating is exit 3.
    static func lock(_ inventory: Inventory) -> RotationLock {
        do {
            return try RotationLock(for: store(inventory))
        } catch {
            fail("\(error)")
        }
    }

    static func journal(_ inventory: Inventory) throws -> RotationJournal? {
        do {
            return try store(inventory).currentRotation()
        } catch {
            fail("cannot read the rotation journal: \(error)")
        }
    }

    static func confirm(_ question: String, yes: Bool) throws {
        guard !yes else { return }
        guard isatty(STDIN_FILENO) == 1 else { fail("not started: add --yes to go ahead without a terminal to ask on") }
        print("\(question) [y/N] ", terminator: "")
        fflush(nil)
        guard let answer = readLine()?.lowercased(), answer == "y" || answer == "yes" else { fail("not started", code: 3) }
    }

    static func start(_ plan: RotationPlan, secrets: [String: String], inventory: Inventory, options: Options) async throws {
        print(RotationText.plan(plan))
        if options.dryRun { return }
        try confirm("Start the rotation?", yes: options.yes)
        let held = lock(inventory)
        defer { withExtendedLifetime(held) {} }
        let journal: RotationJournal
        do {
            journal = try store(inventory).beginRotation(plan, secrets: secrets)
        } catch {
            fail("\(error)")
        }
        print("rotation \(journal.id) journaled in \(try store(inventory).path)")
        try await execute(journal, inventory: inventory)
    }

    static func execute(_ journal: RotationJournal, inventory: Inventory) async throws {
        let executor = RotationExecutor(inventory: inventory, store: try store(inventory)) { line in
            print(line)
            fflush(nil)
        }
        let result: RotationJournal
        do {
            result = try await executor.run(journal)
        } catch {
            fail("\(error)", code: 2)
        }
        let now = Date().timeIntervalSince1970
        print(RotationText.summary(result, now: now))
        for note in result.abortNotes { print("note: \(note)") }
        throw ExitCode(exitCode(result, now: now))
    }

    static func exitCode(_ journal: RotationJournal, now: Double) -> Int32 {
        switch RotationMachine.phase(journal, now: now) {
        case .finished, .aborted: 0
        case .waiting, .running, .aborting: 1
        case .stopped: 2
        }
    }
}

/// `rotate status --json`.
struct RotationStatusView: Encodable {
    struct Step: Encodable {
        var number: Int
        var node: String?
        var description: String
        var state: String
        var message: String?
    }
    var id: Int64
    var kind: String
    var site: String?
    var nodes: [String]
    var phase: String
    var summary: String
    var steps: [Step]
    var notes: [String]

    init(_ journal: RotationJournal, now: Double) {
        id = journal.id
        kind = journal.plan.kind.rawValue
        site = journal.plan.site
        nodes = journal.plan.nodes
        switch RotationMachine.phase(journal, now: now) {
        case .finished: phase = "finished"
        case .aborted: phase = "aborted"
        case .running: phase = "running"
        case .aborting: phase = "aborting"
        case .waiting: phase = "waiting"
        case .stopped: phase = "stopped"
        }
        summary = RotationText.summary(journal, now: now)
        steps = journal.steps.enumerated().map { index, step in
            let state: String
            var message: String?
            switch journal.state(of: index) {
            case .pending: state = "pending"
            case .interrupted: state = "interrupted"
            case .done: state = "done"
            case .failed(let text):
                state = "failed"
                message = text
            }
            return Step(number: index + 1, node: step.node, description: step.describe(in: journal.plan), state: state, message: message)
        }
        notes = journal.abortNotes
    }
}
