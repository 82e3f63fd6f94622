import ArgumentParser
import EngramClientKit
import Foundation

/// `engram doctor`: checks what a developer's CLI and the Claude Code plugin need from the server, one
/// line per check with ✓ (fine), ! (works, but look at it), ✗ (broken) and what to do about it.
struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the server URL, TLS, your token and membership, the embedder, the store and clock skew.",
        discussion: """
            Prints one line per check: ✓ fine, ! works but needs a look, ✗ broken (with what to fix), - not \
            checked because an earlier check failed. The URL and token come from --url/--token, ENGRAM_URL/ENGRAM_TOKEN \
            or ~/.config/engram/config.json, as for `engram recall`; ENGRAM_USER (the user of the Claude Code \
            plugin's /mcp/<user> URL) is compared with the token's user when set.

            Exit status: 0 every check passed, 1 at least one failed, 2 warnings only.
            """
    )

    @OptionGroup var client: ClientOptions
    @Option(help: "Seconds to wait for each request.") var timeout: Double = 5

    /// Warn when the token expires sooner than this.
    static let expiryWarning: TimeInterval = 86_400
    /// Warn when the server's clock differs from this machine's by more than this.
    static let skewWarning: TimeInterval = 30

    func run() async throws {
        let report = await DoctorChecks(client: client, timeout: max(0.5, timeout)).run()
        if client.json {
            Render.json(report.map(\.json))
        } else {
            for check in report { print(check.line) }
        }
        if report.contains(where: { $0.status == .fail }) { throw ExitCode(1) }
        if report.contains(where: { $0.status == .warn }) { throw ExitCode(2) }
    }
}

/// One line of the report.
struct DoctorCheck: Sendable {
    enum Status: String, Sendable {
        case ok, warn, fail, skip

        var mark: String {
            switch self {
            case .ok: "✓"
            case .warn: "!"
            case .fail: "✗"
            case .skip: "-"
            }
        }
    }

    var name: String
    var status: Status
    var detail: String
    var fix: String?

    /// The same finding with a note appended to its detail.
    func withNote(_ note: String) -> DoctorCheck {
        var c = self
        c.detail += "; " + note
        return c
    }

    var line: String {
        "\(status.mark) \(name): \(detail)" + (fix.map { " — fix: \($0)" } ?? "")
    }

    var json: [String: Any] {
        var o: [String: Any] = ["check": name, "status": status.rawValue, "detail": detail]
        if let fix { o["fix"] = fix }
        return o
    }
}

/// The checks, in order; each later one is skipped when what it needs failed.
struct DoctorChecks {
    let client: ClientOptions
    let timeout: TimeInterval
    var environment: [String: String] = ProcessInfo.processInfo.environment

    init(client: ClientOptions, timeout: TimeInterval) {
        self.client = client
        self.timeout = timeout
    }

    func run() async -> [DoctorCheck] {
        var out: [DoctorCheck] = []
        let settings = ClientSettings.resolve(client: client, environment: environment)

        // URL.
        guard let base = settings.url, let scheme = base.scheme?.lowercased(), ["http", "https"].contains(scheme), base.host != nil else {
            out.append(
                DoctorCheck(
                    name: "url",
                    status: .fail,
                    detail: "the URL from \(settings.urlSource) is not an http(s) URL with a host",
                    fix: "set ENGRAM_URL to the server's base URL, e.g. http://127.0.0.1:8080"
                )
            )
            return out + skipped(["reachable", "tls", "clock", "server", "store", "embedder", "token", "membership"])
        }
        out.append(DoctorCheck(name: "url", status: .ok, detail: "\(HTTPProbe.display(base)) (from \(settings.urlSource))"))
        if let check = settings.configFileCheck { out.append(check) }

        // Reachable, TLS, clock: GET /healthz.
        let anonymous = HTTPProbe(base: base, token: nil, timeout: timeout)
        let sent = Date()
        let health: HTTPProbe.Reply
        do {
            health = try await anonymous.send("GET", "healthz")
        } catch {
            out.append(reachFailure(error, base: base))
            out.append(tlsCheck(base: base, failure: error))
            out += skipped(["clock", "server", "store", "embedder"])
            let local = localTokenCheck(settings)
            out.append(settings.token == nil ? local : local.withNote("not verified with the server (unreachable)"))
            out += skipped(["membership"])
            return out
        }
        if health.status == 200 {
            out.append(
                DoctorCheck(name: "reachable", status: .ok, detail: "GET /healthz answered 200 in \(Int((health.elapsed * 1000).rounded())) ms")
            )
        } else {
            out.append(
                DoctorCheck(
                    name: "reachable",
                    status: .fail,
                    detail: "GET /healthz answered HTTP \(health.status): this URL may not be an Engram server",
                    fix: "point ENGRAM_URL at the server's base URL (no path), e.g. https://engram.example"
                )
            )
        }
        out.append(tlsCheck(base: base, failure: nil))
        out.append(clockCheck(health, sent: sent))
        guard health.status == 200 else {
            let local = localTokenCheck(settings)
            return out + skipped(["server", "store", "embedder"])
                + [settings.token == nil ? local : local.withNote("not verified with the server (no Engram server at this URL)")]
                + skipped(["membership"])
        }

        // Readiness: store, embedder.
        out += await readiness(anonymous)

        // Token: present, accepted by the server, its expiry; then the membership and role it acts with.
        guard let token = settings.token else { return out + [localTokenCheck(settings)] + skipped(["membership"]) }
        out += await identity(HTTPProbe(base: base, token: token, timeout: timeout), local: localTokenCheck(settings), claims: JWTClaims(token))
        return out
    }

