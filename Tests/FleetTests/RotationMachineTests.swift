import Fleet
import NodeModels
import XCTest

/// The rotation state machines, without a node: plans from observed keys, every transition, a resume after
/// each step, an abort from each step, and the invariants (nothing irreversible before every node holds the
/// new material and a check across all nodes; an unreachable node refuses the plan).
final class RotationMachineTests: XCTestCase {
    static let names = ["ntp1", "ntp2", "ntp3"]

    static func inventory(lifetime: Double = 600) -> Inventory {
        var inventory = Inventory(sites: [.init(name: "lab")], nodes: names.enumerated().map { index, name in
            Inventory.Node(
                name: name, site: "lab", admin: SocketEndpoint(host: "127.0.0.1", port: UInt16(9000 + index)),
                ntp: SocketEndpoint(host: "127.0.0.1\(index + 1)", port: 123), ntsKE: SocketEndpoint(host: "127.0.0.1", port: UInt16(4460 + index)),
                ntsServerName: "\(name).example.net", siblings: names.filter { $0 != name })
        })
        inventory.thresholds.cookieLifetime = lifetime
        return inventory
    }

    static func keys(send: UInt32 = 1, accept: [UInt32] = [1], fileKeys: [UInt32] = [1, 2, 3], cookie: [UInt32] = [4], current: UInt32 = 4) -> AdminKeys {
        AdminKeys(
            symmetric: fileKeys.map { NodeStatus.SymmetricKey(id: $0, type: "AES128", bits: 128) },
            cookie: cookie.map { CookieKeyInfo(id: $0, state: $0 == current ? .current : .previous, createdAt: 0, ageSeconds: 0) },
            cookieRotateIntervalSeconds: nil,
            siblings: ["127.0.0.12:123", "127.0.0.13:123"].map { AdminSiblingKeys(name: $0, sendKey: send, acceptedKeys: accept, stored: []) })
    }

    static func observed(_ keys: AdminKeys = keys()) -> RotationPlanner.Observed {
        RotationPlanner.Observed(keys: Dictionary(uniqueKeysWithValues: names.map { ($0, keys) }))
    }

    func symmetricPlan() throws -> RotationPlan {
        let inventory = Self.inventory()
        return try RotationPlanner.symmetric(inventory: inventory, nodes: inventory.nodes, observed: Self.observed(), now: 1_000)
    }

    func cookiePlan() throws -> RotationPlan {
        let inventory = Self.inventory()
        return try RotationPlanner.cookie(inventory: inventory, nodes: inventory.nodes, observed: Self.observed(), now: 1_000)
    }

    func certificatePlan(previous: Bool = true) throws -> RotationPlan {
        let inventory = Self.inventory()
        let changes = Self.names.map { name in
            RotationPlan.CertificateChange(
                node: name, new: .init(chain: "\(name)-new.pem", key: "\(name)-new-key.pem", sha256: "aa"),
                previous: previous ? .init(chain: "\(name).pem", key: "\(name)-key.pem", sha256: "bb") : nil,
                requiredNames: ["DNS:\(name).example.net"], servedSha256: "bb")
        }
        let names = Dictionary(uniqueKeysWithValues: Self.names.map { ($0, ["DNS:*.example.net"]) })
        return try RotationPlanner.certificates(
            inventory: inventory, nodes: inventory.nodes, observed: Self.observed(), changes: changes, newNames: names, now: 1_000)
    }

    // MARK: Plans

    func testSymmetricPlanStagesEverywhereBeforeSwitchingAndSwitchesEverywhereBeforeRetiring() throws {
        let plan = try symmetricPlan()
        XCTAssertEqual(plan.keyChanges, [.init(site: "lab", newID: 4, type: "AES128", oldIDs: [1], nodes: Self.names)], "4: above every id any node knows")
        XCTAssertEqual(plan.previousSendKeys, ["ntp1": 1, "ntp2": 1, "ntp3": 1])
        XCTAssertEqual(plan.steps.map(\.action), [
            .checkNodes, .stageSymmetric, .stageSymmetric, .stageSymmetric, .verifySymmetricStaged,
            .activateSymmetric, .activateSymmetric, .activateSymmetric, .verifySymmetricInUse,
            .retireSymmetric(1), .retireSymmetric(1), .retireSymmetric(1),
        ])
        XCTAssertEqual(plan.firstIrreversibleStep, 9)
        try assertInvariants(plan)
        XCTAssertTrue(RotationText.plan(plan).contains("-- from here on, steps cannot be undone --\n  10. retire key 1 on ntp1"), RotationText.plan(plan))
    }

