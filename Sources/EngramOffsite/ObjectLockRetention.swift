public import Foundation

/// The S3 Object Lock every off-site object is written with: compliance mode (nobody, the bucket's owner
/// and root included, can delete the version or shorten its retention until the date passes) and a
/// retain-until date in whole seconds, UTC.
///
/// Governance mode is not offered: it can be bypassed by anyone granted `s3:BypassGovernanceRetention`.
public struct ObjectLockRetention: Sendable, Equatable {
    /// The only lock mode the client writes.
    public static let mode = "COMPLIANCE"
    /// The longest retention accepted, in days (100 years, S3's own limit).
    public static let maximumDays = 36_500

    /// The end of the retention, in whole seconds.
    public let retainUntil: Date

    /// Retention for `days` from `now` (1 to 36,500 days).
    public init(days: Int, from now: Date = Date()) throws(OffsiteError) {
        guard (1...Self.maximumDays).contains(days) else {
            throw .invalidSettings("the retention must be 1 to \(Self.maximumDays) days, not \(days)")
        }
        self.init(retainUntil: now.addingTimeInterval(Double(days) * 86_400))
    }

    /// Retention until `date`, truncated to the second.
    public init(retainUntil date: Date) {
        retainUntil = Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
    }

    /// The `x-amz-object-lock-retain-until-date` value: RFC 3339 in UTC without fractional seconds
    /// (`2027-01-05T00:00:00Z`), which both AWS and moto parse.
    public var headerValue: String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: retainUntil)
    }

    /// Parses a retain-until date as servers echo it, with or without fractional seconds
    /// (`2027-01-05T00:00:00Z`, `2027-01-05T00:00:00.000Z`).
    public static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    /// Whether a HEAD answer confirms this lock: compliance mode and the same retain-until second.
    /// Nil when it does, else what differs.
    public func mismatch(in head: ObjectHead) -> String? {
        guard head.lockMode == Self.mode else { return "lock mode \(head.lockMode ?? "none"), expected \(Self.mode)" }
        guard let echoed = head.retainUntil else { return "no retain-until date" }
        guard echoed.timeIntervalSince1970.rounded(.down) == retainUntil.timeIntervalSince1970 else {
            return "retain-until \(head.retainUntilText ?? "?"), expected \(headerValue)"
        }
        return nil
    }
}