    private func skipped(_ names: [String]) -> [DoctorCheck] {
        names.map { DoctorCheck(name: $0, status: .skip, detail: "not checked (an earlier check failed)") }
    }

    private func reachFailure(_ error: HTTPProbe.Failure, base: URL) -> DoctorCheck {
        let fix: String
        switch error.kind {
        case .refused: fix = "start the server (`engram serve`, `make run`) or correct the port in ENGRAM_URL"
        case .unknownHost: fix = "check the host name in ENGRAM_URL"
        case .timedOut: fix = "check the host, port and firewall; the server did not answer within \(Int(timeout)) s"
        case .tls: fix = "see the tls line"
        case .other: fix = "check ENGRAM_URL and that the server is running"
        }
        return DoctorCheck(name: "reachable", status: .fail, detail: "cannot reach \(HTTPProbe.display(base)): \(error.reason)", fix: fix)
    }

    private func tlsCheck(base: URL, failure: HTTPProbe.Failure?) -> DoctorCheck {
        let host = base.host ?? ""
        if base.scheme?.lowercased() == "https" {
            if let failure, failure.kind == .tls {
                return DoctorCheck(
                    name: "tls",
                    status: .fail,
                    detail: "the certificate of \(host) was not accepted: \(failure.reason)",
                    fix: "serve a certificate valid for \(host) from a trusted CA (or add your CA to the system's trust store)"
                )
            }
            if failure != nil { return DoctorCheck(name: "tls", status: .skip, detail: "not checked (no connection)") }
            return DoctorCheck(name: "tls", status: .ok, detail: "https with a certificate valid for \(host)")
        }
        if Self.isLoopback(host) {
            return DoctorCheck(name: "tls", status: .ok, detail: "plain http on loopback (\(host)): fine on this machine")
        }
        return DoctorCheck(
            name: "tls",
            status: .warn,
            detail: "plain http to \(host), which is not loopback: tokens and memories cross the network unencrypted",
            fix: "put the server behind TLS (a reverse proxy, `engram serve --behind-tls`) and use an https:// URL"
        )
    }

    static func isLoopback(_ host: String) -> Bool {
        let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return h == "localhost" || h.hasSuffix(".localhost") || h == "::1" || h.hasPrefix("127.")
    }