    func testSymmetricKeyIDsNeverCollide() throws {
        let inventory = Self.inventory()
        var keys = Self.keys(send: 7, accept: [5, 7], fileKeys: [1, 2, 30])
        keys.siblings?[0].stored = [.init(id: 41, type: "AES128", state: "retired", createdAt: 0, changedAt: 0)]
        let plan = try RotationPlanner.symmetric(inventory: inventory, nodes: inventory.nodes, observed: Self.observed(keys), type: "aes256", now: 0)
        XCTAssertEqual(plan.keyChanges.first?.newID, 42, "retired ids are not reused either")
        XCTAssertEqual(plan.keyChanges.first?.type, "AES256")
        XCTAssertEqual(plan.keyChanges.first?.oldIDs, [5, 7], "every key the siblings accept goes")
    }

    func testPlansAreRefusedWithAReason() throws {
        let inventory = Self.inventory()
        var observed = Self.observed()
        observed.keys["ntp2"] = nil
        observed.failures["ntp2"] = "127.0.0.1:9001: connection refused"
        XCTAssertThrowsError(try RotationPlanner.symmetric(inventory: inventory, nodes: inventory.nodes, observed: observed, now: 0)) { error in
            XCTAssertEqual("\(error)", "cannot plan: every node must answer before a rotation starts, and these did not: ntp2 (127.0.0.1:9001: connection refused). Nothing was changed.")
        }
        XCTAssertThrowsError(try RotationPlanner.symmetric(inventory: inventory, nodes: inventory.nodes, observed: Self.observed(), type: "DES", now: 0)) { error in
            XCTAssertTrue("\(error)".hasPrefix("unknown key type \"DES\""), "\(error)")
        }
        XCTAssertThrowsError(try RotationPlanner.symmetric(inventory: inventory, nodes: [inventory.nodes[0]], observed: Self.observed(), now: 0)) { error in
            XCTAssertEqual("\(error)", "ntp1 peers with ntp2, which this rotation leaves out: rotate the whole site (--site lab)")
        }
        var split = Self.keys()
        split.siblings?[1].sendKey = 3
        XCTAssertThrowsError(try RotationPlanner.symmetric(inventory: inventory, nodes: inventory.nodes, observed: Self.observed(split), now: 0)) { error in
            XCTAssertTrue("\(error)".contains("sends different keys to its siblings (1 to 127.0.0.12:123, 3 to 127.0.0.13:123)"), "\(error)")
        }
        var cookies = Self.observed()
        cookies.keys["ntp3"] = Self.keys(cookie: [4, 5], current: 5)
        XCTAssertThrowsError(try RotationPlanner.cookie(inventory: inventory, nodes: inventory.nodes, observed: cookies, now: 0)) { error in
            XCTAssertTrue("\(error)".hasPrefix("site lab: NTS cookie keys out of step (ntp1 seals with key 4, ntp2 seals with key 4, ntp3 seals with key 5)"), "\(error)")
        }
    }

    func testCookiePlanActivatesOnlyWhenStagedEverywhereAndRetiresAfterTheLifetime() throws {
        let plan = try cookiePlan()
        XCTAssertEqual(plan.keyChanges.first?.newID, 5)
        XCTAssertEqual(plan.keyChanges.first?.oldIDs, [4])
        XCTAssertEqual(plan.cookieLifetime, 600)
        XCTAssertEqual(plan.steps.map(\.action), [
            .checkNodes, .stageCookie, .stageCookie, .stageCookie, .verifyCookieStaged, .activateCookie, .activateCookie, .activateCookie,
            .verifyCookies, .waitCookieLifetime, .retireCookie(4), .retireCookie(4), .retireCookie(4), .verifyCookies,
        ])
        XCTAssertEqual(plan.firstIrreversibleStep, 5, "a node sealing with the new key cannot go back")
        try assertInvariants(plan)
    }

