/// Minimal RFC 3339 parsing and formatting (fixed format; no Foundation formatter
/// on the hot path of filter evaluation).
public enum RFC3339 {
    /// Seconds since 1970 for `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.frac]][Z|±HH:MM]` (space allowed for `T`).
    public static func parse(_ string: String) -> Double? {
        let b = Array(string.utf8)
        func num(_ from: Int, _ len: Int) -> Int? {
            guard from + len <= b.count else { return nil }
            var v = 0
            for i in from..<(from + len) {
                let c = b[i]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard b.count >= 10, let year = num(0, 4), b[4] == 45, let month = num(5, 2), b[7] == 45,
            let day = num(8, 2), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var hour = 0
        var minute = 0
        var second = 0.0
        var offset = 0
        var i = 10
        if i < b.count {
            guard b[i] == 84 || b[i] == 116 || b[i] == 32, let h = num(i + 1, 2), b.count > i + 3, b[i + 3] == 58,
                let m = num(i + 4, 2), h < 24, m < 60
            else { return nil }
            hour = h
            minute = m
            i += 6
            if i < b.count, b[i] == 58 {
                guard let s = num(i + 1, 2), s <= 60 else { return nil }
                second = Double(s)
                i += 3
                if i < b.count, b[i] == 46 {
                    var j = i + 1
                    var scale = 0.1
                    var frac = 0.0
                    while j < b.count, b[j] >= 48, b[j] <= 57 {
                        frac += Double(b[j] - 48) * scale
                        scale /= 10
                        j += 1
                    }
                    guard j > i + 1 else { return nil }
                    second += frac
                    i = j
                }
            }
            if i < b.count {
                if b[i] == 90 || b[i] == 122 {
                    i += 1
                } else if b[i] == 43 || b[i] == 45 {
                    guard let oh = num(i + 1, 2), b.count >= i + 6, b[i + 3] == 58, let om = num(i + 4, 2) else { return nil }
                    offset = (oh * 60 + om) * 60 * (b[i] == 45 ? -1 : 1)
                    i += 6
                } else {
                    return nil
                }
            }
            guard i == b.count else { return nil }
        }
        // Days from civil (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return Double(days * 86_400 + hour * 3600 + minute * 60 - offset) + second
    }

    /// `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` for seconds since 1970 (hand-formatted: this runs for
    /// every memory in every response, and Foundation's formatters cost microseconds each).
    public static func format(_ t: Double) -> String {
        var micros = Int64((t * 1_000_000).rounded())
        var seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        micros -= seconds * 1_000_000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        seconds -= days * 86_400
        // Civil from days (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ v: Int64, _ width: Int) -> String {
            let digits = String(v)
            return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
        }
        var out =
            pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T" + pad(seconds / 3600, 2) + ":"
            + pad(seconds % 3600 / 60, 2) + ":" + pad(seconds % 60, 2)
        if micros > 0 { out += "." + pad(micros, 6) }
        return out + "Z"
    }
}
