// What both benchmarks need to run and measure the servers under test: finding programs, starting them
// with their output in a log, and reading their CPU time from /proc.
import Foundation

/// The path of a system program, or nil.
public func which(_ name: String) -> String? {
    for directory in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
        return "\(directory)/\(name)"
    }
    return nil
}

/// Starts `executable` with its standard output and error in `log`.
public func launch(_ executable: String, _ args: [String], log: String) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = args
    _ = FileManager.default.createFile(atPath: log, contents: nil)
    guard let handle = FileHandle(forWritingAtPath: log) else { throw CocoaError(.fileWriteUnknown) }
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    return process
}

/// user + system CPU seconds of a process (all its threads), from /proc/PID/stat.
public func cpuSeconds(of pid: Int32) -> Double {
    let times = cpuTimes(of: pid)
    return times.user + times.system
}

/// User and system (kernel: system calls, and the loopback packet processing they trigger) CPU seconds of
/// a process, all its threads, from /proc/PID/stat.
public func cpuTimes(of pid: Int32) -> (user: Double, system: Double) {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return (0, 0) }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    // After "pid (comm)": state is field 3, utime 14, stime 15 (1-based) -> indices 11 and 12 here.
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return (0, 0) }
    let tick = Double(sysconf(Int32(_SC_CLK_TCK)))
    return (user / tick, system / tick)
}