    /// The server's `Date` header against this machine's clock (at the middle of the request).
    private func clockCheck(_ reply: HTTPProbe.Reply, sent: Date) -> DoctorCheck {
        guard let header = reply.headers["date"], let serverDate = Self.httpDate(header) else {
            return DoctorCheck(
                name: "clock",
                status: .warn,
                detail: "the server sent no Date header, so clock skew cannot be checked",
                fix: "check that this machine and the server both run NTP"
            )
        }
        let local = sent.addingTimeInterval(reply.elapsed / 2)
        let skew = serverDate.timeIntervalSince(local)
        let words =
            abs(skew) < 3
            ? "in step (within the Date header's second resolution)" : "server is \(Int(abs(skew).rounded())) s \(skew > 0 ? "ahead" : "behind")"
        if abs(skew) > Doctor.skewWarning {
            return DoctorCheck(
                name: "clock",
                status: .warn,
                detail: "\(words) of this machine: token times (iat, nbf, exp) and TOTP codes may be refused",
                fix: "enable time synchronisation (NTP, e.g. `timedatectl set-ntp true`) on both machines"
            )
        }
        return DoctorCheck(name: "clock", status: .ok, detail: words)
    }

    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            formatter.dateFormat = format
            if let d = formatter.date(from: text) { return d }
        }
        return nil
    }

    /// `GET /readyz`: the store, the embedder and the server version.
    private func readiness(_ probe: HTTPProbe) async -> [DoctorCheck] {
        let reply: HTTPProbe.Reply
        do { reply = try await probe.send("GET", "readyz") } catch {
            return [
                DoctorCheck(
                    name: "server",
                    status: .fail,
                    detail: "GET /readyz failed: \(error.reason)",
                    fix: "look at the server's log"
                )
            ] + skipped(["store", "embedder"])
        }
        let o = reply.json ?? [:]
        let version = o["version"] as? String
        let store = o["store"] as? String
        if reply.status != 200 {
            let problem = (o["problem"] as? String).map { Render.oneLine($0, 200) } ?? "HTTP \(reply.status)"
            return [
                DoctorCheck(
                    name: "server",
                    status: .fail,
                    detail: "not ready: \(problem)",
                    fix: "look at the server's log; `engram serve` says what is wrong at start-up"
                ),
                DoctorCheck(
                    name: "store",
                    status: .fail,
                    detail: "\(store ?? "unknown") store: \(problem)",
                    fix: "check the data directory (disk space, permissions) or the remote Qdrant it points at"
                ),
            ] + skipped(["embedder"])
        }
        var out = [
            DoctorCheck(
                name: "server",
                status: .ok,
                detail: "ready" + (version.map { ", engram \($0)" } ?? "") + ((o["mode"] as? String).map { ", \($0) mode" } ?? "")
            ),
            DoctorCheck(name: "store", status: .ok, detail: "\(store ?? "unknown") store ready"),
        ]
        let embedder = (o["embedder"] as? String) ?? "unknown"
        if embedder.hasPrefix("none") || (o["search"] as? String) == "bm25-only" {
            out.append(
                DoctorCheck(
                    name: "embedder",
                    status: .warn,
                    detail: "no embedding model: search is keyword-only (BM25), recall by meaning is off",
                    fix: "give the server a model (`make model`, ENGRAM_MODEL_DIR) or a remote embedder (ENGRAM_EMBEDDER_URL)"
                )
            )
        } else {
            out.append(DoctorCheck(name: "embedder", status: .ok, detail: "\(embedder) (hybrid search)"))
        }
        return out
    }

    /// The token without the server: present, a JWT, its expiry.
    private func localTokenCheck(_ settings: ClientSettings) -> DoctorCheck {
        guard let token = settings.token else {
            return DoctorCheck(
                name: "token",
                status: .fail,
                detail: "none: neither --token, ENGRAM_TOKEN nor ~/.config/engram/config.json has one",
                fix: "create a token on /me (or `engram token issue`) and set ENGRAM_TOKEN; "
                    + "the Claude Code MCP connection can sign in with OAuth instead, but the CLI and the session hook need a token"
            )
        }
        let source = "from \(settings.tokenSource)"
        guard let claims = JWTClaims(token) else {
            return DoctorCheck(
                name: "token",
                status: .warn,
                detail: "present (\(source)) but not a JWT, as Engram's tokens are",
                fix: "copy the whole token printed by /me or `engram token issue`"
            )
        }
        guard let exp = claims.expires else {
            return DoctorCheck(name: "token", status: .warn, detail: "present (\(source)) but carries no expiry", fix: "issue a token with --days")
        }
        let left = exp.timeIntervalSinceNow
        let when = RFC3339Date.format(exp)
        if left <= 0 {
            return DoctorCheck(
                name: "token",
                status: .fail,
                detail: "expired at \(when) (\(source))",
                fix: "create a new token on /me or with `engram token issue`, and set ENGRAM_TOKEN"
            )
        }
        if left < Doctor.expiryWarning {
            return DoctorCheck(
                name: "token",
                status: .warn,
                detail: "expires at \(when), in \(Int(left / 3600)) h (\(source))",
                fix: "create a new token before then (/me or `engram token issue`)"
            )
        }
        return DoctorCheck(name: "token", status: .ok, detail: "expires \(when), in \(Int(left / 86_400)) days (\(source))")
    }

    /// `GET /v1/me`: the token is accepted (folded into the token line, with the local findings); then the
    /// user, org and role it acts as.
    private func identity(_ probe: HTTPProbe, local: DoctorCheck, claims: JWTClaims?) async -> [DoctorCheck] {
        let reply: HTTPProbe.Reply
        do { reply = try await probe.send("GET", "v1/me") } catch {
            return [local.withNote("not verified: GET /v1/me failed (\(error.reason))")] + skipped(["membership"])
        }
        func rejected(_ detail: String, _ fix: String) -> [DoctorCheck] {
            [DoctorCheck(name: "token", status: .fail, detail: detail + "; " + local.detail, fix: fix)] + skipped(["membership"])
        }
        switch reply.status {
        case 200:
            break
        case 401:
            return rejected(
                "rejected by the server (HTTP 401: \(Render.oneLine(reply.errorMessage ?? "unauthorized", 160)))",
                "the token is unknown, revoked, expired or signed by another server: create a new one on /me "
                    + "or with `engram token issue`, and set ENGRAM_TOKEN"
            )
        case 403:
            return rejected(
                "may not use the REST API (HTTP 403: \(Render.oneLine(reply.errorMessage ?? "forbidden", 160)))",
                "an OAuth access token works on its one /mcp/<user> endpoint only; give the CLI a personal token from /me"
            )
        default:
            return rejected("GET /v1/me answered HTTP \(reply.status)", "look at the server's log")
        }
        let me = reply.json ?? [:]
        let user = (me["user_id"] as? String) ?? "?"
        let org = me["org_id"] as? String
        let role = (me["role"] as? String) ?? "?"
        var token = local
        token.detail = "accepted for user \(user); " + local.detail
        var notes: [String] = []
        var status = DoctorCheck.Status.ok
        var fix: String?
        let place = org.map { "\(user) is a member of \($0) with role \(role)" } ?? "\(user), no organisation: personal memories only (role \(role))"
        if let claimed = claims?.role, claimed != role {
            notes.append("the token says \(claimed), the membership now grants \(role)")
            status = .warn
            fix = "ask an org admin about the role, or create a new token"
        }
        if role == "viewer" { notes.append("read-only: saving memories is refused") }
        if let mcpUser = environment["ENGRAM_USER"], !mcpUser.isEmpty, mcpUser != user {
            notes.append("ENGRAM_USER=\(Render.oneLine(mcpUser, 64)) but the token is \(user)'s: /mcp/\(Render.oneLine(mcpUser, 64)) answers 403")
            status = .fail
            fix = "set ENGRAM_USER=\(user) (the plugin's MCP URL is /mcp/$ENGRAM_USER)"
        }
        return [token, DoctorCheck(name: "membership", status: status, detail: ([place] + notes).joined(separator: "; "), fix: fix)]
    }
}

