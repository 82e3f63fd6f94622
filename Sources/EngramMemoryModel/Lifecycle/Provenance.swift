/// Where a memory came from, recorded when it is first written and never editable by clients.
/// The author is the memory's `userId`; the task and repository are its `taskId` and `repo`.
public struct Provenance: Sendable, Hashable, Codable {
    /// The path the first write came in by.
    public var channel: WriteChannel
    /// The client that wrote it: the MCP client's `name/version`, else the HTTP `User-Agent`.
    public var client: String?
    /// The id of the request that wrote it (as in the server's request log).
    public var requestId: String?
    /// The branch and commit the caller was on, when it said so.
    public var branch: String?
    public var commit: String?
    /// The id (`jti`) of the token that wrote it, when it came with one.
    public var tokenId: String?

    public init(
        channel: WriteChannel = .rest,
        client: String? = nil,
        requestId: String? = nil,
        branch: String? = nil,
        commit: String? = nil,
        tokenId: String? = nil
    ) {
        self.channel = channel
        self.client = client
        self.requestId = requestId
        self.branch = branch
        self.commit = commit
        self.tokenId = tokenId
    }
}

/// Who is asking to write, and by which path: recorded as provenance on new memories and on every version.
public struct WriteOrigin: Sendable, Hashable {
    public var channel: WriteChannel
    /// `name/version` of the MCP client, or the HTTP `User-Agent` (at most 128 characters are kept).
    public var client: String?
    public var requestId: String?
    /// The id (`jti`) of the bearer token of the request (nil for sessions without one, the CLI, the server).
    public var tokenId: String?

    public init(_ channel: WriteChannel, client: String? = nil, requestId: String? = nil, tokenId: String? = nil) {
        self.channel = channel
        self.client = client.map { String($0.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(128).map(Character.init)) }
        self.requestId = requestId.map { String($0.prefix(64)) }
        self.tokenId = tokenId.map { String($0.prefix(64)) }
    }

    /// The server itself (sweeps, retention).
    public static let system = WriteOrigin(.system)
}
