import EngramMemoryModel
import EngramPoisoning
import EngramPoisoningCore
import Logging
import Metrics

extension MemoryService {
    /// Screens memory text for instructions planted for the assistants that will read it
    /// (`PoisoningScreen`). A `block` verdict rejects the write (nothing is stored; the error names the
    /// rules and spans); a `flag` verdict returns its rule ids, which the caller records on the memory
    /// (`Memory.screenFlags`: an org memory then goes to review, a personal one is served with a
    /// warning). Only rule ids are logged and counted, never the text.
    package func screenForPoisoning(_ content: String) throws -> [String] {
        let report = poisonScreen.screen(content)
        switch report.verdict {
        case .allow:
            return []
        case .flag:
            for rule in report.ruleIDs { Counter(label: "engram_poisoning_flags_total", dimensions: [("rule", rule)]).increment() }
            logger.info("memory flagged by the poisoning screen", metadata: ["rules": "\(report.ruleIDs)"])
            return report.ruleIDs
        case .block:
            for rule in report.ruleIDs { Counter(label: "engram_poisoning_rejections_total", dimensions: [("rule", rule)]).increment() }
            logger.notice("memory rejected: poisoning screen", metadata: ["rules": "\(report.ruleIDs)"])
            throw MemoryError.poisoningDetected(report: report)
        }
    }

    /// The rules of the poisoning screen's `block` verdict for `text` (empty unless it blocks).
    package func poisoningBlockRules(_ text: String) -> [String] {
        let report = poisonScreen.screen(text)
        return report.verdict == .block ? report.ruleIDs : []
    }
}