/// Where the CLI's URL and token come from: flag, environment, `~/.config/engram/config.json`, default
/// (the same order as `EngramConfiguration.clientEndpoint`).
struct ClientSettings {
    var url: URL?
    var urlSource: String
    var token: String?
    var tokenSource: String
    /// A warning about the config file's permissions when it holds a token others may read.
    var configFileCheck: DoctorCheck?

    static func resolve(client: ClientOptions, environment: [String: String]) -> ClientSettings {
        let home = environment["HOME"].map { URL(fileURLWithPath: $0) } ?? FileManager.default.homeDirectoryForCurrentUser
        let file = home.appendingPathComponent(".config/engram/config.json")
        var fileURL: String?
        var fileToken: String?
        var check: DoctorCheck?
        if let data = try? Data(contentsOf: file), let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] {
            fileURL = object["url"] as? String
            fileToken = (object["token"] as? String).flatMap { $0.isEmpty ? nil : $0 }
            if fileToken != nil, let attributes = try? FileManager.default.attributesOfItem(atPath: file.path),
                let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o077 != 0
            {
                check = DoctorCheck(
                    name: "config file",
                    status: .warn,
                    detail: "\(file.path) holds a token and is readable by others (mode \(String(mode, radix: 8)))",
                    fix: "chmod 600 \(file.path)"
                )
            }
        }
        func env(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let urlPick: (String, String) =
            client.url.map { ($0, "--url") } ?? env("ENGRAM_URL").map { ($0, "ENGRAM_URL") } ?? fileURL.map { ($0, file.path) }
            ?? ("http://127.0.0.1:8080", "the default")
        let tokenPick: (String, String)? =
            client.token.map { ($0, "--token") } ?? env("ENGRAM_TOKEN").map { ($0, "ENGRAM_TOKEN") } ?? fileToken.map { ($0, file.path) }
        return ClientSettings(
            url: URL(string: urlPick.0),
            urlSource: urlPick.1,
            token: tokenPick?.0,
            tokenSource: tokenPick?.1 ?? "nowhere",
            configFileCheck: check
        )
    }
}

/// The claims of a JWT read without verifying it (the server verifies; this only reports them).
struct JWTClaims {
    var subject: String?
    var org: String?
    var role: String?
    var expires: Date?

    init?(_ token: String) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var b64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b64.count % 4 != 0 { b64 += "=" }
        guard let data = Data(base64Encoded: b64), let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return nil }
        subject = o["sub"] as? String
        org = o["org"] as? String
        role = o["role"] as? String
        expires = (o["exp"] as? NSNumber).map { Date(timeIntervalSince1970: $0.doubleValue) }
    }
}

enum RFC3339Date {
    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
