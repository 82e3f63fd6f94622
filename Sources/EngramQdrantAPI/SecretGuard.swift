import EngramCore
import EngramSecrets
import EngramStore
import EngramStoreModel

/// Applies the memory rules to writes into memory collections (`memories_*`) through the Qdrant API:
/// every payload key and string value is scanned for secrets, and the memory domain's validator
/// (`QdrantAPIConfiguration.memoryPayloadProblem`: content size, control characters, a well-formed
/// memory) checks each payload. A write with a finding is refused as a whole (400, Qdrant's envelope)
/// naming the rules and fields, never the secret.
struct SecretGuard: Sendable {
    static let memoryCollectionPrefix = "memories_"
    let scanner = SecretScanner()
    /// The memory domain's check of one payload (nil: none configured); `complete` is false for partial
    /// payload edits (set payload).
    var validate: MemoryPayloadCheck?

    func applies(to collection: String) -> Bool { collection.hasPrefix(Self.memoryCollectionPrefix) }

    /// Throws when any payload holds a secret or is not an acceptable memory.
    func check(collection: String, _ payloads: [(PointID?, Payload)], complete: Bool = true) throws {
        guard applies(to: collection) else { return }
        if let validate {
            for (id, payload) in payloads {
                if let problem = validate(collection, id, payload, complete) {
                    throw QdrantError.wrongInput("payload rejected by Engram's memory rules: " + (id.map { "point \($0): " } ?? "") + problem)
                }
            }
        }
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
                + "(rules: \(rules.joined(separator: ", "))). Nothing was written; remove the credential and retry."
        )
    }

    private func walk(_ v: JSONValue, path: String, into found: inout [(String, [String])]) {
        switch v {
        case let .string(s):
            let findings = scanner.scan(s)
            if !findings.isEmpty { found.append((path.isEmpty ? "$" : path, findings.map(\.ruleID))) }
        case let .array(items):
            for item in items { walk(item, path: path + "[]", into: &found) }
        case let .object(o):
            for (k, item) in o {
                // Keys are text a reader sees too: a credential used as a key is still a credential
                // (and is never echoed: the field is named `<key>` in the error).
                let keyFindings = scanner.scan(k)
                let name = keyFindings.isEmpty ? k : "<key>"
                let keyPath = path.isEmpty ? name : path + "." + name
                if !keyFindings.isEmpty { found.append((keyPath, keyFindings.map(\.ruleID))) }
                walk(item, path: keyPath, into: &found)
            }
        default: break
        }
    }
}
