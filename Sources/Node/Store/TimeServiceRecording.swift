import NodeModels
import TimeCore

/// The time service's calls into its `StateRecorder`, kept here so the service itself stays about time.
extension TimeService {
    /// An accepted sample, stamped on the local timescale and with the node's UTC at that moment.
    func recordSample(_ id: SourceID, local: LocalTime, offset: Double, delay: Double = 0, dispersion: Double) {
        guard let recorder else { return }
        let utc = Double(clock.utc(atLocal: local).nanosecondsSinceEpoch) * 1e-9
        recorder.recordSample(SourceSampleRecord(source: id.name, local: local, utc: utc, offset: offset, delay: delay, dispersion: dispersion))
    }

    /// The state after an update: clock rows and source transitions.
    func recordObservation(_ status: TimekeepingStatus) {
        guard let recorder else { return }
        let local = clock.localNow()
        recorder.observe(status, local: local, utc: Double(clock.utc(atLocal: local).nanosecondsSinceEpoch) * 1e-9)
    }
}
