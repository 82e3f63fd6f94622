import EngramSecrets
import EngramStore

/// Keeps credentials out of memory collections written through the Qdrant API: every string
/// value of every payload bound for a collection named `memories_*` is scanned, and a write
/// with a finding is refused as a whole (400, Qdrant's envelope) naming the rules and fields,
/// never the secret.
struct SecretGuard: Sendable {
    static let memoryCollectionPrefix = "memories_"
    let scanner = SecretScanner()

    func applies(to collection: String) -> Bool { collection.hasPrefix(Self.memoryCollectionPrefix) }

    /// Throws when any payload holds a secret.
    func check(collection: String, _ payloads: [(PointID?, Payload)]) throws {
        guard applies(to: collection) else { return }
        var rules: [String] = []
        var places: [String] = []
        for (id, payload) in payloads {
            var found: [(String, [String])] = []
            walk(.object(payload), path: "", into: &found)
            for (path, ids) in found {
                for r in ids where !rules.contains(r) { rules.append(r) }
                let place = (id.map { "point \($0) " } ?? "") + "field `\(path)`"
                if places.count < 5, !places.contains(place) { places.append(place) }
            }
        }
        guard !rules.isEmpty else { return }
        throw QdrantError.wrongInput(
            "payload rejected by Engram's secret filter: \(places.joined(separator: ", ")) contains a secret "
                + "(rules: \(rules.joined(separator: ", "))). Nothing was written; remove the credential and retry.")
    }

    private func walk(_ v: JSONValue, path: String, into found: inout [(String, [String])]) {
        switch v {
        case let .string(s):
            let findings = scanner.scan(s)
            if !findings.isEmpty { found.append((path.isEmpty ? "$" : path, findings.map(\.ruleID))) }
        case let .array(items):
            for item in items { walk(item, path: path + "[]", into: &found) }
        case let .object(o):
            for (k, item) in o { walk(item, path: path.isEmpty ? k : path + "." + k, into: &found) }
        default: break
        }
    }
}
