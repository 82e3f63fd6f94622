import EngramCore
public import Foundation

/// A time bound of a search filter, as the caller writes it: an RFC 3339 date-time
/// (`2026-11-01T09:30:00Z`), a date (`2026-11-01`, midnight UTC) or a span back from now
/// (`30m`, `12h`, `7d`, `2w`).
public enum TimeBound {
    /// The instant `text` names, or nil when it is neither RFC 3339 nor a relative span.
    public static func parse(_ text: String, now: Date = Date()) -> Date? {
        let text = text.trimmingCharacters(in: .whitespaces)
        if let seconds = RFC3339.parse(text) { return Date(timeIntervalSince1970: seconds) }
        guard let unit = text.last, let count = Int(text.dropLast()), count >= 0, count <= 100_000 else { return nil }
        let span: Double
        switch unit {
        case "m": span = 60
        case "h": span = 3_600
        case "d": span = 86_400
        case "w": span = 604_800
        default: return nil
        }
        return now.addingTimeInterval(-Double(count) * span)
    }

    /// `parse`, or `MemoryError.invalid` naming the argument.
    public static func require(_ text: String, argument: String, now: Date = Date()) throws -> Date {
        guard let date = parse(text, now: now) else {
            throw MemoryError.invalid("\(argument) must be an RFC 3339 time (2026-11-01T09:30:00Z), a date or a span like 7d, 12h, 30m, 2w")
        }
        return date
    }
}
