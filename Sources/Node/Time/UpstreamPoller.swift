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
/// cookie jar, re-keying when cookies run out).
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
                nts = NTSTimeClient(configuration: .init(host: server.host, kePort: server.kePort, trust: trust, ciphers: NettleCipherFactory()))
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
        while !Task.isCancelled {
            service.polled(id)
            let outcome = await measure(nts: nts)
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
        case failure(String)
        /// An authentic answer from a server that is not synchronised (leap 3), or a refusal (no server
        /// listening): the source exists or not, but has no time to give now. `answered`: it answered (as
        /// opposed to a refusal, which says nothing listens there).
        case withoutTime(String, answered: Bool)
    }

    private func measure(nts: NTSTimeClient?) async -> Outcome {
        if let nts {
            do {
                return .success(try await nts.query().measurement, key: nil)
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
        return await withCheckedContinuation { [key] continuation in
            DispatchQueue.global().async {
                do {
                    continuation.resume(returning: .success(try client.query(key: key, computer: computer), key: key?.id))
                } catch {
                    if case ExchangeError.unsynchronized = error {
                        continuation.resume(returning: .withoutTime("\(error)", answered: true))
                    } else if let failure = error as? NTPQueryClient.Failure, failure.refused {
                        continuation.resume(returning: .withoutTime("\(error)", answered: false))
                    } else {
                        continuation.resume(returning: .failure("\(error)"))
                    }
                }
            }
        }
    }
}
