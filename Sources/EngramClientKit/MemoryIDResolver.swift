import Foundation

/// Turns what a developer typed for a memory id into the full id: a UUID as is, or a unique prefix
/// of at least `minimumPrefix` hex digits (the short ids the tables print), resolved through the
/// list API (`GET /v1/memories`, every page).
package struct MemoryIDResolver {
    package static let minimumPrefix = 4
    /// Candidates named in an "ambiguous" error.
    package static let shownCandidates = 10

    package let client: EngramClient

    package func resolve(_ typed: String) async throws -> String {
        let text = typed.trimmingCharacters(in: .whitespaces).lowercased()
        if let full = UUID(uuidString: text) { return full.uuidString.lowercased() }
        let digits = text.filter { $0 != "-" }
        guard digits.count >= Self.minimumPrefix, text.allSatisfy({ $0.isHexDigit || $0 == "-" }) else {
            throw EngramClient.Failure(
                description: "'\(typed)' is not a memory id: give the id or a unique prefix of at least \(Self.minimumPrefix) hex digits"
            )
        }
        var matches: [String] = []
        var cursor: String?
        repeat {
            var query = [URLQueryItem(name: "limit", value: "100")]
            if let cursor { query.append(URLQueryItem(name: "cursor", value: cursor)) }
            let (_, body) = try await client.request("GET", "v1/memories", query: query)
            let page = body as? [String: Any]
            for memory in (page?["memories"] as? [[String: Any]]) ?? [] {
                if let id = (memory["id"] as? String)?.lowercased(), id.hasPrefix(text) { matches.append(id) }
            }
            cursor = page?["next_cursor"] as? String
        } while cursor != nil
        switch matches.count {
        case 1:
            return matches[0]
        case 0:
            throw EngramClient.Failure(description: "memory not found: no memory you can see has an id starting with \(text)")
        default:
            let width = max(8, text.count + 4)
            let shown = matches.sorted().prefix(Self.shownCandidates).map { String($0.prefix(width)) }
            let more = matches.count > shown.count ? " and \(matches.count - shown.count) more" : ""
            throw EngramClient.Failure(
                description:
                    "ambiguous id prefix \(text): \(matches.count) memories match (\(shown.joined(separator: ", "))\(more)); type more of the id"
            )
        }
    }
}
