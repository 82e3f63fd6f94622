/// A duration as the settings write it: a number and a unit.
package enum DurationText {
    /// Parses `90s`, `15m`, `24h`, `7d` (backup, sweep and follow intervals).
    package static func parse(_ text: String) -> Duration? {
        guard let unit = text.last, let n = Double(text.dropLast()), n > 0 else { return nil }
        switch unit {
        case "s": return .seconds(n)
        case "m": return .seconds(n * 60)
        case "h": return .seconds(n * 3600)
        case "d": return .seconds(n * 86_400)
        default: return nil
        }
    }
}
