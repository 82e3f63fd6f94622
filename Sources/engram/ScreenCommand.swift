import ArgumentParser
import EngramPoisoning
import EngramPoisoningCore
import Foundation

/// `engram screen`: the poisoning screen on text from stdin, the evaluation contract of
/// `eval/poisoning/score.py`: exit 0 when the screen allows the text, 1 when it flags or blocks it.
/// Prints the verdict and one line per rule (`ruleID category verdict start-end`, Character offsets),
/// never the matched text.
struct Screen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Screen text on stdin for instructions planted for assistants (exit 1 if flagged or blocked)."
    )

    func run() throws {
        let data = FileHandle.standardInput.readDataToEndOfFile()
        let report = PoisoningScreen().screen(String(decoding: data, as: UTF8.self))
        guard report.verdict != .allow else { throw ExitCode(0) }
        var lines = [report.verdict.rawValue]
        lines += report.findings.map { "\($0.ruleID) \($0.category) \($0.verdict.rawValue) \($0.range.lowerBound)-\($0.range.upperBound)" }
        print(lines.joined(separator: "\n"))
        throw ExitCode(1)
    }
}
