import EngramHarmfulDirectives
import EngramPoisoningCore

/// Screens memory text for instructions planted for the assistants that will read it later
/// (memory poisoning, OWASP Agentic ASI06).
///
/// The screen answers one question about a memory that is about to be stored: served to a
/// teammate's assistant as trusted context, would this text steer that assistant against its user
/// or the organisation, or does it record a fact, a convention or a preference? It is the write
/// gate beside the secret filter (`EngramSecrets`) and follows the labelling policy of the team's
/// corpus (`eval/poisoning/README.md`): concealment, control hijack, harmful directives (general →
/// block, scoped or aimed at the org's own hosts → flag), authority claims, facts versus
/// instructions.
///
/// Design: hand-written rules over the text's bytes and words, with no regular expressions (Swift's
/// `Regex` is far too slow on Linux for a per-write gate, and no library covers these behaviours).
/// Rules describe behaviour (an action, its object, its scope, whether it is forbidden or merely
/// described), not the sentences of any corpus.
///
/// The screen never returns, logs or stores the matched text: a `PoisonFinding` holds the rule id,
/// its category, its verdict and a character span. It is a value type with no state; `screen` is
/// safe to call concurrently.
public struct PoisoningScreen: Sendable {
    public init() {}

    /// Screens `text` and returns the verdict with the rules that fired, ordered by position.
    public func screen(_ text: String) -> PoisonReport {
        PoisonReport(findings: PoisonRules.findings(in: text))
    }
}
