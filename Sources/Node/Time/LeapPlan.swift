import ConfigFile
import NodeModels
import FleetCrypto
import Foundation
import Logging
import NTPCore
import NIOConcurrencyHelpers
import TimeCore

/// The node's leap-second plan: the table from `[clock] leap_file` (IETF/NIST leap-seconds.list with its
/// SHA-1 checked, or a TZif file such as right/UTC), the sources' vote when the table cannot decide, and the
/// `LeapController` that turns them into the served leap indicator and the clock's corrections.
public final class LeapPlan: Sendable {
    private let controller: NIOLockedValueBox<LeapController>
    let file: String?
    let loadError: String?
    let expires: Int64?
    /// The table read from `leap_file`, nil without one (its dates are part of the floor).
    let loadedTable: LeapSecondTable?
    let modeName: String

    init(configuration: NodeConfig.Clock, start: Int64, logger: Logger) {
        let mode: LeapMode = switch configuration.leapMode {
        case .step: .step
        case .smear: .smear(duration: Int64(configuration.leapSmearHours * 3_600))
        }
        modeName = configuration.leapMode.rawValue
        file = configuration.leapFile
        // No entries: only the sources' vote (an empty table always validates).
        var table = try! LeapSecondTable(entries: [])
        var loadError: String?
        if let path = configuration.leapFile {
            do {
                table = try Self.load(path: path)
                logger.info("leap-second table loaded", metadata: ["file": "\(path)", "leaps": "\(table.leaps.count)", "expires": "\(table.expires.map(String.init) ?? "never")"])
                if table.isExpired(atUnix: start) {
                    logger.warning("the leap-second table has expired: update it; until then the sources' vote decides", metadata: ["file": "\(path)"])
                }
            } catch {
                loadError = "\(error)"
                logger.error("cannot use the leap-second file; the sources' vote decides", metadata: ["file": "\(path)", "error": "\(error)"])
            }
        }
        self.loadError = loadError
        loadedTable = configuration.leapFile != nil && loadError == nil ? table : nil
        expires = table.expires
        controller = NIOLockedValueBox(LeapController(table: table, mode: mode, since: start))
    }

    /// Reads `path` as TZif when it starts with the TZif magic, else as leap-seconds.list with its hash checked.
    static func load(path: String) throws -> LeapSecondTable {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LeapFileError(message: "cannot read \(path)")
        }
        return try LeapSecondFile.parse([UInt8](data), sha1: Digest.sha1.hash)
    }

    struct LeapFileError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// Updates the plan at UTC `now` with the sources' indicators; returns the indicator to serve and the
    /// corrections for the clock.
    func update(at now: UnixTime, sources: [LeapIndicator]) -> (indicator: LeapIndicator, utc: LeapAdjustment, served: LeapAdjustment) {
        controller.withLockedValue { controller in
            let indicator = controller.update(atUnix: now.seconds, sourceLeaps: sources)
            return (indicator, controller.utc, controller.served)
        }
    }

    func status(at now: UnixTime) -> TimekeepingStatus.Leap {
        let next = controller.withLockedValue { $0.nextLeap(after: now.seconds) }
        return TimekeepingStatus.Leap(
            file: file, expires: expires, expired: expires.map { $0 <= now.seconds } ?? false,
            nextLeap: next?.unix, nextLeapInsert: next?.insert, mode: modeName, note: loadError)
    }
}
