package import EngramAccounts
package import EngramAtRest
package import EngramAuth
import EngramDatabase
package import EngramHTTP
import EngramHTTPEdge
import EngramKernels
import EngramMemory
import EngramServer
package import Foundation
package import Logging
import NIOCore

/// The typed settings the commands use, each resolved as flag, then environment, then default.
extension EngramConfiguration {
    /// The data directory: `--data-dir`, else `ENGRAM_DATA_DIR`, else `./data`.
    package func dataDirectory(flag: String?) -> URL {
        URL(fileURLWithPath: flag ?? self[.dataDir] ?? "./data")
    }

    /// The log level from `ENGRAM_LOG_LEVEL` (trace, debug, info, notice, warning, error, critical).
    package func logLevel() throws -> Logger.Level {
        guard let raw = self[.logLevel] else { return .info }
        guard let level = Logger.Level(rawValue: raw.lowercased()) else {
            throw Invalid("ENGRAM_LOG_LEVEL=\(raw) is not a level: use trace, debug, info, notice, warning, error or critical")
        }
        return level
    }

    /// Where memories are stored: `--store`, else `ENGRAM_STORE`, else `embedded`.
    package func storeSpec(flag: String?) -> String {
        flag ?? self[.store] ?? "embedded"
    }

    /// How often the freshness sweep runs (`ENGRAM_SWEEP_EVERY`, e.g. `30m`, `1h`, `1d`; default 1 hour).
    package func sweepInterval() throws -> Duration {
        guard let text = self[.sweepEvery] else { return .seconds(3600) }
        guard let every = DurationText.parse(text) else { throw Invalid("ENGRAM_SWEEP_EVERY takes e.g. 30m, 1h, 1d") }
        return every
    }

    /// How often a replica reads the change feed (`ENGRAM_FOLLOW_EVERY`, default 0.2 s).
    package func followInterval() throws -> Duration {
        guard let text = self[.followEvery] else { return .milliseconds(200) }
        guard let every = DurationText.parse(text) else { throw Invalid("ENGRAM_FOLLOW_EVERY takes e.g. 0.2s, 1s") }
        return every
    }

    /// The API key of a remote Qdrant store (`ENGRAM_QDRANT_REMOTE_API_KEY`), used when its URL names none.
    package var qdrantRemoteAPIKey: String? {
        self[.qdrantRemoteAPIKey]
    }

    /// The listen address of the main HTTP listener.
    package func listenAddress(host: String?, port: Int?) throws -> (host: String, port: Int) {
        let resolvedPort = try value(flag: port, .port, as: Int.self) ?? 8080
        guard (0...65_535).contains(resolvedPort) else { throw Invalid("the port must be between 0 and 65535") }
        return (host ?? self[.host] ?? "127.0.0.1", resolvedPort)
    }

    /// The search relevance floor: `--min-relevance`, else `ENGRAM_SEARCH_MIN_RELEVANCE`, else the default.
    package func searchFloor(flag: Double?) throws -> Double {
        guard let raw = try value(flag: flag, .minRelevance, as: Double.self) else { return MemoryService.defaultMinRelevance }
        guard (0...1).contains(raw) else { throw Invalid("the minimum relevance must be between 0 and 1") }
        return raw
    }

    /// The Qdrant-compatible listener: on only when `ENGRAM_QDRANT_API_KEY` is set, at `--qdrant-listen`,
    /// else `ENGRAM_QDRANT_LISTEN`, else `127.0.0.1:6333`.
    package func qdrantListener(flag: String?) -> (apiKey: String, address: String)? {
        guard let key = self[.qdrantAPIKey] else { return nil }
        return (key, flag ?? self[.qdrantListen] ?? "127.0.0.1:6333")
    }

    /// Caps the SIMD paths of the C kernels from `ENGRAM_INT8_ISA` and `ENGRAM_SGEMM_ISA` (0, 1 or 2).
    package func applyKernelCaps() throws {
        let int8 = try value(.int8ISA, as: Int.self)
        let sgemm = try value(.sgemmISA, as: Int.self)
        for (setting, level) in [(Setting.int8ISA, int8), (.sgemmISA, sgemm)] {
            if let level, !(0...2).contains(level) {
                throw Invalid("\(setting.rawValue) takes 0 (portable), 1 (AVX2) or 2 (AVX-512)")
            }
        }
        KernelDispatch.cap(int8Scan: int8, projections: sgemm)
    }

