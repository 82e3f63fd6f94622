import EngramSecrets

/// Entry point for `engram scan` and the stand-alone `secretscan` tool: scans one text and
/// renders the result for a terminal.
///
/// Output: one line per finding, `ruleID family start-end` (Character offsets, end exclusive),
/// never the secret. Exit code 1 when at least one finding exists, 0 when the text is clean.
enum SecretScanCLI {
    static func run(input: String) -> (exitCode: Int32, output: String) {
        let findings = SecretScanner().scan(input)
        if findings.isEmpty { return (0, "") }
        let lines = findings.map { "\($0.ruleID) \($0.family) \($0.range.lowerBound)-\($0.range.upperBound)" }
        return (1, lines.joined(separator: "\n") + "\n")
    }
}
