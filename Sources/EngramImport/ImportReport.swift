import EngramClientKit
import Foundation

/// What `engram import --from` prints: the dry run's memories (text withheld for those the filters would
/// refuse), and the summary of a real import (stored, merged as duplicates, refused with rule names).
/// Never a refused memory's text, so never a secret.
package enum ImportReport {
    package struct Tally {
        package var stored = 0
        package var merged = 0
        package var refusals: [(location: String, code: String, rules: [String])] = []
        package var failures: [(location: String, message: String)] = []
        package var memories: [(location: String, status: String, id: String)] = []

        package var sent: Int { stored + merged + refusals.count + failures.count }

        package mutating func record(_ outcome: ImportUploader.Outcome, for c: ImportCandidate) {
            let location = c.provenance.location
            switch outcome {
            case let .stored(id):
                stored += 1
                memories.append((location, "created", id))
            case let .merged(id, status):
                merged += 1
                memories.append((location, status, id))
            case let .refused(code, rules):
                refusals.append((location, code, rules))
            case let .failed(message):
                failures.append((location, message))
            }
        }
    }

    /// `github-pat ×2, remote-script-exec ×1`.
    package static func ruleCounts(_ lists: [[String]]) -> String {
        var counts: [String: Int] = [:]
        var order: [String] = []
        for rule in lists.flatMap({ $0.isEmpty ? ["unnamed rule"] : $0 }) {
            if counts[rule] == nil { order.append(rule) }
            counts[rule, default: 0] += 1
        }
        return order.map { "\($0) ×\(counts[$0]!)" }.joined(separator: ", ")
    }

    package static func from(_ parsed: ImportParseResult, _ format: ImportFormat) -> String {
        format == .claudeMd ? "\(parsed.files) file\(parsed.files == 1 ? "" : "s") (claude-md)" : format.rawValue
    }

    package static func summary(_ t: Tally, parsed: ImportParseResult, format: ImportFormat, scope: String, taskId: String?, json: Bool) {
        if json {
            Render.json([
                "format": format.rawValue, "files": parsed.files, "candidates": parsed.candidates.count, "stored": t.stored,
                "merged": t.merged, "refused": t.refusals.count, "failed": t.failures.count,
                "refusals": t.refusals.map { ["location": $0.location, "code": $0.code, "rules": $0.rules] as [String: Any] },
                "failures": t.failures.map { ["location": $0.location, "message": $0.message] },
                "skipped": parsed.skipped.map { ["location": $0.location, "reason": $0.reason] },
                "memories": t.memories.map { ["location": $0.location, "status": $0.status, "id": $0.id] },
            ])
            return
        }
        var line = "imported \(parsed.candidates.count) memories from \(from(parsed, format)): stored \(t.stored), merged \(t.merged) as duplicates"
        line += ", refused \(t.refusals.count)"
        if !t.refusals.isEmpty { line += " (\(ruleCounts(t.refusals.map(\.rules))))" }
        if !t.failures.isEmpty { line += ", failed \(t.failures.count)" }
        if !parsed.skipped.isEmpty { line += ", skipped \(parsed.skipped.count) entries" }
        print(line)
        for r in t.refusals { print("refused \(r.location): \(r.code) (\(r.rules.isEmpty ? "no rule named" : r.rules.joined(separator: ", ")))") }
        for f in t.failures { print("failed  \(f.location): \(f.message)") }
        for s in parsed.skipped { print("skipped \(s.location): \(s.reason)") }
        if scope == "org", t.stored + t.merged > 0 {
            let call = taskId.map { "POST /v1/finish {\"task_id\": \"\($0)\"} (finish_task)" } ?? "POST /v1/finish {} (finish_task without a task_id)"
            print("org memories start as drafts visible to you and the org's admins: publish them with \(call)")
        }
    }

    package static func dryRun(_ parsed: ImportParseResult, format: ImportFormat, taskId: String?, json: Bool) {
        let screen = ImportScreen()
        let answers = parsed.candidates.map(screen.check)
        let refused = answers.filter { $0.verdict == .refuse }.count
        let flagged = answers.filter { $0.verdict == .flag }.count
        if json {
            var memories: [[String: Any]] = []
            for (c, a) in zip(parsed.candidates, answers) {
                var o: [String: Any] = ["location": c.provenance.location, "verdict": a.verdict.rawValue, "rules": a.rules]
                if let code = a.code { o["code"] = code }
                o["source_id"] = c.provenance.sourceID ?? NSNull()
                // A refused memory's text, tags, repository and anchor are withheld: any of them may hold the secret.
                if a.verdict != .refuse {
                    o["content"] = c.text
                    o["tags"] = c.tags
                    o["kind"] = c.kind ?? NSNull()
                    o["scope"] = c.scope ?? NSNull()
                    o["repo"] = c.provenance.repo ?? NSNull()
                    o["task_id"] = taskId ?? NSNull()
                    o["anchors"] = (ImportUploader.body(c, scope: c.scope ?? "personal", taskId: nil)["anchors"] as? [[String: Any]]) ?? []
                }
                memories.append(o)
            }
            Render.json([
                "dry_run": true, "format": format.rawValue, "files": parsed.files, "candidates": parsed.candidates.count,
                "would_store": parsed.candidates.count - refused, "would_flag": flagged, "would_refuse": refused, "memories": memories,
                "skipped": parsed.skipped.map { ["location": $0.location, "reason": $0.reason] },
            ])
            return
        }
        print(
            "dry run, nothing sent: \(parsed.candidates.count) memories from \(from(parsed, format)); "
                + "\(parsed.candidates.count - refused) would be stored (\(flagged) flagged), \(refused) refused by the local filters"
        )
        let width = String(parsed.candidates.count).count
        for (n, (c, a)) in zip(parsed.candidates, answers).enumerated() {
            let number = String(repeating: " ", count: width - String(n + 1).count) + "\(n + 1)."
            var head = "\(number) \(c.provenance.location)"
            if a.verdict == .refuse {
                print("\(head)\n    REFUSED \(a.code ?? ""): \(a.rules.joined(separator: ", ")) (text withheld)")
                continue
            }
            if let repo = c.provenance.repo { head += "  repo \(repo)" }
            head += "  tags \(c.tags.joined(separator: ","))"
            if let kind = c.kind { head += "  kind \(kind)" }
            if c.scope == "org" { head += "  org" }
            switch a.verdict {
            case .refuse:
                continue
            case .flag:
                print("\(head)\n    flagged: \(a.rules.joined(separator: ", "))")
            case .store:
                print(head)
            }
            for line in c.text.components(separatedBy: "\n") { print("    \(line)") }
        }
        for s in parsed.skipped { print("skipped \(s.location): \(s.reason)") }
    }
}
