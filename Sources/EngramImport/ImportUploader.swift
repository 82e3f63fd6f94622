import EngramClientKit
package import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Sends candidates through the server's real add path, `POST /v1/memories` (schema `add_memory`), so the
/// secret filter, the poisoning screen, validation and dedup all apply, and the server records provenance
/// (channel `rest`, client = this uploader's `User-Agent`, the token's id). Rate limits (429) are waited
/// out; a bad token, a missing permission or an unreachable server stops the import.
package struct ImportUploader {
    package let base: URL
    package let token: String
    /// Recorded by the server as the memories' `provenance.client`, e.g. `engram-import/claude-md`.
    package let userAgent: String

    package enum Outcome: Sendable, Equatable {
        case stored(id: String)
        /// The server already held it (`duplicate`) or merged it into a near-identical memory of the same
        /// author (`updated`).
        case merged(id: String, status: String)
        /// The secret filter or the poisoning screen refused it: the error code and the rule names.
        case refused(code: String, rules: [String])
        case failed(String)
    }

    /// The add body for `candidate` (`scope` when the candidate has none, `taskId` for org drafts).
    package static func body(_ candidate: ImportCandidate, scope: String, taskId: String?) -> [String: Any] {
        var body: [String: Any] = ["content": candidate.text, "scope": candidate.scope ?? scope]
        if !candidate.tags.isEmpty { body["tags"] = candidate.tags }
        if let kind = candidate.kind { body["kind"] = kind }
        if let repo = candidate.provenance.repo { body["repo"] = repo }
        if let taskId { body["task_id"] = taskId }
        if let path = candidate.provenance.path {
            var anchor: [String: Any] = ["path": path]
            if let lines = candidate.provenance.lines {
                anchor["lines"] = lines.lowerBound == lines.upperBound ? "\(lines.lowerBound)" : "\(lines.lowerBound)-\(lines.upperBound)"
            }
            body["anchors"] = [anchor]
        }
        return body
    }

    package func add(_ body: [String: Any]) async throws -> Outcome {
        var limited = 0
        var unavailable = 0
        while true {
            let (status, headers, object) = try await post(body)
            let error = object?["error"] as? [String: Any]
            let code = error?["code"] as? String ?? ""
            let message = error?["message"] as? String ?? "HTTP \(status)"
            switch status {
            case 200, 201:
                let id = (object?["memory"] as? [String: Any])?["id"] as? String ?? "?"
                let outcome = object?["status"] as? String ?? (status == 201 ? "created" : "duplicate")
                return outcome == "created" ? .stored(id: id) : .merged(id: id, status: outcome)
            case 422 where code == "secret_detected" || code == "poisoning_detected":
                return .refused(code: code, rules: Self.rules(in: message))
            case 429:
                limited += 1
                guard limited <= 10 else { return .failed("rate limited (HTTP 429)") }
                let wait = headers["Retry-After"].flatMap(Double.init) ?? 1
                try await Task.sleep(nanoseconds: UInt64(min(max(wait, 0.2), 30) * 1e9))
            case 401, 403, 404:
                throw ImportFailure(description: "\(message) (HTTP \(status)); nothing more was sent")
            case 500...599 where unavailable < 2:
                unavailable += 1
                try await Task.sleep(nanoseconds: UInt64(unavailable) * 1_000_000_000)
            default:
                return .failed("\(message) (HTTP \(status))")
            }
        }
    }

    /// The rule names in a rejection message (`github-pat at characters 34–74; aws-access-key-id at 10–30`,
    /// `github-pat (base64-encoded) at …`, `remote-script-exec at characters 12–58`): the server names rules
    /// and spans, never the matched text.
    package static func rules(in message: String) -> [String] {
        guard let regex = try? NSRegularExpression(pattern: #"([A-Za-z0-9_.:/-]+(?: \([^()]*\))?) at (?:characters )?\d+"#) else { return [] }
        var out: [String] = []
        let ns = message as NSString
        for match in regex.matches(in: message, range: NSRange(location: 0, length: ns.length)) {
            let rule = ns.substring(with: match.range(at: 1))
            if !out.contains(rule) { out.append(rule) }
        }
        return out
    }

    private func post(_ body: [String: Any]) async throws -> (Int, [String: String], [String: Any]?) {
        var request = URLRequest(url: base.appendingPathComponent("v1/memories"))
        request.httpMethod = "POST"
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue(userAgent, forHTTPHeaderField: "User-Agent")
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        let data: Data
        let response: URLResponse
        do { (data, response) = try await URLSession.shared.data(for: request) } catch {
            throw ImportFailure(
                description: "cannot reach \(base.absoluteString): \(EngramClient.reason(error)) — is the server running? (set ENGRAM_URL)"
            )
        }
        let http = response as? HTTPURLResponse
        var headers: [String: String] = [:]
        if let retry = http?.value(forHTTPHeaderField: "Retry-After") { headers["Retry-After"] = retry }
        let object = data.isEmpty ? nil : (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        return (http?.statusCode ?? 0, headers, object)
    }
}
