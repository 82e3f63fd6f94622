// swift-tools-version:6.2
// Engram: a self-hosted memory service for AI coding assistants.
// Module map and dependency arrows: see README.md ("Architecture", "Module arrows").
import PackageDescription

/// Every target: checked arithmetic and bounds in every configuration, so a bug on hostile input
/// (JSON, the secret scanner, RFC 3339, multipart, tokenizer) traps instead of being undefined behaviour.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    // A file sees only the modules it imports, and an import is internal unless marked `public import`
    // (a module's public API names which dependencies it exposes).
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// The vector kernels alone (no input parsing: rows and queries are floats whose dimensions the store
/// has checked) drop the checks. Measured with `engram-bench kernels --sizes 10000,100000 --queries 300`,
/// two alternating runs per build in one window on this 2-core machine: the int8 scan p50 at 100k rows is
/// 1.34–1.37 ms unchecked against 1.49–1.51 ms checked (≈ 10 %), 8 queries per pass 0.89–0.90 against
/// 0.94–1.02 ms/query; at 10k rows 0.092–0.097 against 0.096–0.102 ms.
let kernelSettings: [SwiftSetting] =
    swiftSettings + [
        .unsafeFlags(["-Ounchecked"], .when(configuration: .release))
    ]

let package = Package(
    name: "engram",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "engram", targets: ["engram"]),
        .executable(name: "engram-bench", targets: ["engram-bench"]),
        .library(name: "EngramKernels", targets: ["EngramKernels"]),
        .library(name: "EngramStore", targets: ["EngramStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.1.0"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/vapor/multipart-kit", from: "4.7.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // JSON values and writer, RFC 3339, hex, UUID text, locks, the batch coalescer: no dependencies.
        .target(name: "EngramCore", swiftSettings: swiftSettings),
        // System BLAS (OpenBLAS when installed, else netlib reference BLAS).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),

        // SIMD kernels BLAS does not offer (int8 scan, pre-packed sgemm), with runtime CPU dispatch.
        // Optimised in every configuration: at -O0 (SwiftPM debug) the intrinsics kernels run ~60× slower,
        // and debug builds run the integration tests.
        .target(name: "CEngramKernels", cSettings: [.unsafeFlags(["-O2"])]),
        // Vector kernels: contiguous normalised rows, exact cosine top-k on CBLAS.
        .target(
            name: "EngramKernels",
            dependencies: ["CBLAS", "CEngramKernels"],
            swiftSettings: kernelSettings
        ),
        // The metadata-store seam: the row types, the tenant scope, the query protocols and
        // `MetadataStore`, which the domain reaches every engine through. No dependencies.
        .target(name: "EngramMetadata", swiftSettings: swiftSettings),
        // The service's SQLite database: the pool, the single migrator for every table in the file,
        // the SQLite metadata store (the SQL of members, accounts, OAuth, the audit log and the
        // lifecycle), and consistent backups of the file.
        // Encryption at rest: AES-256-GCM under per-tenant HKDF keys from one master key, the sealed
        // records' identities; implements EngramMetadata's `RecordSealing`.
        .target(
            name: "EngramAtRest",
            dependencies: ["EngramMetadata", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "EngramDatabase",
            dependencies: [
                "EngramMetadata", "EngramAtRest",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Consistent backups of the service's SQLite file: a manifest with sizes, SHA-256 and row counts.
        .target(
            name: "EngramBackup",
            dependencies: [
                "EngramCore", "EngramDatabase",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Qdrant's data model: collections, points, payloads, filters and their evaluator, sparse vectors,
        // the `VectorStore` protocol and its errors (what the embedded store, the remote-Qdrant client,
        // the Qdrant API and the domain share).
        .target(name: "EngramStoreModel", dependencies: ["EngramCore"], swiftSettings: swiftSettings),
        // Vector-shard segment files: checksummed, versioned, memory-mapped at open (a cache of SQLite's rows).
        .target(
            name: "EngramSegments",
            dependencies: ["EngramCore", "EngramStoreModel", "EngramKernels"],
            swiftSettings: swiftSettings
        ),
        // The durable embedded store (Embedded/) on the database: segments, writes, reads, search, snapshots.
        .target(
            name: "EngramStore",
            dependencies: [
                "EngramCore", "EngramStoreModel", "EngramKernels", "EngramSegments", "EngramDatabase", "EngramAtRest",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Off-site backup copies: an append-only S3 client (SigV4, HEAD / PUT under a compliance-mode
        // Object Lock / GET, no delete) on AsyncHTTPClient and swift-crypto; no AWS SDK is in our mirrors.
        .target(
            name: "EngramOffsite",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The remote-Qdrant VectorStore on AsyncHTTPClient.
        .target(
            name: "EngramQdrantClient",
            dependencies: [
                "EngramCore", "EngramStoreModel",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Embedders: all-MiniLM-L6-v2 in-process on CBLAS, remote OpenAI-compatible / Ollama servers
        // over AsyncHTTPClient.
        .target(
            name: "EngramEmbedding",
            dependencies: [
                "CBLAS", "CEngramKernels", "EngramCore", "EngramKernels",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Text screening machinery with no policy: byte classes, normalisation with offset maps,
        // encoded-run decoding, token transforms, entropy and text shapes, CRC32.
        .target(name: "EngramScreening", swiftSettings: swiftSettings),
        // Secret filter: rule families, key material, placeholders, the scanner and its findings.
        .target(name: "EngramSecrets", dependencies: ["EngramScreening"], swiftSettings: swiftSettings),
        // Poisoning screen: instructions planted in memories for the assistants that read them
        // (concealment, control hijack, harmful directives); verdicts allow/flag/block with rule ids. Decoding
        // (base64, hex, ROT13) comes from EngramScreening, shared with the secret filter.
        // What every poisoning rule family reads: the screen text (sentences, words, needles), scope
        // (negation, framing, targets, block versus flag), hits and verdicts.
        .target(name: "EngramPoisoningCore", swiftSettings: swiftSettings),
        // The harmful-directive rule families: remote execution, exfiltration, security gates, review
        // bypass, weakening, supply chain, CI secrets, agent oversight, destruction.
        .target(name: "EngramHarmfulDirectives", dependencies: ["EngramPoisoningCore"], swiftSettings: swiftSettings),
        .target(
            name: "EngramPoisoning",
            dependencies: ["EngramScreening", "EngramPoisoningCore", "EngramHarmfulDirectives"],
            swiftSettings: swiftSettings
        ),
        // Lexical search and rank fusion.
        .target(name: "EngramSearch", swiftSettings: swiftSettings),
        // Roles, permissions, principals, JWT tokens; credentials: bcrypt passwords (HummingbirdBcrypt),
        // TOTP (HummingbirdOTP), backup codes, one-time link secrets, AES-GCM sealing under an HKDF key.
        .target(
            name: "EngramAuth",
            dependencies: [
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "HummingbirdOTP", package: "hummingbird-auth"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The HTTP edge both listeners share: connection limits and timeouts, client address behind
        // trusted proxies, token-bucket rate limits.
        .target(
            name: "EngramHTTPEdge",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Who may do what in an org, and who they are: OrgAdministration/ (member and role rules, the
        // member directory, the audit log), Accounts/ (passwords, TOTP, backup codes, sessions, personal
        // tokens, invitation and reset links), OAuth/ (clients, metadata documents, PKCE codes,
        // audience-bound tokens, refresh rotation), on the metadata seam.
        .target(
            name: "EngramAccounts",
            dependencies: [
                "EngramCore", "EngramMetadata", "EngramAuth",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The memory domain's values: Memory and its limits, requests, errors, input validation, the access
        // policy, provenance, code anchors, freshness, trust, usage, the in-RAM index, the version ledger,
        // the replication cursor.
        .target(
            name: "EngramMemoryModel",
            dependencies: [
                "EngramCore", "EngramStoreModel", "EngramMetadata", "EngramEmbedding", "EngramSecrets", "EngramPoisoning",
                "EngramPoisoningCore", "EngramSearch", "EngramAuth",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The memory domain: Memory, MemoryService, AccessPolicy, add, search, finish, review, import.
        .target(
            name: "EngramMemory",
            dependencies: [
                "EngramCore", "EngramStore", "EngramStoreModel", "EngramMetadata", "EngramEmbedding", "EngramSecrets", "EngramPoisoning",
                "EngramPoisoningCore", "EngramSearch", "EngramAuth", "EngramAccounts", "EngramMemoryModel",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // What happens to memories after they are written: history and revert, ratings and reports,
        // usage, staleness sweeps, code events from Git webhooks, rescans under new rules, and containment
        // (quarantine, rollback) of what a rescan or an admin finds.
        .target(
            name: "EngramLifecycle",
            dependencies: [
                "EngramCore", "EngramMemory", "EngramMemoryModel", "EngramStoreModel", "EngramMetadata", "EngramAuth",
                "EngramAccounts", "EngramSecrets", "EngramPoisoning", "EngramPoisoningCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // The PostgreSQL engine: connection URLs, the client's lifecycle, tenant-scoped SERIALIZABLE
        // transactions (synchronous bodies on a thread pool), and PostgresMetadataStore, on postgres-nio.
        .target(
            name: "EngramPostgres",
            dependencies: [
                "EngramCore", "EngramMetadata",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The PostgreSQL schema: the numbered migrations with row-level security (checksummed once
        // applied), their migrator, and the app role's posture check, on postgres-nio.
        .target(
            name: "EngramPostgresSchema",
            dependencies: [
                "EngramCore", "EngramPostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // JSON Schemas of the MCP tools and the REST API (top-level `schemas/`).
        .target(
            name: "EngramSchemas",
            path: "schemas",
            exclude: ["README.md", "generate_openapi.py"],
            sources: ["EngramSchemas.swift"],
            resources: [.copy("mcp"), .copy("openapi.json")]
        ),
        // The HTTP layer the endpoints share: the request context with the verified principal, bearer
        // auth once per request, browser-origin, security-header, request-log and write-limit
        // middleware, domain errors mapped to HTTP once, JSON bodies, the services the routes use, the tool
        // schemas' catalog and validator (MCP arguments and REST bodies).
        .target(
            name: "EngramHTTP",
            dependencies: [
                "EngramCore", "EngramMemory", "EngramLifecycle", "EngramMemoryModel", "EngramAccounts", "EngramAuth", "EngramHTTPEdge",
                "EngramSchemas",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // MCP over Streamable HTTP: the JSON-RPC envelope and codes, the endpoint and its protocol
        // eras, the Tool enum (schema and dispatch of every tool), tool arguments and resources.
        .target(
            name: "EngramMCP",
            dependencies: [
                "EngramCore", "EngramMemory", "EngramLifecycle", "EngramMemoryModel", "EngramAuth", "EngramHTTPEdge", "EngramHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // HTTP: the server that mounts MCP, the REST API, accounts, OAuth, health and metrics.
        .target(
            name: "EngramServer",
            dependencies: [
                "EngramCore", "EngramMemory", "EngramLifecycle", "EngramMemoryModel", "EngramAccounts", "EngramAuth", "EngramSchemas",
                "EngramHTTPEdge", "EngramHTTP", "EngramMCP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                // Client metadata documents (OAuth): pinned-address HTTPS fetches with extra trust roots.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            resources: [.copy("REST/Admin"), .copy("REST/Account")],
            swiftSettings: swiftSettings
        ),
        // Qdrant-compatible REST API on its own listener, over the embedded store; snapshot uploads
        // are parsed by MultipartKit as they stream in.
        .target(
            name: "EngramQdrantAPI",
            dependencies: [
                "EngramCore", "EngramStore", "EngramStoreModel", "EngramSecrets", "EngramHTTPEdge",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MultipartKit", package: "multipart-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        // EngramConfiguration: the one reader of every ENGRAM_* variable and command-line setting.
        .target(
            name: "EngramConfig",
            dependencies: [
                "EngramAccounts", "EngramAtRest", "EngramAuth", "EngramDatabase", "EngramHTTP", "EngramHTTPEdge",
                "EngramKernels", "EngramMemory", "EngramOffsite", "EngramServer",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // What the commands open: the runtime (model, data directory, stores, metadata connection, the
        // Qdrant listener, replica coordination, lifecycle schedules) and the options every store command takes.
        .target(
            name: "EngramRuntime",
            dependencies: [
                "EngramAccounts", "EngramAtRest", "EngramAuth", "EngramBackup", "EngramConfig", "EngramCore", "EngramDatabase",
                "EngramEmbedding", "EngramHTTP", "EngramHTTPEdge", "EngramKernels", "EngramLifecycle", "EngramMemory", "EngramMemoryModel",
                "EngramMetadata", "EngramPostgres", "EngramPostgresSchema", "EngramQdrantAPI", "EngramQdrantClient", "EngramServer",
                "EngramStore", "EngramStoreModel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The command line's client side, which talks to a running server: the HTTP client and its
        // options, rendering, progress, `recall` and `memories`, the Claude Code session hook.
        .target(
            name: "EngramClientKit",
            dependencies: [
                "EngramCore", "EngramConfig", "EngramMemory", "EngramLifecycle",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // Imports of other tools' memories: Claude Code's markdown memory files, Mem0 and
        // mcp-memory-service exports, archives; each candidate screened, deduplicated and uploaded.
        .target(
            name: "EngramImport",
            dependencies: [
                "EngramClientKit", "EngramConfig", "EngramMemory", "EngramMemoryModel", "EngramLifecycle", "EngramSecrets", "EngramPoisoning",
                "EngramPoisoningCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // Operations on the metadata: the connection to SQLite or PostgreSQL, migration between them,
        // PostgreSQL backups (dump, verify, restore) and key rotation, off-site copies of backups.
        .target(
            name: "EngramOperations",
            dependencies: [
                "EngramConfig", "EngramRuntime", "EngramClientKit", "EngramAtRest", "EngramAuth", "EngramBackup", "EngramDatabase", "EngramMemory",
                "EngramMemoryModel",
                "EngramMetadata", "EngramOffsite", "EngramPostgres", "EngramPostgresSchema",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The `engram` command: serve and the maintenance commands.
        .executableTarget(
            name: "engram",
            dependencies: [
                "EngramCore",
                "EngramKernels",
                "EngramStore",
                "EngramStoreModel",
                "EngramDatabase",
                "EngramAtRest",
                "EngramBackup",
                "EngramMetadata",
                "EngramQdrantClient",
                "EngramMemory",
                "EngramMemoryModel",
                "EngramLifecycle",
                "EngramAccounts",
                "EngramServer",
                "EngramHTTP",
                "EngramAuth",
                "EngramEmbedding",
                "EngramSecrets",
                "EngramPoisoning",
                "EngramPoisoningCore",
                "EngramHTTPEdge",
                "EngramOffsite",
                "EngramPostgres",
                "EngramPostgresSchema",
                "EngramConfig",
                "EngramRuntime",
                "EngramClientKit",
                "EngramImport",
                "EngramOperations",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),

        // Benchmarks, evaluations and test helpers (`engram-bench`): not part of the shipped `engram`.
        // What the benchmarks share: latency samples, memory bandwidth, an HTTP client, the MCP bench's
        // targets and stage breakdown, the metadata engines under test.
        .target(
            name: "EngramBenchKit",
            dependencies: [
                "EngramDatabase", "EngramEmbedding", "EngramKernels", "EngramMetadata", "EngramPostgres",
                "EngramPostgresSchema",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "engram-bench",
            dependencies: [
                "EngramBenchKit", "EngramCore", "EngramKernels", "CEngramKernels", "EngramStore", "EngramStoreModel", "EngramDatabase",
                "EngramAtRest", "EngramMemory",
                "EngramServer", "EngramHTTP", "EngramAccounts", "EngramMemoryModel", "EngramLifecycle",
                "EngramAuth", "EngramEmbedding", "EngramSecrets", "EngramPoisoning", "EngramPoisoningCore", "EngramSearch", "EngramMetadata",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),

        .testTarget(name: "EngramCoreTests", dependencies: ["EngramCore"]),
        .testTarget(name: "EngramKernelsTests", dependencies: ["EngramKernels", "CEngramKernels"]),
        .testTarget(
            name: "EngramEmbeddingTests",
            dependencies: ["EngramEmbedding", "EngramKernels", "CEngramKernels"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "EngramSecretsTests", dependencies: ["EngramSecrets", "EngramScreening"]),
        .testTarget(
            name: "EngramPoisoningTests",
            dependencies: ["EngramPoisoning", "EngramPoisoningCore", "EngramHarmfulDirectives"]
        ),
        .testTarget(name: "EngramSearchTests", dependencies: ["EngramSearch"]),
        .testTarget(name: "EngramAuthTests", dependencies: ["EngramAuth"]),
        .testTarget(
            name: "EngramMemoryTests",
            dependencies: [
                "EngramMemory", "EngramMemoryModel", "EngramLifecycle", "EngramAccounts", "EngramStore", "EngramStoreModel", "EngramDatabase",
                "EngramAtRest", "EngramMetadata", "EngramQdrantClient",
                "EngramPostgres", "EngramPostgresSchema",
            ]
        ),
        .testTarget(
            name: "EngramServerTests",
            dependencies: [
                "EngramServer", "EngramHTTP", "EngramMCP", "EngramSchemas", "EngramHTTPEdge", "EngramCore", "EngramMemory", "EngramAccounts",
                "EngramMemoryModel",
                "EngramAuth", "EngramStore",
                "EngramStoreModel", "EngramSecrets", "EngramScreening",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "EngramQdrantAPITests",
            dependencies: [
                "EngramQdrantAPI", "EngramStore", "EngramStoreModel", "EngramCore",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(name: "EngramQdrantClientTests", dependencies: ["EngramQdrantClient", "EngramStore", "EngramStoreModel"]),
        .testTarget(
            name: "EngramOffsiteTests",
            dependencies: [
                "EngramOffsite",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "EngramPostgresTests",
            dependencies: [
                "EngramPostgres", "EngramPostgresSchema", "EngramDatabase", "EngramAtRest", "EngramMetadata",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "EngramStoreTests",
            dependencies: [
                "EngramCore", "EngramStore", "EngramStoreModel", "EngramSegments", "EngramKernels", "EngramDatabase", "EngramAtRest",
                "EngramBackup",
                "EngramMetadata",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            resources: [.copy("Fixtures")]
        ),
    ]
)
