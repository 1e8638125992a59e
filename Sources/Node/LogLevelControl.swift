import Logging
import NIOConcurrencyHelpers

/// The node's log level, changeable at run time (SIGHUP reload) for every logger at once.
///
/// swift-log fixes a logger's level when the logger is made; this control is consulted by
/// `ControlledLogHandler` on every message instead, so one reload reaches the loggers that services already
/// hold. The executable creates one and hands it to both the logging bootstrap and the daemon.
public final class LogLevelControl: Sendable {
    private let level: NIOLockedValueBox<Logger.Level>

    public init(_ level: Logger.Level) {
        self.level = NIOLockedValueBox(level)
    }

    public var current: Logger.Level {
        get { level.withLockedValue { $0 } }
        set { level.withLockedValue { $0 = newValue } }
    }
}

/// swift-log's stream handler (standard error), with its level taken from a `LogLevelControl`.
public struct ControlledLogHandler: LogHandler {
    private var stream: StreamLogHandler
    private let control: LogLevelControl

    public init(label: String, control: LogLevelControl) {
        var stream = StreamLogHandler.standardError(label: label)
        stream.logLevel = .trace  // filtering happens here, against the control
        self.stream = stream
        self.control = control
    }

    public var logLevel: Logger.Level {
        get { control.current }
        set { control.current = newValue }
    }

    public var metadata: Logger.Metadata {
        get { stream.metadata }
        set { stream.metadata = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { stream[metadataKey: key] }
        set { stream[metadataKey: key] = newValue }
    }

    public func log(event: LogEvent) {
        stream.log(event: event)
    }
}
