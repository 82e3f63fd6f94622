/// Where off-site copies go: `s3://bucket/prefix`, parsed and checked before anything is sent.
///
/// Keys are `prefix/name/…`. Bucket names follow S3's rules for general purpose buckets (3–63 lowercase
/// letters, digits, dots and hyphens, starting and ending with a letter or digit); prefix segments may not be
/// empty, `.` or `..`, nor hold control characters, so a key names exactly one object.
public struct OffsiteLocation: Sendable, Equatable, CustomStringConvertible {
    public let bucket: String
    /// The key prefix without leading or trailing slash; empty for the bucket's root.
    public let prefix: String

    /// Parses `s3://bucket`, `s3://bucket/prefix` or `s3://bucket/a/b/` (a trailing slash is dropped).
    public init(parsing text: String) throws(OffsiteError) {
        guard text.hasPrefix("s3://") else { throw .invalidLocation("\(text) does not start with s3://") }
        let rest = text.dropFirst("s3://".count)
        let bucket = String(rest.prefix { $0 != "/" })
        var prefix = String(rest.dropFirst(bucket.count))
        while prefix.hasPrefix("/") { prefix.removeFirst() }
        while prefix.hasSuffix("/") { prefix.removeLast() }
        try self.init(bucket: bucket, prefix: prefix)
    }

    /// A checked bucket and prefix.
    public init(bucket: String, prefix: String) throws(OffsiteError) {
        try Self.check(bucket: bucket)
        if !prefix.isEmpty { try Self.check(keyPath: prefix) }
        self.bucket = bucket
        self.prefix = prefix
    }

    /// The location one level down: `s3://bucket/prefix/name`.
    public func appending(_ name: String) throws(OffsiteError) -> OffsiteLocation {
        try OffsiteLocation(bucket: bucket, prefix: key(name))
    }

    /// The key of `name` under the prefix (`prefix/name`, or `name` at the root).
    public func key(_ name: String) -> String {
        prefix.isEmpty ? name : prefix + "/" + name
    }

    public var description: String { prefix.isEmpty ? "s3://\(bucket)" : "s3://\(bucket)/\(prefix)" }

    static func check(bucket: String) throws(OffsiteError) {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789.-")
        let alphanumeric = Set("abcdefghijklmnopqrstuvwxyz0123456789")
        guard (3...63).contains(bucket.count), bucket.allSatisfy(allowed.contains),
            let first = bucket.first, let last = bucket.last, alphanumeric.contains(first), alphanumeric.contains(last),
            !bucket.contains("..")
        else {
            throw .invalidLocation("bucket \"\(bucket)\" is not a valid S3 bucket name (3–63 lowercase letters, digits, dots, hyphens)")
        }
    }

    /// Checks a key or prefix: slash-separated segments, none empty, `.` or `..`, no control characters,
    /// at most 1,024 UTF-8 bytes (S3's limit).
    static func check(keyPath: String) throws(OffsiteError) {
        guard keyPath.utf8.count <= 1024 else { throw .invalidLocation("key longer than 1024 bytes") }
        for segment in keyPath.split(separator: "/", omittingEmptySubsequences: false) {
            guard !segment.isEmpty, segment != ".", segment != ".." else {
                throw .invalidLocation("\"\(keyPath)\" has an empty, \".\" or \"..\" segment")
            }
            guard !segment.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw .invalidLocation("a key may not hold control characters")
            }
        }
    }
}
