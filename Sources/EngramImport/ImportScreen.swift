import EngramClientKit
import EngramPoisoning
import EngramPoisoningCore
import EngramSecrets

/// What the server's filters would say about a candidate, answered locally for `--dry-run` with the
/// same secret scanner and poisoning screen the server runs on every write (the server decides when
/// the import is real). Rule ids only, never the matched text.
package struct ImportScreen {
    package enum Verdict: String, Sendable {
        /// Stored as is.
        case store
        /// Stored, marked by the poisoning screen (an org memory goes to review).
        case flag
        /// Refused: a secret, or an instruction planted for assistants.
        case refuse
    }

    package struct Answer: Sendable, Equatable {
        package var verdict: Verdict
        /// `secret_detected` or `poisoning_detected` when refused.
        package var code: String?
        package var rules: [String]
    }

    private let scanner = SecretScanner()
    private let screen = PoisoningScreen()

    /// The server scans the content, tags, repository and anchor paths for secrets, and screens the content.
    package func check(_ c: ImportCandidate) -> Answer {
        let fields = [c.text] + c.tags + [c.provenance.repo, c.provenance.path].compactMap { $0 }
        var secrets: [String] = []
        for field in fields {
            for f in scanner.scan(field) where !secrets.contains(f.ruleID) { secrets.append(f.ruleID) }
        }
        if !secrets.isEmpty { return Answer(verdict: .refuse, code: "secret_detected", rules: secrets) }
        let report = screen.screen(c.text)
        switch report.verdict {
        case .allow: return Answer(verdict: .store, rules: [])
        case .flag: return Answer(verdict: .flag, rules: report.ruleIDs)
        case .block: return Answer(verdict: .refuse, code: "poisoning_detected", rules: report.ruleIDs)
        }
    }
}
