import Foundation

/// Every setting `engram` reads from its environment, and the one place that reads it.
///
/// A command's flag wins over the environment variable, which wins over the default. Values are
/// parsed here, and a malformed one is an error that names the variable, instead of a silent
/// fallback to the default. `engram config` prints the whole table with the values in effect
/// (secrets shown only as set or unset).
///
/// Hand-written rather than swift-configuration: ArgumentParser already owns the flags, and what
/// remains is a flat table of `ENGRAM_*` variables that this type parses and documents in one place.
package struct EngramConfiguration: Sendable {
    /// The process environment, or a test's.
    package let environment: [String: String]

    /// The configuration of this process.
    package init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// The non-empty value of `setting` in the environment.
    package subscript(_ setting: Setting) -> String? {
        guard let value = environment[setting.rawValue], !value.isEmpty else { return nil }
        return value
    }

    /// `flag` when given, else the variable's value parsed as `T`, else nil.
    ///
    /// - Throws: `ValidationError` naming the variable when its value does not parse.
    package func value<T: LosslessStringConvertible>(flag: T? = nil, _ setting: Setting, as type: T.Type = T.self) throws -> T? {
        if let flag { return flag }
        guard let raw = self[setting] else { return nil }
        guard let parsed = T(raw.trimmingCharacters(in: .whitespaces)) else {
            throw Invalid("\(setting.rawValue)=\(setting.isSecret ? "…" : raw) is not a valid \(Self.typeName(T.self))")
        }
        return parsed
    }

    /// A comma-separated list from the environment, items trimmed, empty items dropped.
    package func list(_ setting: Setting) -> [String] {
        (self[setting] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// A setting whose value cannot be used; reported as one line naming the variable or flag.
    package struct Invalid: CommandFailure {
        package let description: String
        package init(_ description: String) { self.description = description }
    }

    private static func typeName<T>(_ type: T.Type) -> String {
        switch type {
        case is Int.Type: "integer"
        case is Double.Type: "number"
        default: "\(type)"
        }
    }
}

extension EngramConfiguration {
    /// The environment variables `engram` reads, with the flag that overrides each and its default.
    package enum Setting: String, CaseIterable, Sendable {
        case host = "ENGRAM_HOST"
        case port = "ENGRAM_PORT"
        case dataDir = "ENGRAM_DATA_DIR"
        case jwtSecret = "ENGRAM_JWT_SECRET"
        case embedder = "ENGRAM_EMBEDDER"
        case modelDir = "ENGRAM_MODEL_DIR"
        case embedderURL = "ENGRAM_EMBEDDER_URL"
        case embedderModel = "ENGRAM_EMBEDDER_MODEL"
        case embedderDimensions = "ENGRAM_EMBEDDER_DIMENSIONS"
        case embedderAPIKey = "ENGRAM_EMBEDDER_API_KEY"
        case writesPerSecond = "ENGRAM_RATE_WRITES_PER_SEC"
        case writeBurst = "ENGRAM_RATE_WRITE_BURST"
        case authFailuresPerMinute = "ENGRAM_RATE_AUTH_FAILURES_PER_MIN"
        case authFailureBurst = "ENGRAM_RATE_AUTH_FAILURE_BURST"
        case signInFailuresPerMinute = "ENGRAM_SIGNIN_FAILURES_PER_MINUTE"
        case signInFailureBurst = "ENGRAM_SIGNIN_FAILURE_BURST"
        case reauthWindow = "ENGRAM_REAUTH_WINDOW_SECONDS"
        case encryptionKey = "ENGRAM_ENCRYPTION_KEY"
        case encryptionKeyPrevious = "ENGRAM_ENCRYPTION_KEY_PREVIOUS"
        case publicURL = "ENGRAM_PUBLIC_URL"
        case oauthAccessTokenSeconds = "ENGRAM_OAUTH_ACCESS_TOKEN_SECONDS"
        case oauthClientMetadata = "ENGRAM_OAUTH_CLIENT_METADATA"
        case oauthClientMetadataAllow = "ENGRAM_OAUTH_CLIENT_METADATA_ALLOW"
        case outboundCAFile = "ENGRAM_OUTBOUND_CA_FILE"
        case trustedProxies = "ENGRAM_TRUSTED_PROXIES"
        case idleTimeout = "ENGRAM_IDLE_TIMEOUT"
        case headerTimeout = "ENGRAM_HEADER_TIMEOUT"
        case bodyTimeout = "ENGRAM_BODY_TIMEOUT"
        case maxConnectionsPerIP = "ENGRAM_MAX_CONNECTIONS_PER_IP"
        case allowedOrigins = "ENGRAM_ALLOWED_ORIGINS"
        case corsOrigin = "ENGRAM_CORS_ORIGIN"
        case store = "ENGRAM_STORE"
        case qdrantRemoteAPIKey = "ENGRAM_QDRANT_REMOTE_API_KEY"
        case qdrantListen = "ENGRAM_QDRANT_LISTEN"
        case qdrantAPIKey = "ENGRAM_QDRANT_API_KEY"
        case minRelevance = "ENGRAM_SEARCH_MIN_RELEVANCE"
        case logLevel = "ENGRAM_LOG_LEVEL"
        case sweepEvery = "ENGRAM_SWEEP_EVERY"
        case followEvery = "ENGRAM_FOLLOW_EVERY"
        case int8ISA = "ENGRAM_INT8_ISA"
        case sgemmISA = "ENGRAM_SGEMM_ISA"
        case url = "ENGRAM_URL"
        case token = "ENGRAM_TOKEN"
        case offsiteEndpoint = "ENGRAM_OFFSITE_ENDPOINT"
        case offsiteRegion = "ENGRAM_OFFSITE_REGION"
        case offsiteAccessKeyID = "ENGRAM_OFFSITE_ACCESS_KEY_ID"
        case offsiteSecretAccessKey = "ENGRAM_OFFSITE_SECRET_ACCESS_KEY"
        case metadata = "ENGRAM_METADATA"
        case metadataOwner = "ENGRAM_METADATA_OWNER"
        case postgresBin = "ENGRAM_PG_BIN"

        /// The flag that overrides the variable, if any.
        package var flag: String? {
            switch self {
            case .host: "--host"
            case .port: "--port"
            case .dataDir: "--data-dir"
            case .trustedProxies: "--trusted-proxies"
            case .idleTimeout: "--idle-timeout"
            case .headerTimeout: "--header-timeout"
            case .bodyTimeout: "--body-timeout"
            case .maxConnectionsPerIP: "--max-connections-per-ip"
            case .store: "--store"
            case .qdrantListen: "--qdrant-listen"
            case .minRelevance: "--min-relevance"
            case .url: "--url"
            case .token: "--token"
            case .metadata: "--metadata"
            case .metadataOwner: "--metadata-owner"
            default: nil
            }
        }

        /// The value in effect when neither the flag nor the variable is given, as people read it.
        package var defaultDescription: String {
            switch self {
            case .host: "127.0.0.1"
            case .port: "8080"
            case .dataDir: "./data"
            case .jwtSecret: "required outside dev mode"
            case .embedder: "minilm"
            case .modelDir: "recorded in DATA_DIR/engram.json, else beside the executable's checkout, else ./models"
            case .writesPerSecond: "50"
            case .writeBurst: "100"
            case .authFailuresPerMinute: "30"
            case .authFailureBurst: "20"
            case .signInFailuresPerMinute: "5"
            case .signInFailureBurst: "10"
            case .reauthWindow: "300"
            case .oauthAccessTokenSeconds: "3600"
            case .oauthClientMetadata: "on (clients may use the URL of their metadata document as client id)"
            case .oauthClientMetadataAllow: "none (metadata documents only from public addresses)"
            case .outboundCAFile: "none (the system's certificate authorities)"
            case .encryptionKey: "none: stored in plaintext; TOTP refused outside dev mode"
            case .encryptionKeyPrevious: "none (set during `engram keys rotate`)"
            case .publicURL: "http://HOST:PORT (links in invitations and resets)"
            case .idleTimeout: "60"
            case .headerTimeout: "10"
            case .bodyTimeout: "30"
            case .maxConnectionsPerIP: "64"
            case .store: "embedded"
            case .qdrantListen: "127.0.0.1:6333 (on only when ENGRAM_QDRANT_API_KEY is set)"
            case .minRelevance: "0.15"
            case .logLevel: "info"
            case .sweepEvery: "1h (the freshness sweep: stale, expiry, retention)"
            case .followEvery: "0.2s (with PostgreSQL metadata: how often a replica reads the change feed of the others' writes)"
            case .int8ISA, .sgemmISA: "the CPU's best"
            case .url: "http://127.0.0.1:8080"
            case .offsiteEndpoint: "https://s3.REGION.amazonaws.com (path-style requests)"
            case .offsiteRegion: "us-east-1"
            case .metadata: "sqlite (users, members, audit log, versions in DATA_DIR/engram.sqlite)"
            case .metadataOwner: "none (the schema must already be migrated)"
            case .postgresBin: "PATH, then the newest /usr/lib/postgresql/*/bin (pg_dump, pg_restore for PostgreSQL backups)"
            default: "none"
            }
        }

        /// Whether the value is a credential (never printed).
        package var isSecret: Bool {
            switch self {
            case .jwtSecret, .embedderAPIKey, .qdrantRemoteAPIKey, .qdrantAPIKey, .token, .encryptionKey, .encryptionKeyPrevious: true
            case .offsiteSecretAccessKey, .metadata, .metadataOwner: true
            default: false
            }
        }
    }
}
