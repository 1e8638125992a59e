// Test support: starting real gpsd and gpsfake for tests, always under `timeout -k` (so nothing outlives
// a crashed test run by more than its limit), each in a process group of its own, with loopback ports.
import Foundation

package enum GPSDProcesses {
    /// True when the gpsd tools are installed (tests skip otherwise).
    package static var available: Bool {
        ["gpsd", "gpsfake"].allSatisfy { program in
            ["/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/", "/usr/local/sbin/", "/usr/local/bin/"].contains {
                FileManager.default.isExecutableFile(atPath: $0 + program)
            }
        }
    }

    /// Replays an NMEA log with gpsfake on 127.0.0.1:`port` (`gpsfake -q -n -1 -c CYCLE -P PORT LOG`):
    /// gpsfake feeds gpsd through a pty, one sentence every `cycle` seconds, once (-1), without waiting for a
    /// client (-n). Killed after `limit` by timeout(1) if nobody stops it first.
    package static func gpsfake(
        log: String, port: UInt16, cycle: Double, directory: TestDirectory, limit: Int = 90
    ) throws -> TestProcess {
        let logFile = directory.file("replay-\(port)-\(UInt64.random(in: 0...UInt64.max)).nmea")
        try log.write(toFile: logFile, atomically: true, encoding: .utf8)
        let cycleText = String(format: "%.4f", cycle)
        return try TestProcess(
            ["timeout", "-k", "2", "\(limit)", "gpsfake", "-q", "-n", "-1", "-c", cycleText, "-P", "\(port)", logFile],
            logPath: directory.file("gpsfake-\(port).log")
        )
    }

    /// gpsd in the foreground (-N), opening its device at once (-n), read-only (-b), serving clients on
    /// 127.0.0.1:`port`, with its control socket in `directory`, reading NMEA from a TCP feed. Unlike a pty
    /// source, a TCP source gets time service: gpsd writes the NTP SHM segments and sends TOFF reports.
    package static func gpsd(feedPort: UInt16, port: UInt16, directory: TestDirectory, limit: Int = 90) throws -> TestProcess {
        try TestProcess(
            [
                "timeout", "-k", "2", "\(limit)",
                "gpsd", "-N", "-n", "-b", "-S", "\(port)", "-F", directory.file("gpsd-\(port).sock"),
                "tcp://127.0.0.1:\(feedPort)",
            ],
            logPath: directory.file("gpsd-\(port).log")
        )
    }
}
