package import ArgumentParser
import EngramConfig
package import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Where a developer's CLI finds the server and their token:
/// `--url`/`--token`, else `ENGRAM_URL`/`ENGRAM_TOKEN`, else `~/.config/engram/config.json` (`{"url", "token"}`).
package struct ClientOptions: ParsableArguments {
    package init() {}

    @Option(help: "Server URL (env ENGRAM_URL; default http://127.0.0.1:8080).") package var url: String?
    @Option(help: "Access token (env ENGRAM_TOKEN).") package var token: String?
    @Flag(help: "Print JSON instead of a table.") package var json = false

    package func resolved() throws -> (URL, String) {
        try EngramConfiguration().clientEndpoint(url: url, token: token)
    }
}

/// A small HTTP client for the REST API.
extension ClientOptions {
    /// The API client and the full id of the memory `idOrPrefix` names (resolved on the server).
    package func memory(_ idOrPrefix: String) async throws -> (EngramClient, String) {
        let (base, token) = try resolved()
        let api = EngramClient(base: base, token: token)
        return (api, try await MemoryIDResolver(client: api).resolve(idOrPrefix))
    }
}

package struct EngramClient {
    package let base: URL
    package let token: String

    package struct Failure: Error, CustomStringConvertible {

        package let description: String

        package init(description: String) { self.description = description }

    }

    package func request(_ method: String, _ path: String, query: [URLQueryItem] = [], body: [String: Any]? = nil) async throws -> (Int, Any?) {
        var components = URLComponents(url: base.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
        if !query.isEmpty { components.queryItems = query }
        var req = URLRequest(url: components.url!)
        req.httpMethod = method
        req.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        if let body {
            req.httpBody = try JSONSerialization.data(withJSONObject: body)
            req.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let data: Data
        let response: URLResponse
        // URLSession, not AsyncHTTPClient: one short request from a terminal command, not server-side traffic.
        do { (data, response) = try await URLSession.shared.data(for: req) } catch {
            throw Failure(description: "cannot reach \(base.absoluteString): \(Self.reason(error)) — is the server running? (set ENGRAM_URL)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let parsed = data.isEmpty ? nil : try? JSONSerialization.jsonObject(with: data)
        if status >= 400 {
            let message = ((parsed as? [String: Any])?["error"] as? [String: Any])?["message"] as? String ?? "HTTP \(status)"
            throw Failure(description: "\(message) (HTTP \(status))")
        }
        return (status, parsed)
    }

    /// A transport error in a few words (`connection refused`, `timed out`, …).
    package static func reason(_ error: any Error) -> String {
        guard let e = error as? URLError else { return "\(error)" }
        switch e.code {
        case .cannotConnectToHost: return "connection refused"
        case .timedOut: return "timed out"
        case .cannotFindHost, .dnsLookupFailed: return "unknown host"
        case .networkConnectionLost: return "connection lost"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate: return "TLS failed"
        default: return e.localizedDescription
        }
    }
}

package enum Render {
    package static func json(_ value: Any?) {
        guard let value, let data = try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys]) else { return }
        print(String(decoding: data, as: UTF8.self))
    }

    package static func oneLine(_ s: String, _ width: Int) -> String {
        let flat = s.replacingOccurrences(of: "\n", with: " ")
        return flat.count <= width ? flat : String(flat.prefix(width - 1)) + "…"
    }

    /// id (short), kind, scope/state, content; `lead` holds columns printed before each row's id.
    package static func table(_ memories: [[String: Any]], lead: [String]? = nil) {
        if memories.isEmpty {
            print("No memories.")
            return
        }
        for (i, m) in memories.enumerated() {
            let id = (m["id"] as? String).map { String($0.prefix(8)) } ?? "?"
            let meta = "\(m["kind"] as? String ?? "") \(m["scope"] as? String ?? "")/\(m["state"] as? String ?? "")"
            print("\(lead?[i] ?? "")\(id)  \(meta.padding(toLength: 26, withPad: " ", startingAt: 0)) \(oneLine(m["content"] as? String ?? "", 90))")
        }
    }

    /// Search hits, best first: the fused score they are sorted by, then the cosine similarity.
    package static func hits(_ results: [[String: Any]]) {
        if results.isEmpty {
            print("No memories.")
            return
        }
        print(
            "results sorted by score (fused relevance: w × cosine similarity + (1 − w) × BM25 relative to the best keyword hit, w per query); "
                + "similarity = cosine alone (- for keyword-only hits)"
        )
        print("score  similarity  id        kind scope/state")
        let lead = results.map { r -> String in
            let score = (r["score"] as? Double).map { String(format: "%.3f", $0) } ?? "-"
            let similarity = (r["similarity"] as? Double).map { String(format: "%.3f", $0) } ?? "-"
            return score.padding(toLength: 7, withPad: " ", startingAt: 0) + similarity.padding(toLength: 12, withPad: " ", startingAt: 0)
        }
        table(results.compactMap { $0["memory"] as? [String: Any] }, lead: lead)
    }
}

/// `engram recall "query"`: search your memories through the running server.
package struct Recall: AsyncParsableCommand {
    package init() {}

    package static let configuration = CommandConfiguration(abstract: "Search your memories (hybrid: meaning + keywords).")
    @Argument(help: "What you want to know.") package var query: String?
    @Option(help: "Maximum results.") package var limit: Int = 10
    @Option(help: "Only memories with this tag (repeatable).") var tag: [String] = []
    @Option(help: "Only memories about this repository.") package var repo: String?
    @OptionGroup package var client: ClientOptions
    @OptionGroup package var hook: SessionHookOptions

    package func validate() throws {
        if query == nil, hook.event == nil { throw ValidationError("Missing expected argument '<query>'") }
    }

    package func run() async throws {
        if let event = hook.event {
            return await SessionHook(event: event, options: hook, client: client, repo: repo, limit: limit).run()
        }
        let (base, token) = try client.resolved()
        var q = [URLQueryItem(name: "q", value: query ?? ""), URLQueryItem(name: "limit", value: String(limit))]
        q += tag.map { URLQueryItem(name: "tag", value: $0) }
        if let repo { q.append(URLQueryItem(name: "repo", value: repo)) }
        let (_, body) = try await EngramClient(base: base, token: token).request("GET", "v1/memories/search", query: q)
        if client.json {
            Render.json(body)
            return
        }
        Render.hits(((body as? [String: Any])?["results"] as? [[String: Any]]) ?? [])
    }
}

/// `engram memories list|show|delete`.
package struct Memories: AsyncParsableCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        abstract: "List, show and delete your memories.",
        subcommands: [List.self, Show.self, Delete.self, History.self, Revert.self]
    )

    package struct List: AsyncParsableCommand {
        package init() {}

        package static let configuration = CommandConfiguration(abstract: "List memories, newest first.")
        @Option(help: "Page size.") package var limit: Int = 20
        @Option(help: "Cursor from the previous page.") package var cursor: String?
        @Option(help: "personal or org.") package var scope: String?
        @Option(help: "Only memories with this tag.") package var tag: String?
        @Option(help: "Only memories about this repository.") package var repo: String?
        @OptionGroup package var client: ClientOptions

        package func run() async throws {
            let (base, token) = try client.resolved()
            var q = [URLQueryItem(name: "limit", value: String(limit))]
            for (k, v) in [("cursor", cursor), ("scope", scope), ("tag", tag), ("repo", repo)] {
                if let v { q.append(URLQueryItem(name: k, value: v)) }
            }
            let (_, body) = try await EngramClient(base: base, token: token).request("GET", "v1/memories", query: q)
            if client.json {
                Render.json(body)
                return
            }
            let o = body as? [String: Any]
            Render.table((o?["memories"] as? [[String: Any]]) ?? [])
            if let next = o?["next_cursor"] as? String { print("more: --cursor \(next)") }
        }
    }

    package struct Show: AsyncParsableCommand {
        package init() {}

        package static let configuration = CommandConfiguration(abstract: "Show one memory.")
        @Argument(help: "Memory id, or a unique prefix of it (at least 4 hex digits).") var id: String
        @OptionGroup package var client: ClientOptions

        package func run() async throws {
            let (api, id) = try await client.memory(self.id)
            let (_, body) = try await api.request("GET", "v1/memories/\(id)")
            if client.json {
                Render.json(body)
                return
            }
            guard let m = (body as? [String: Any])?["memory"] as? [String: Any] else { return }
            for key in ["id", "kind", "scope", "state", "tags", "repo", "task_id", "user_id", "org_id", "created_at", "updated_at"] {
                let v = m[key]
                let text = (v as? [String])?.joined(separator: ", ") ?? (v as? String) ?? "-"
                print("\(key.padding(toLength: 11, withPad: " ", startingAt: 0)) \(text)")
            }
            print("\n\(m["content"] as? String ?? "")")
        }
    }

    package struct Delete: AsyncParsableCommand {
        package init() {}

        package static let configuration = CommandConfiguration(abstract: "Delete one of your memories.")
        @Argument(help: "Memory id, or a unique prefix of it (at least 4 hex digits).") var id: String
        @OptionGroup package var client: ClientOptions

        package func run() async throws {
            let (api, id) = try await client.memory(self.id)
            _ = try await api.request("DELETE", "v1/memories/\(id)")
            if client.json { Render.json(["deleted": id]) } else { print("deleted \(id)") }
        }
    }

    package struct History: AsyncParsableCommand {
        package init() {}

        package static let configuration = CommandConfiguration(abstract: "Show every version of a memory, oldest first.")
        @Argument(help: "Memory id, or a unique prefix of it (at least 4 hex digits).") var id: String
        @OptionGroup package var client: ClientOptions

        package func run() async throws {
            let (api, id) = try await client.memory(self.id)
            let (_, body) = try await api.request("GET", "v1/memories/\(id)/versions")
            if client.json {
                Render.json(body)
                return
            }
            for v in ((body as? [String: Any])?["versions"] as? [[String: Any]]) ?? [] {
                let n = (v["version"] as? Int).map { "v\($0)" } ?? "v?"
                let who = "\(v["actor"] as? String ?? "?") via \(v["channel"] as? String ?? "?")"
                print("\(n)  \(v["at"] as? String ?? "")  \(who)  \(v["reason"] as? String ?? "")  [\(v["state"] as? String ?? "")]")
                if let rules = v["withheld_rules"] as? [String] {
                    print("    (text withheld: quarantined for \(rules.joined(separator: ", ")))")
                } else {
                    print("    " + (((v["memory"] as? [String: Any])?["content"] as? String) ?? ""))
                }
            }
        }
    }

    package struct Revert: AsyncParsableCommand {
        package init() {}

        package static let configuration = CommandConfiguration(abstract: "Restore an earlier version of a memory (as a new version).")
        @Argument(help: "Memory id, or a unique prefix of it (at least 4 hex digits).") var id: String
        @Option(help: "The version to restore (see `engram memories history`).") var version: Int
        @OptionGroup package var client: ClientOptions

        package func run() async throws {
            let (api, id) = try await client.memory(self.id)
            let (_, body) = try await api.request("POST", "v1/memories/\(id)/revert", body: ["version": version])
            if client.json {
                Render.json(body)
                return
            }
            let m = (body as? [String: Any])?["memory"] as? [String: Any]
            print("reverted \(id) to the text of v\(version): now v\(m?["version"] as? Int ?? 0) (\(m?["state"] as? String ?? "?"))")
        }
    }
}
