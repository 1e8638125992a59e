import Admin
import ArgumentParser
import NetworkEdges
import NodeModels
import FleetCrypto
import Foundation
import NTPCore

@main
struct FleetCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleetctl",
        abstract: "Look after a fleet of time servers.",
        version: ProductVersion.current,
        subcommands: [
            HealthCommand.self, HistoryCommand.self, InventoryCommand.self, Query.self, TrackingCommand.self, SourcesCommand.self,
            SourceStatsCommand.self, ServerStatsCommand.self, NodeHealthCommand.self, GPSCommand.self, ClientsCommand.self, KeysCommand.self,
            ReloadCommand.self, ReportCommand.self, RotateCommand.self, CertsCommand.self,
        ])

    /// OpenSSL's exit cleanup is off before anything uses OpenSSL (see OpenSSLExitCleanup).
    static func main() async {
        OpenSSLExitCleanup.disable()
        await main(nil)
    }
}

struct Query: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask an NTP server for the time once and show offset, delay and what it says about itself.",
        discussion: "With --nts the query is authenticated (RFC 8915): NTS-KE on --ke-port first, then NTS-protected NTP to the server and port the NTS-KE server names.")

    @Argument(help: "Server as HOST, HOST:PORT or [IPv6]:PORT.")
    var server: String

    @Option(name: .shortAndLong, help: "Port, when SERVER does not give one.")
    var port: UInt16 = 123

    @Option(help: "Seconds to wait for the answer.")
    var timeout: Double = 2

    @Flag(help: "Print JSON for scripts.")
    var json = false

    @Flag(help: "Authenticate with NTS (RFC 8915).")
    var nts = false

    @Option(help: "NTS-KE port (with --nts).")
    var kePort: UInt16 = 4460

    @Option(help: "PEM file of trusted CA certificates for NTS-KE (default: the system store).")
    var ca: String?

    @Option(help: "Name the NTS-KE certificate must carry (default: the host).")
    var serverName: String?

    func validate() throws {
        guard timeout > 0, timeout <= 60 else { throw ValidationError("--timeout must be between 0 and 60 seconds") }
    }

    func run() async throws {
        let endpoint: SocketEndpoint
        do {
            endpoint = try SocketEndpoint(parsing: server, defaultPort: port)
        } catch {
            throw ValidationError(error.description)
        }
        do {
            if nts {
                let result = try await NTSQuery.run(
                    host: endpoint.host, kePort: kePort, serverName: serverName, trustedCertificates: ca,
                    timeoutMilliseconds: Int32(timeout * 1000))
                print(json ? try QueryReport.json(server: result.server, measurement: result.measurement, nts: result.aead)
                           : QueryReport.text(server: result.server, measurement: result.measurement, nts: result.aead))
            } else {
                let measurement = try NTPQueryClient(server: endpoint, timeoutMilliseconds: Int32(timeout * 1000)).query()
                print(json ? try QueryReport.json(server: endpoint, measurement: measurement)
                           : QueryReport.text(server: endpoint, measurement: measurement))
            }
        } catch {
            FileHandle.standardError.write(Data("fleetctl: \(endpoint): \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}
