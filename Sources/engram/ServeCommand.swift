import ArgumentParser
import EngramAccounts
import EngramAtRest
import EngramAuth
import EngramConfig
import EngramDatabase
import EngramEmbedding
import EngramHTTP
import EngramHTTPEdge
import EngramKernels
import EngramMemory
import EngramMemoryModel
import EngramOperations
import EngramPostgres
import EngramPostgresSchema
import EngramQdrantClient
import EngramRuntime
import EngramServer
import EngramStore
import EngramStoreModel
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus

/// `engram serve`: runs the HTTP service (MCP, REST, health).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the Engram service.")

    @Option(help: "Address to listen on (env ENGRAM_HOST; default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on (env ENGRAM_PORT; default 8080).")
    var port: Int?

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Development mode: generate a JWT secret in the data directory, create a demo user and print a token.")
    var dev = false

    @Option(help: "Demo user created in dev mode.")
    var devUser = "demo"

    @Option(help: "Largest request body in bytes (bigger bodies get 413).")
    var maxBodyBytes = 1 << 20

    @Option(help: "Where memories are stored: `embedded` (default) or `qdrant://host:6333?api_key=…` for a remote Qdrant (env ENGRAM_STORE).")
    var store: String?

    @Option(
        name: .customLong("qdrant-listen"),
        help: "Qdrant-compatible API address HOST:PORT (env ENGRAM_QDRANT_LISTEN; default 127.0.0.1:6333); on only when ENGRAM_QDRANT_API_KEY is set."
    )
    var qdrantListen: String?

    @Flag(help: "Served behind a TLS-terminating proxy: send Strict-Transport-Security.")
    var behindTls = false

    @Option(
        help:
            "Proxies whose X-Forwarded-For / Forwarded headers are believed: comma-separated IPs or CIDRs (env ENGRAM_TRUSTED_PROXIES; default none)."
    )
    var trustedProxies: String?

    @Option(help: "Seconds a keep-alive connection may stay idle (env ENGRAM_IDLE_TIMEOUT; default 60).")
    var idleTimeout: Double?

    @Option(help: "Seconds to receive a request's head from its first byte (env ENGRAM_HEADER_TIMEOUT; default 10).")
    var headerTimeout: Double?

    @Option(help: "Seconds to receive a request's body after its head (env ENGRAM_BODY_TIMEOUT; default 30).")
    var bodyTimeout: Double?

    @Option(help: "Concurrent connections per client IP; trusted proxies are exempt (env ENGRAM_MAX_CONNECTIONS_PER_IP; default 64).")
    var maxConnectionsPerIp: Int?

    @Option(help: "Take a verified backup this often while serving, e.g. 24h (off by default).")
    var backupEvery: String?

    @Option(help: "Where scheduled backups go (default DATA_DIR/backups).")
    var backupDir: String?

    @Option(help: "Scheduled backups to keep.")
    var keep = 14

    @Option(help: "Search drops hits whose fused relevance is below this, 0 to 1 (env ENGRAM_SEARCH_MIN_RELEVANCE; default 0.15; 0 keeps all).")
    var minRelevance: Double?

    /// The edge flags, for `EngramConfiguration.serverLimits`.
    var edgeFlags: EngramConfiguration.EdgeFlags {
        EngramConfiguration.EdgeFlags(
            maxBodyBytes: maxBodyBytes,
            behindTLS: behindTls,
            trustedProxies: trustedProxies,
            idleTimeout: idleTimeout,
            headerTimeout: headerTimeout,
            bodyTimeout: bodyTimeout,
            maxConnectionsPerIP: maxConnectionsPerIp
        )
    }

    func run() async throws {
        let configuration = EngramConfiguration()
        try Logs.bootstrap(configuration)
        try configuration.applyKernelCaps()
        let logger = Logger(label: "engram")
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        BLASRuntime.configureSingleThreaded()
        logger.info("BLAS", metadata: ["kind": "\(BLASRuntime.kind.rawValue)", "details": "\(BLASRuntime.details)"])
        if BLASRuntime.kind == .reference {
            logger.warning("reference BLAS is active: search is ~4x slower; install libopenblas0-pthread")
        }
        let dataDirectory = configuration.dataDirectory(flag: storeOptions.dataDir)
        let edgeLimits = try configuration.serverLimits(edgeFlags)
        let searchFloor = try configuration.searchFloor(flag: minRelevance)
        let listen = try configuration.listenAddress(host: host, port: port)
        let secret: String
        do { secret = try Runtime.jwtSecret(dataDirectory: dataDirectory, dev: dev, configuration: configuration) } catch {
            logger.critical("refusing to start: \(error)")
            throw ExitCode(78)
        }
        let embedded: EmbeddedStore
        let metadata: MetadataConnection
        let location: MetadataLocation
        do {
            let cipher = try configuration.atRestCipher()
            location = try storeOptions.metadataLocation(configuration)
            // A scheduled backup of PostgreSQL metadata dumps it as the owner: refused at start, not at the first backup.
            if backupEvery != nil { _ = try location.postgresOwnerIfNeeded(for: "--backup-every") }
            embedded = try EmbeddedStore(directory: dataDirectory, cipher: cipher, logger: logger)
            // Users, members, the audit log and the memory versions: the data directory's SQLite file, or
            // PostgreSQL (migrated, role posture and key checked here).
            metadata = try await MetadataConnection.open(location, sqlite: { embedded.database }, cipher: cipher, migrate: true, logger: logger)
        } catch let problem as EncryptionKeyProblem {
            logger.critical("refusing to start: \(problem)")
            throw ExitCode(78)
        } catch let failure as any CommandFailure {
            logger.critical("refusing to start: \(failure)")
            throw ExitCode(78)
        }
        let directory = MemberDirectory(metadata: metadata.store)
        let tokens = await TokenService(secret: secret)
        let setup = try await Runtime.embedder(logger: logger, dataDirectory: dataDirectory, configuration: configuration)
        // Memories live in the embedded store or a remote Qdrant; users, members and the audit
        // log always stay in the local database.
        let storeURL = configuration.storeSpec(flag: store)
        let memoryStore: any VectorStore
        var remoteStore: QdrantRemoteStore?
        var probe: (@Sendable () async -> String?)?
        if storeURL == "embedded" {
            memoryStore = embedded
        } else {
            let remote = try QdrantRemoteStore(url: storeURL, apiKey: configuration.qdrantRemoteAPIKey, logger: logger)
            remoteStore = remote
            memoryStore = remote
            probe = {
                do {
                    _ = try await remote.listCollections()
                    return nil
                } catch { return "remote Qdrant unreachable" }
            }
            logger.info("memories are stored in a remote Qdrant", metadata: ["host": "\(remote.baseURL.host ?? "?")"])
        }
        if let engine = metadata.engine {
            // Ready only while the metadata store answers (a read of its migration record).
            let remoteProbe = probe
            let migrator = try PostgresMigrator()
            probe = {
                if let failure = await remoteProbe?() { return failure }
                do {
                    _ = try await migrator.pending(engine)
                    return nil
                } catch { return "PostgreSQL metadata store unreachable" }
            }
        }
        let memories: MemoryService
        do {
            memories = try await MemoryStores.open(
                store: memoryStore,
                location: storeURL == "embedded" ? "the data directory \(dataDirectory.path)" : "the remote Qdrant store",
                dataDirectory: dataDirectory,
                setup: setup,
                mode: .readWrite,
                requiresReview: { org in (try? await directory.organisation(org)?.requireReview) ?? false },
                audit: AuditLog(metadata: metadata.store),
                database: metadata.store,
                minRelevance: searchFloor,
                secretsNeedKey: !dev,
                logger: logger
            )
        } catch let failure as Runtime.Failure {
            logger.critical("refusing to start: \(failure)")
            throw ExitCode(78)
        }
        let accounts = AccountService(
            metadata: metadata.store,
            directory: directory,
            audit: AuditLog(metadata: metadata.store),
            tokens: tokens,
            totpBox: try configuration.totpBox(dev: dev, jwtSecret: secret),
            settings: try configuration.accountSettings()
        )
        let oauth = OAuthService(
            metadata: metadata.store,
            directory: directory,
            audit: AuditLog(metadata: metadata.store),
            tokens: tokens,
            settings: try configuration.oauthSettings(),
            clientMetadata: try configuration.clientMetadataDocuments(logger: logger)
        )
        let services = try ServerServices(
            memories: memories,
            directory: directory,
            tokens: tokens,
            limits: edgeLimits,
            readiness: ReadinessInfo(
                store: storeURL == "embedded" ? "embedded" : "qdrant",
                probe: probe,
                embedder: setup.embedder?.modelID ?? "none (BM25-only)",
                blas: BLASRuntime.kind.rawValue,
                kernels: ["int8_scan": VectorMatrix.quantizedKernel, "minilm_sgemm": MiniLMEmbedder.projectionKernel],
                mode: dev ? "dev" : "production",
                encryption: embedded.database.cipher.map { "on (key \($0.current.id))" } ?? "off",
                metadata: metadata.engine == nil ? "sqlite" : "postgres"
            ),
            metrics: registry,
            logger: logger,
            accounts: accounts,
            oauth: oauth,
            publicURL: configuration.publicURL,
            // Replicas on one PostgreSQL database share the write and failure limits (connection caps stay per replica).
            sharedRateBuckets: metadata.engine.map { PostgresSharedRateBuckets(engine: $0, logger: logger) }
        )
        // Replicas on one PostgreSQL database sweep and back up one at a time.
        let runner: any SingleRunner = metadata.engine.map { PostgresSingleRunner(engine: $0) } ?? LocalRunner()
        let (resolvedHost, resolvedPort) = listen
        if dev {
            try await directory.upsertMember(userId: devUser, orgId: devUser, role: .owner)
            let (token, _) = try await tokens.issue(for: Principal(userId: devUser, orgId: devUser, role: .owner))
            let base = configuration.publicURL ?? "http://\(resolvedHost):\(resolvedPort)"
            let url = "\(base)/mcp/\(devUser)"
            // A browser sign-in for the demo user: a link to set the password, until one is set.
            var passwordLine = "The demo user has a password: sign in at \(base)/signin"
            if try await !accounts.hasPassword(userId: devUser) {
                let link = try await accounts.issueResetLink(for: devUser, by: nil, lifetime: 7 * 86_400)
                passwordLine = "Set the demo user's password (link valid 7 days, single use): \(link.url(base: base, kind: .reset))"
            }
            // Written unbuffered so it shows at once even when stdout is a pipe.
            FileHandle.standardOutput.write(
                Data(
                    """

                    Engram is starting in dev mode (data in \(dataDirectory.path)).
                    Demo user: \(devUser) (owner of org \(devUser)). Token (30 days):

                    \(token)

                    Connect Claude Code:

                    claude mcp add --transport http engram \(url) --header "Authorization: Bearer \(token)"

                    \(passwordLine)
                    Then create your own tokens on \(base)/me and review org memories on \(base)/admin.


                    """.utf8
                )
            )
        }
        var backupTask: Task<Void, Never>?
        if let backupEvery {
            guard let every = DurationText.parse(backupEvery) else { throw ValidationError("--backup-every takes e.g. 30m, 24h, 7d") }
            let root = URL(fileURLWithPath: backupDir ?? dataDirectory.appendingPathComponent("backups").path)
            try PrivateFiles.makeDirectory(root)
            backupTask = Task {
                await BackupSchedule.run(
                    database: embedded.database.pool,
                    root: root,
                    every: every,
                    keep: keep,
                    logger: logger,
                    postgresOwner: location.ownerIfPostgres,
                    runner: runner
                )
            }
            logger.info("scheduled backups on", metadata: ["every": "\(backupEvery)", "keep": "\(keep)", "dir": "\(root.path)"])
        }
        defer { backupTask?.cancel() }
        let sweepEvery = try configuration.sweepInterval()
        let lifecycleTask = Task { await LifecycleSchedule.run(memories: memories, sweepEvery: sweepEvery, runner: runner, logger: logger) }
        defer { lifecycleTask.cancel() }
        // Replicas on one PostgreSQL database follow each other's writes (one process owns a SQLite file).
        var followTask: Task<Void, Never>?
        if metadata.engine != nil {
            let every = try configuration.followInterval()
            followTask = Task { await memories.followChanges(every: every) }
            logger.info("following the change feed of other replicas", metadata: ["every": "\(every)"])
        }
        defer { followTask?.cancel() }
        // Store writes left by a crashed writer (or refused by the store) are finished from their recorded
        // versions: at once on SQLite, whose earlier writers are gone; after the lease on PostgreSQL.
        if metadata.engine == nil {
            do {
                let finished = try await memories.reconcileOutbox(olderThan: 0)
                if finished > 0 { logger.notice("outbox: finished interrupted store writes", metadata: ["count": "\(finished)"]) }
            } catch {
                // Not fatal: the outbox keeps the rows and the background pass retries them.
                logger.warning("outbox: interrupted store writes not finished at start-up; retrying", metadata: ["error": "\(type(of: error))"])
            }
        }
        let outboxTask = Task {
            await memories.maintainOutbox(every: .seconds(1)) { body in _ = try await runner.run(.reconcile) { try await body() } }
        }
        defer { outboxTask.cancel() }
        // Collections rebuilt at this start (after a crash, or points changed since the last clean stop)
        // get their segment files now, so the next start maps them even if this process is killed.
        let segmentTask = Task {
            do {
                try await embedded.persistSegments()
            } catch {
                logger.warning("segments not written at start-up", metadata: ["error": "\(type(of: error))"])
            }
        }
        let app = EngramHTTPServer.application(services: services, host: resolvedHost, port: resolvedPort)
        // Once the server has drained, the loops that read the engines stop before the engines close (they
        // would otherwise report a closed connection as an unreachable database).
        let followTaskToStop = followTask
        let stopBackgroundWork = {
            backupTask?.cancel()
            lifecycleTask.cancel()
            followTaskToStop?.cancel()
            outboxTask.cancel()
            await followTaskToStop?.value
            await outboxTask.value
            // Its last served-log flush ends before the one below starts (a sweep under way finishes).
            await lifecycleTask.value
        }
        do {
            try await QdrantListener.run(
                main: app,
                store: embedded,
                listener: configuration.qdrantListener(flag: qdrantListen),
                logger: logger,
                limits: edgeLimits,
                memoryCollection: storeURL == "embedded" ? memories.collection : nil,
                onMemoryCollectionWrite: { name in
                    if name == memories.collection { await memories.reloadFromStore() }
                }
            )
        } catch {
            await stopBackgroundWork()
            try? await remoteStore?.shutdown()
            await metadata.close()
            throw error
        }
        await stopBackgroundWork()
        await segmentTask.value
        // What searches served since the last flush.
        _ = try? await memories.usage.flush()
        // The vector shards as segment files, so the next start maps them instead of rebuilding them.
        do {
            try await embedded.persistSegments()
        } catch {
            logger.warning("segments not written; the next start rebuilds the shards from the database", metadata: ["error": "\(type(of: error))"])
        }
        try? await remoteStore?.shutdown()
        await metadata.close()
    }
}
