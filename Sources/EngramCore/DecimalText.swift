/// Number formatting for per-request paths.
///
/// `String(format:)` goes through the C library's `vsnprintf` (format parsing, locale) and
/// showed up at ~6 % of the CPU of a search request in `perf`; this does the same with
/// integer arithmetic.
public enum DecimalText {
    /// `x` with exactly `digits` decimals (half away from zero), like `%.{digits}f` for finite values.
    public static func fixed(_ x: Double, digits: Int) -> String {
        guard x.isFinite else { return x.isNaN ? "nan" : (x < 0 ? "-inf" : "inf") }
        var factor = 1.0
        for _ in 0..<digits { factor *= 10 }
        let scaled = (abs(x) * factor).rounded()
        guard scaled < 9e15 else { return String(Int64(x)) }
        let n = Int64(scaled)
        let f = Int64(factor)
        let sign = x < 0 && n > 0 ? "-" : ""
        guard digits > 0 else { return sign + String(n) }
        var fraction = String(n % f)
        while fraction.count < digits { fraction = "0" + fraction }
        return sign + String(n / f) + "." + fraction
    }
}