    /// The flags of `engram serve` that the edge limits take.
    package struct EdgeFlags {
        package var maxBodyBytes: Int
        package var behindTLS: Bool
        package var trustedProxies: String?
        package var idleTimeout: Double?
        package var headerTimeout: Double?
        package var bodyTimeout: Double?
        package var maxConnectionsPerIP: Int?

        package init(
            maxBodyBytes: Int,
            behindTLS: Bool,
            trustedProxies: String?,
            idleTimeout: Double?,
            headerTimeout: Double?,
            bodyTimeout: Double?,
            maxConnectionsPerIP: Int?
        ) {
            self.maxBodyBytes = maxBodyBytes
            self.behindTLS = behindTLS
            self.trustedProxies = trustedProxies
            self.idleTimeout = idleTimeout
            self.headerTimeout = headerTimeout
            self.bodyTimeout = bodyTimeout
            self.maxConnectionsPerIP = maxConnectionsPerIP
        }
    }

    /// The edge limits: body size, rate limits, origins, proxies, timeouts and the per-IP connection cap.
    package func serverLimits(_ flags: EdgeFlags) throws -> ServerLimits {
        func seconds(_ flag: Double?, _ setting: Setting, _ fallback: Double) throws -> TimeAmount {
            let value = try value(flag: flag, setting, as: Double.self) ?? fallback
            guard value > 0, value <= 86_400 else {
                throw Invalid("\(setting.flag ?? "") (\(setting.rawValue)) takes seconds, more than 0 and at most 86400")
            }
            return .nanoseconds(Int64(value * 1e9))
        }
        func rate(_ setting: Setting, _ fallback: Double) throws -> Double {
            let value = try value(setting, as: Double.self) ?? fallback
            guard value >= 0, value.isFinite else { throw Invalid("\(setting.rawValue) must be a number, 0 or more") }
            return value
        }
        let proxies: TrustedProxies
        do {
            proxies = try TrustedProxies(parsing: flags.trustedProxies ?? self[.trustedProxies] ?? "")
        } catch {
            throw Invalid("\(error)")
        }
        let perIP = try value(flag: flags.maxConnectionsPerIP, .maxConnectionsPerIP, as: Int.self) ?? 64
        guard perIP > 0 else { throw Invalid("--max-connections-per-ip (ENGRAM_MAX_CONNECTIONS_PER_IP) must be positive") }
        let connections = ConnectionLimits(
            idleTimeout: try seconds(flags.idleTimeout, .idleTimeout, 60),
            headerTimeout: try seconds(flags.headerTimeout, .headerTimeout, 10),
            bodyTimeout: try seconds(flags.bodyTimeout, .bodyTimeout, 30),
            maxConnectionsPerIP: perIP
        )
        return ServerLimits(
            maxBodyBytes: flags.maxBodyBytes,
            writesPerSecond: try rate(.writesPerSecond, 50),
            writeBurst: try rate(.writeBurst, 100),
            authFailuresPerMinute: try rate(.authFailuresPerMinute, 30),
            authFailureBurst: try rate(.authFailureBurst, 20),
            signInFailuresPerMinute: try rate(.signInFailuresPerMinute, 5),
            signInFailureBurst: try rate(.signInFailureBurst, 10),
            allowedOrigins: Set(list(.allowedOrigins)),
            corsOrigin: self[.corsOrigin],
            behindTLS: flags.behindTLS,
            trustedProxies: proxies,
            connections: connections
        )
    }

    /// Where the CLI's HTTP client finds the server and its token: the flags, else `ENGRAM_URL` and
    /// `ENGRAM_TOKEN`, else `~/.config/engram/config.json` (`{"url", "token"}`).
    package func clientEndpoint(url: String?, token: String?) throws -> (URL, String) {
        var fileURL: String?
        var fileToken: String?
        let home = environment["HOME"].map { URL(fileURLWithPath: $0) } ?? FileManager.default.homeDirectoryForCurrentUser
        let config = home.appendingPathComponent(".config/engram/config.json")
        if let data = try? Data(contentsOf: config), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            fileURL = object["url"] as? String
            fileToken = object["token"] as? String
        }
        guard let base = URL(string: url ?? self[.url] ?? fileURL ?? "http://127.0.0.1:8080") else {
            throw Invalid("invalid server URL")
        }
        guard let resolvedToken = token ?? self[.token] ?? fileToken, !resolvedToken.isEmpty else {
            throw Invalid("no token: pass --token, set ENGRAM_TOKEN, or write ~/.config/engram/config.json")
        }
        return (base, resolvedToken)
    }
}

extension EngramConfiguration {
    /// Account timing: the re-prompt window (`ENGRAM_REAUTH_WINDOW_SECONDS`, 1–3600, default 300).
    package func accountSettings() throws -> AccountSettings {
        var settings = AccountSettings()
        if let window = try value(.reauthWindow, as: Double.self) {
            guard window >= 1, window <= 3600 else { throw Invalid("ENGRAM_REAUTH_WINDOW_SECONDS must be 1 to 3600") }
            settings.reauthWindow = window
        }
        return settings
    }

