import Dispatch
import Foundation
import NetworkEdges
import NodeModels
import FleetCrypto
import Logging
import NTPCore
import NTSKE
import TimeCore

/// Polls one upstream NTP or NTS server, or a sibling, in client mode and files each measurement with the
/// time service.
///
/// Like chrony: `iburst` sends four requests two seconds apart at start, then the interval starts at
/// `minpoll` and doubles after eight good samples in a row, up to `maxpoll`; a failed or rejected exchange
/// halves it again (never below `minpoll`). NTS goes through the project's NTS client (key establishment,
/// cookie jar, re-keying when cookies run out). With `xleave`, the source is polled in interleaved mode when
/// the server answers so (RFC 9769 §2, ``InterleavedClient``: the per-source state lives here, between polls).
struct UpstreamPoller: Sendable {
    let server: PollTarget
    let service: TimeService
    let logger: Logger

    var id: SourceID { server.id }

    func run() async {
        var logger = logger
        logger[metadataKey: "source"] = "\(id)"
        let nts: NTSTimeClient?
        if server.nts {
            do {
                let trust = try TLSContext.client(trustedCertificates: server.ca, alpn: "ntske/1")
                nts = NTSTimeClient(configuration: .init(
                    host: server.host, kePort: server.kePort, trust: trust, ciphers: NettleCipherFactory(), xleave: server.xleave))
            } catch {
                logger.error("cannot set up NTS for this source", metadata: ["error": "\(error)"])
                service.note(id, "NTS setup failed: \(error)")
                return
            }
        } else {
            nts = nil
        }
        var poll = server.minPoll
        var good = 0
        var burst = server.iburst ? 4 : 1
        var interleave = InterleavedClient(enabled: server.xleave)
        while !Task.isCancelled {
            service.polled(id)
            let outcome = await measure(nts: nts, interleave: &interleave)
            if server.xleave {
                var statistics = interleave.statistics
                if let nts { statistics = await nts.interleaveStatistics }
                service.interleaved(id, statistics)
            }
            switch outcome {
            case .success(let measurement, let key):
                server.siblings?.replied(from: id.name, key: key)
                if service.addNetworkSample(measurement, from: id) {
                    good += 1
                    if good >= 8 && poll < server.maxPoll {
                        poll += 1
                        good = 0
                    }
                } else {
                    good = 0
                }
            case .repeated(let key):
                // An interleaved answer naming an exchange already measured: answered, but no new sample.
                server.siblings?.replied(from: id.name, key: key)
            case .withoutTime(let message, let answered):
                // The server answered unsynchronised, or nothing listens there: for a sibling, that settles the
                // start-up cross-check wait (it cannot check this node's reference clock).
                server.siblings?.failed(id.name, reason: message, reachable: answered, now: Date().timeIntervalSince1970)
                service.heardWithoutTime(id)
                good = 0
                service.note(id, message)
            case .failure(let message):
                server.siblings?.failed(id.name, reason: message, now: Date().timeIntervalSince1970)
                good = 0
                poll = max(server.minPoll, poll - 1)
                logger.debug("no sample", metadata: ["error": "\(message)"])
                service.note(id, message)
            }
            let wait: Double
            if burst > 1 {
                burst -= 1
                wait = 2
            } else {
                wait = ClientExchange.precisionSeconds(Int8(clamping: poll))
            }
            do {
                try await Task.sleep(for: .milliseconds(Int64(wait * 1000)))
            } catch {
                return
            }
        }
    }

    enum Outcome: Sendable {
        /// A measurement, and the key id its reply was authenticated with.
        case success(NTPMeasurement, key: UInt32?)
        /// A good answer without a new sample (``InterleavedClient``: it named an exchange already measured).
        case repeated(key: UInt32?)
        case failure(String)
        /// An authentic answer from a server that is not synchronised (leap 3), or a refusal (no server
        /// listening): the source exists or not, but has no time to give now. `answered`: it answered (as
        /// opposed to a refusal, which says nothing listens there).
        case withoutTime(String, answered: Bool)
    }

    private func measure(nts: NTSTimeClient?, interleave: inout InterleavedClient) async -> Outcome {
        if let nts {
            do {
                guard let result = try await nts.poll() else { return .repeated(key: nil) }
                return .success(result.measurement, key: nil)
            } catch {
                return .failure("\(error)")
            }
        }
        let client = NTPQueryClient(server: SocketEndpoint(host: server.host, port: server.port), localAddress: server.localAddress)
        var key: SymmetricKey?
        if let id = server.key() {
            // Looked up at every poll, so a reloaded key file or a key switch takes effect at the next request.
            guard let found = service.keys?.key(id) else { return .failure("key \(id) is not in the key file") }
            key = found
        }
        server.siblings?.requestSent(to: id.name)
        let computer = service.keys?.computer
        // The query blocks on its socket for up to its timeout: keep it off the cooperative pool.
        let before = interleave
        let result: (Outcome, InterleavedClient) = await withCheckedContinuation { (continuation: CheckedContinuation<(Outcome, InterleavedClient), Never>) in
            DispatchQueue.global().async { [key] in
                continuation.resume(returning: Self.query(client, key: key, computer: computer, interleave: before))
            }
        }
        interleave = result.1
        return result.0
    }

    /// One blocking exchange, in interleaved mode when `interleave` is enabled; returns the state after it.
    private static func query(
        _ client: NTPQueryClient, key: SymmetricKey?, computer: (any MACComputer)?, interleave: InterleavedClient
    ) -> (Outcome, InterleavedClient) {
        var state = interleave
        do {
            guard state.enabled else {
                return (.success(try client.query(key: key, computer: computer), key: key?.id), state)
            }
            guard let measurement = try client.query(interleaved: &state, key: key, computer: computer) else {
                return (.repeated(key: key?.id), state)
            }
            return (.success(measurement, key: key?.id), state)
        } catch {
            if case ExchangeError.unsynchronized = error {
                return (.withoutTime("\(error)", answered: true), state)
            } else if let failure = error as? NTPQueryClient.Failure, failure.refused {
                return (.withoutTime("\(error)", answered: false), state)
            }
            return (.failure("\(error)"), state)
        }
    }
}
