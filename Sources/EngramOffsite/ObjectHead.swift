public import Foundation

/// What a HEAD request tells about an object.
public struct ObjectHead: Sendable, Equatable {
    public var contentLength: Int64?
    public var lockMode: String?
    /// The retain-until date as the server wrote it.
    public var retainUntilText: String?
    public var versionID: String?
    public var etag: String?

    public init(
        contentLength: Int64? = nil,
        lockMode: String? = nil,
        retainUntilText: String? = nil,
        versionID: String? = nil,
        etag: String? = nil
    ) {
        self.contentLength = contentLength
        self.lockMode = lockMode
        self.retainUntilText = retainUntilText
        self.versionID = versionID
        self.etag = etag
    }

    /// The retain-until date, parsed.
    public var retainUntil: Date? { retainUntilText.flatMap(ObjectLockRetention.parse) }
}