    /// The at-rest cipher (nil: no key, values are stored in plaintext): `ENGRAM_ENCRYPTION_KEY`, the
    /// base64 of 32 random bytes (`openssl rand -base64 32`; a longer random string of at least 32
    /// bytes and 128 bits of estimated entropy, as earlier releases took, is accepted too), and during
    /// a rotation `ENGRAM_ENCRYPTION_KEY_PREVIOUS`, the key being replaced.
    package func atRestCipher() throws -> AtRestCipher? {
        let previous = try masterKey(.encryptionKeyPrevious)
        guard let current = try masterKey(.encryptionKey) else {
            if previous != nil { throw Invalid("ENGRAM_ENCRYPTION_KEY_PREVIOUS is set without ENGRAM_ENCRYPTION_KEY") }
            return nil
        }
        return AtRestCipher(current: current, previous: previous)
    }

    private func masterKey(_ setting: Setting) throws -> AtRestCipher.MasterKey? {
        guard let value = self[setting]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        if let bytes = Data(base64Encoded: value), bytes.count == 32 { return AtRestCipher.MasterKey(bytes: bytes) }
        if let weakness = TokenService.weakness(ofSecret: value) {
            throw Invalid("\(setting.rawValue) \(weakness): use 32 random bytes in base64 (openssl rand -base64 32)")
        }
        return try AtRestCipher.MasterKey(setting: value)
    }

    /// What TOTP secrets are sealed with: the at-rest cipher (boxes that earlier releases sealed under
    /// the same key settings still open). Without a key a dev server seals under a key derived from its
    /// JWT secret; a production server has none and refuses TOTP enrolment.
    package func totpBox(dev: Bool, jwtSecret: String) throws -> (any SecretSealing)? {
        if let cipher = try atRestCipher() {
            let settings = [self[.encryptionKey], self[.encryptionKeyPrevious]].compactMap { $0 }.filter { !$0.isEmpty }
            return TOTPSealer(cipher: cipher, legacy: settings.map { SecretBox(masterKey: $0, purpose: "totp") })
        }
        return dev ? SecretBox(masterKey: "engram-dev-encryption:" + jwtSecret, purpose: "totp") : nil
    }

    /// OAuth lifetimes: access tokens `ENGRAM_OAUTH_ACCESS_TOKEN_SECONDS` (1–86400, default 3600).
    package func oauthSettings() throws -> OAuthSettings {
        var settings = OAuthSettings()
        if let seconds = try value(.oauthAccessTokenSeconds, as: Double.self) {
            guard seconds >= 1, seconds <= 86_400 else { throw Invalid("ENGRAM_OAUTH_ACCESS_TOKEN_SECONDS must be 1 to 86400") }
            settings.accessTokenLifetime = seconds
        }
        return settings
    }

    /// Client ID Metadata Documents: on unless `ENGRAM_OAUTH_CLIENT_METADATA=off`; fetched only from
    /// public addresses unless `ENGRAM_OAUTH_CLIENT_METADATA_ALLOW` lists the host or its network;
    /// `ENGRAM_OUTBOUND_CA_FILE` adds certificate authorities (PEM) to the system's.
    package func clientMetadataDocuments(logger: Logger) throws -> ClientMetadataDocuments? {
        switch self[.oauthClientMetadata]?.lowercased() {
        case nil, "", "on", "true", "1": break
        case "off", "false", "0": return nil
        case let other?: throw Invalid("ENGRAM_OAUTH_CLIENT_METADATA must be on or off, not \(other)")
        }
        let policy: OutboundAddressPolicy
        do {
            policy = try OutboundAddressPolicy(parsing: self[.oauthClientMetadataAllow] ?? "")
        } catch let error as OutboundAddressPolicy.InvalidEntry {
            throw Invalid("ENGRAM_OAUTH_CLIENT_METADATA_ALLOW: \(error)")
        }
        let caFile = self[.outboundCAFile].flatMap { $0.isEmpty ? nil : $0 }
        do {
            let fetcher = try HTTPSClientMetadataFetcher(policy: policy, extraTrustRoots: caFile, logger: logger)
            return ClientMetadataDocuments(fetcher: fetcher)
        } catch {
            throw Invalid("ENGRAM_OUTBOUND_CA_FILE \(caFile ?? ""): not a readable PEM certificate file")
        }
    }

    /// The base of the links the server hands out (`ENGRAM_PUBLIC_URL`), if set.
    package var publicURL: String? { self[.publicURL].flatMap { $0.isEmpty ? nil : $0 } }
}
