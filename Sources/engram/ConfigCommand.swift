import ArgumentParser
import EngramConfig
import Foundation

/// `engram config`: every environment variable `engram` reads, its flag, its default and the value in
/// effect here (credentials shown only as set or unset).
struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show every setting: its environment variable, flag, default and the value in effect (secrets hidden)."
    )

    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() throws {
        let configuration = EngramConfiguration()
        let rows = EngramConfiguration.Setting.allCases.map { setting -> [String: String] in
            let shown: String
            if let value = configuration[setting] {
                shown = setting.isSecret ? "(set)" : value
            } else {
                shown = "(unset)"
            }
            return [
                "variable": setting.rawValue, "flag": setting.flag ?? "", "default": setting.defaultDescription, "value": shown,
            ]
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        let width = rows.map { $0["variable"]!.count }.max() ?? 0
        let flagWidth = rows.map { $0["flag"]!.count }.max() ?? 0
        for row in rows {
            let variable = row["variable"]!.padding(toLength: width, withPad: " ", startingAt: 0)
            let flag = row["flag"]!.padding(toLength: flagWidth, withPad: " ", startingAt: 0)
            print("\(variable)  \(flag)  \(row["value"]!)  [default: \(row["default"]!)]")
        }
    }
}