    /// Two sites in one rotation: each site gets its own new key (ids chosen from what that site's nodes
    /// know), each node retires only its own site's old keys, sites that seal with different cookie keys are
    /// not "out of step" with each other, and `--site` selects one whole site.
    func testTwoSitesRotateIndependentlyInOnePlan() throws {
        var inventory = Self.inventory()
        inventory.sites.append(.init(name: "edge"))
        let edge = ["ntp4", "ntp5"]
        for (index, name) in edge.enumerated() {
            inventory.nodes.append(Inventory.Node(
                name: name, site: "edge", admin: SocketEndpoint(host: "127.0.0.2", port: UInt16(9100 + index)),
                ntp: SocketEndpoint(host: "127.0.0.2\(index + 1)", port: 123), ntsKE: SocketEndpoint(host: "127.0.0.2", port: UInt16(4560 + index)),
                ntsServerName: "\(name).example.net", siblings: edge.filter { $0 != name }))
        }
        var observed = Self.observed()
        for name in edge {
            observed.keys[name] = Self.keys(send: 9, accept: [9], fileKeys: [9], cookie: [12], current: 12)
        }

        let symmetric = try RotationPlanner.symmetric(inventory: inventory, nodes: inventory.nodes, observed: observed, now: 0)
        XCTAssertEqual(symmetric.keyChanges, [
            .init(site: "lab", newID: 4, type: "AES128", oldIDs: [1], nodes: Self.names),
            .init(site: "edge", newID: 10, type: "AES128", oldIDs: [9], nodes: edge),
        ])
        XCTAssertEqual(symmetric.site, nil, "the whole fleet")
        let retires = symmetric.steps.compactMap { step -> String? in
            guard case .retireSymmetric(let id) = step.action else { return nil }
            return "\(step.node ?? "-") \(id)"
        }
        XCTAssertEqual(retires, ["ntp1 1", "ntp2 1", "ntp3 1", "ntp4 9", "ntp5 9"])
        try assertInvariants(symmetric)

        let cookie = try RotationPlanner.cookie(inventory: inventory, nodes: inventory.nodes, observed: observed, now: 0)
        XCTAssertEqual(cookie.keyChanges.map { "\($0.site) \($0.oldIDs) -> \($0.newID)" }, ["lab [4] -> 5", "edge [12] -> 13"])
        let cookieRetires = cookie.steps.compactMap { step -> String? in
            guard case .retireCookie(let id) = step.action else { return nil }
            return "\(step.node ?? "-") \(id)"
        }
        XCTAssertEqual(cookieRetires, ["ntp1 4", "ntp2 4", "ntp3 4", "ntp4 12", "ntp5 12"])
        try assertInvariants(cookie)

        let edgeOnly = try inventory.select(names: [], site: "edge")
        let one = try RotationPlanner.symmetric(inventory: inventory, nodes: edgeOnly, observed: observed, now: 0)
        XCTAssertEqual(one.site, "edge")
        XCTAssertEqual(one.nodes, edge)
        XCTAssertEqual(one.keyChanges.map(\.site), ["edge"])
    }

    func testCertificatePlanRefusesANameNotCoveredBeforeAnythingChanges() throws {
        let plan = try certificatePlan()
        XCTAssertEqual(plan.steps.map(\.action), [
            .checkNodes, .checkCertificate, .checkCertificate, .checkCertificate,
            .pushCertificate, .verifyCertificate, .pushCertificate, .verifyCertificate, .pushCertificate, .verifyCertificate,
        ])
        XCTAssertNil(plan.firstIrreversibleStep, "fleetctl holds the previous certificates: every push can be undone")
        XCTAssertEqual(try certificatePlan(previous: false).firstIrreversibleStep, 4)

        let inventory = Self.inventory()
        let change = RotationPlan.CertificateChange(
            node: "ntp2", new: .init(chain: "c", key: "k", sha256: "aa"), previous: nil, requiredNames: ["DNS:ntp2.example.net"], servedSha256: nil)
        XCTAssertThrowsError(try RotationPlanner.certificates(
            inventory: inventory, nodes: [inventory.nodes[1]], observed: Self.observed(), changes: [change],
            newNames: ["ntp2": ["DNS:ntp1.example.net", "IP:127.0.0.1"]], now: 0)
        ) { error in
            XCTAssertEqual("\(error)", "refused before anything changed: ntp2: the new certificate does not cover DNS:ntp2.example.net (it names DNS:ntp1.example.net, IP:127.0.0.1)")
        }
        XCTAssertEqual(RotationPlanner.requiredNames(for: inventory.nodes[0]), ["DNS:ntp1.example.net"])
        XCTAssertTrue(RotationPlanner.covers(["IP:::1"], "IP:0:0:0:0:0:0:0:1"))
        XCTAssertFalse(RotationPlanner.covers(["DNS:*.example.net"], "DNS:a.b.example.net"))
    }

