import ArgumentParser
import EngramKernels
import EngramStore
import Foundation
import Hummingbird
import Logging

/// `engram serve`: runs the HTTP service.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the Engram service.")

    @Option(help: "Address to listen on (env ENGRAM_HOST; default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on (env ENGRAM_PORT; default 8080).")
    var port: Int?

    @OptionGroup var store: StoreOptions

    func run() async throws {
        Logs.bootstrap()
        let env = ProcessInfo.processInfo.environment
        let logger = Logger(label: "engram")
        BLASRuntime.configureSingleThreaded()
        logger.info("BLAS", metadata: ["kind": "\(BLASRuntime.kind.rawValue)", "details": "\(BLASRuntime.details)"])
        if BLASRuntime.kind == .reference {
            logger.warning("reference BLAS is active: search is ~4x slower; install libopenblas0-pthread")
        }
        let embedded = try EmbeddedStore(directory: store.dataDirectory, logger: logger)
        let router = Router()
        router.get("healthz") { _, _ in HealthResponse(status: "ok") }
        router.get("readyz") { _, _ -> ReadyResponse in
            let collections = try await embedded.listCollections()
            return ReadyResponse(status: "ready", store: "embedded", blas: BLASRuntime.kind.rawValue,
                                 collections: collections.count)
        }
        let resolvedHost = host ?? env["ENGRAM_HOST"] ?? "127.0.0.1"
        let resolvedPort = port ?? env["ENGRAM_PORT"].flatMap(Int.init) ?? 8080
        let app = Application(router: router, configuration: .init(address: .hostname(resolvedHost, port: resolvedPort)),
                              logger: logger)
        try await app.runService()
    }
}

struct HealthResponse: ResponseCodable {
    let status: String
}

struct ReadyResponse: ResponseCodable {
    let status: String
    let store: String
    let blas: String
    let collections: Int
}