    /// Nothing is retired anywhere before every node has the new material and a check across all nodes
    /// passed; every step before the first irreversible one can be undone.
    func assertInvariants(_ plan: RotationPlan, file: StaticString = #filePath, line: UInt = #line) throws {
        let first = try XCTUnwrap(plan.firstIrreversibleStep, file: file, line: line)
        let before = plan.steps[..<first]
        for node in plan.nodes {
            XCTAssertTrue(before.contains { ($0.action == .stageSymmetric || $0.action == .stageCookie) && $0.node == node }, "\(node) staged first", file: file, line: line)
        }
        XCTAssertTrue(before.contains { $0.node == nil && !$0.action.changesNode && $0.action != .checkNodes }, "a check across all nodes before", file: file, line: line)
        XCTAssertTrue(before.allSatisfy { $0.isReversible(in: plan) }, file: file, line: line)
        let retires = plan.steps.indices.filter {
            if case .retireSymmetric = plan.steps[$0].action { return true }
            if case .retireCookie = plan.steps[$0].action { return true }
            return false
        }
        let lastActivation = plan.steps.lastIndex { $0.action == .activateSymmetric || $0.action == .activateCookie } ?? 0
        XCTAssertTrue(retires.allSatisfy { $0 > lastActivation + 1 }, "retired only after every node switched and it was verified", file: file, line: line)
    }

    // MARK: Transitions

    func journal(_ plan: RotationPlan, done: Int, time: Double = 2_000) -> RotationJournal {
        var journal = RotationJournal(id: 1, plan: plan)
        for index in 0..<done {
            RotationMachine.record(&journal, step: index, .started, at: time)
            RotationMachine.record(&journal, step: index, .done, at: time)
        }
        return journal
    }

    func testEveryTransitionAndAResumeAfterEachStep() throws {
        for plan in [try symmetricPlan(), try cookiePlan(), try certificatePlan()] {
            for done in 0...plan.steps.count {
                var journal = journal(plan, done: done)
                let next = RotationMachine.next(journal, now: 1e9)
                guard done < plan.steps.count else {
                    XCTAssertEqual(next, .finished)
                    XCTAssertEqual(RotationMachine.phase(journal, now: 1e9), .finished)
                    continue
                }
                XCTAssertEqual(next, .take(done, plan.steps[done]), "\(plan.kind) resumes at the first step not done")
                XCTAssertEqual(RotationMachine.phase(journal, now: 1e9), .running(next: done))
                // Started, then the tool died: taken again.
                RotationMachine.record(&journal, step: done, .started, at: 3_000)
                XCTAssertEqual(RotationMachine.next(journal, now: 1e9), .take(done, plan.steps[done]))
                XCTAssertEqual(RotationMachine.phase(journal, now: 1e9), .stopped(at: done, reason: "interrupted while it was being taken"))
                // Failed: stopped there with the reason, taken again on resume.
                RotationMachine.record(&journal, step: done, .failed, at: 3_001, message: "ntp2: connection refused")
                XCTAssertEqual(RotationMachine.phase(journal, now: 1e9), .stopped(at: done, reason: "ntp2: connection refused"))
                XCTAssertTrue(RotationText.summary(journal, now: 1e9).contains("fleetctl rotate resume"))
                RotationMachine.record(&journal, step: done, .started, at: 3_002)
                RotationMachine.record(&journal, step: done, .done, at: 3_003)
                if done + 1 < plan.steps.count, plan.steps[done + 1].action != .waitCookieLifetime {
                    XCTAssertEqual(RotationMachine.next(journal, now: 1e9), .take(done + 1, plan.steps[done + 1]))
                }
            }
        }
    }

    func testCookieRetirementWaitsForTheLifetime() throws {
        let plan = try cookiePlan()
        let wait = try XCTUnwrap(plan.steps.firstIndex { $0.action == .waitCookieLifetime })
        let journal = journal(plan, done: wait, time: 5_000)
        XCTAssertEqual(RotationMachine.next(journal, now: 5_100), .wait(wait, plan.steps[wait], until: 5_600))
        XCTAssertEqual(RotationMachine.phase(journal, now: 5_100), .waiting(at: wait, until: 5_600))
        XCTAssertTrue(RotationText.summary(journal, now: 5_100).hasPrefix("waiting until 1970-01-01T01:33:20Z (8 min from now) before step 10"),
                      RotationText.summary(journal, now: 5_100))
        XCTAssertEqual(RotationMachine.next(journal, now: 5_600), .take(wait, plan.steps[wait]))
    }

    // MARK: Abort

    func testAbortFromEachStep() throws {
        for plan in [try symmetricPlan(), try cookiePlan(), try certificatePlan(), try certificatePlan(previous: false)] {
            for touched in 0..<plan.steps.count {
                var journal = journal(plan, done: touched)
                RotationMachine.record(&journal, step: touched, .started, at: 3_000)
                let irreversibleTouched = (0...touched).contains { !plan.steps[$0].isReversible(in: plan) }
                if irreversibleTouched, plan.kind != .certs {
                    XCTAssertThrowsError(try RotationAbort.plan(journal), "\(plan.kind) step \(touched)") { error in
                        XCTAssertTrue("\(error)".hasPrefix("cannot abort: these steps were taken and cannot be undone: "), "\(error)")
                        XCTAssertTrue("\(error)".hasSuffix("fleetctl rotate resume finishes the rotation"))
                    }
                    continue
                }
                let abort = try RotationAbort.plan(journal)
                // The undo of every touched step that changed a node, newest first.
                let expected = (0...touched).reversed().compactMap { plan.steps[$0].undo(in: plan) }
                XCTAssertEqual(abort.steps.filter { $0.action != .verifySymmetricRestored }, expected, "\(plan.kind) step \(touched)")
                if plan.kind == .symmetric, abort.steps.contains(where: { if case .restoreSymmetricSendKey = $0.action { true } else { false } }) {
                    let verify = try XCTUnwrap(abort.steps.firstIndex { $0.action == .verifySymmetricRestored }, "switched back everywhere before unstaging")
                    XCTAssertTrue(abort.steps[..<verify].allSatisfy { if case .restoreSymmetricSendKey = $0.action { true } else { false } })
                    XCTAssertTrue(abort.steps[(verify + 1)...].allSatisfy { $0.action == .unstageSymmetric })
                }
                if plan.kind == .certs, plan.certificates[0].previous == nil, touched >= 4 {
                    XCTAssertTrue(abort.notes.contains { $0.contains("keeps the new certificate") }, "\(abort.notes)")
                }
                if expected.isEmpty, abort.notes.isEmpty { XCTFail("an abort says what it did") }

                // The abort runs like a plan: its steps in order, then aborted; plan steps left are skipped.
                journal.abortSteps = abort.steps
                if touched + 1 < plan.steps.count { XCTAssertTrue(RotationText.status(journal, now: 0).contains("skipped")) }
                for offset in abort.steps.indices {
                    let index = plan.steps.count + offset
                    XCTAssertEqual(RotationMachine.next(journal, now: 0), .take(index, abort.steps[offset]))
                    RotationMachine.record(&journal, step: index, .started, at: 4_000)
                    RotationMachine.record(&journal, step: index, .done, at: 4_000)
                }
                XCTAssertEqual(RotationMachine.next(journal, now: 0), .aborted)
                XCTAssertThrowsError(try RotationAbort.plan(journal))
            }
        }
    }

    func testAbortBeforeAnythingChangedAndAfterTheEnd() throws {
        let plan = try symmetricPlan()
        XCTAssertEqual(try RotationAbort.plan(journal(plan, done: 1)), RotationAbort(steps: [], notes: ["nothing had changed on any node"]))
        XCTAssertThrowsError(try RotationAbort.plan(journal(plan, done: plan.steps.count))) { error in
            XCTAssertEqual("\(error)", "the rotation is finished: nothing to abort")
        }
    }

    func testTextNamesEveryStepAndNoMaterial() throws {
        let plan = try symmetricPlan()
        let text = RotationText.plan(plan)
        XCTAssertTrue(text.hasPrefix("rotation of the sibling symmetric keys of site lab: ntp1, ntp2, ntp3\n  site lab: new key 4 (AES128) replaces key 1"), text)
        XCTAssertTrue(text.contains(" 2. stage key 4 (AES128) on ntp1: accepted from its siblings, not sent yet"), text)
        XCTAssertTrue(text.contains(" 9. verify every sibling pair authenticates with key 4"), text)
        var journal = journal(plan, done: 3)
        RotationMachine.record(&journal, step: 3, .started, at: 0)
        RotationMachine.record(&journal, step: 3, .failed, at: 0, message: "ntp3: connection refused")
        let status = RotationText.status(journal, now: 0)
        XCTAssertTrue(status.contains(" 4. FAILED      stage key 4 (AES128) on ntp3: accepted from its siblings, not sent yet\n        ntp3: connection refused"), status)
        XCTAssertTrue(status.hasSuffix("stopped at step 4 on ntp3: ntp3: connection refused. Fix that, then fleetctl rotate resume (or fleetctl rotate abort)"), status)
        XCTAssertEqual(DurationText.words(86_400), "1 day")
        XCTAssertEqual(DurationText.words(9_000), "2 h 30 min")
        XCTAssertEqual(ISODate.text(1_764_670_500), "2025-12-02T10:15:00Z")
    }
}
