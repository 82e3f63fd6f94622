import EngramAccounts
import EngramAuth
import EngramCore
import EngramHTTP
import EngramMemory
import EngramScreening
import EngramServer
import EngramStore
import EngramStoreModel
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore

@testable import EngramSecrets

/// One Engram HTTP server in process, over a fresh embedded store in a temporary directory:
/// the real router (`EngramHTTPServer.router(services:)`), a member directory, a token service with
/// a random high-entropy secret, and a BM25-only memory service (no embedder: the HTTP behaviour
/// under test does not depend on semantics) with an audit log.
struct RouteServer: Sendable {
    let services: ServerServices
    let directory: MemberDirectory
    let tokens: TokenService
    let accounts: AccountService

    /// Logs only what would be a crash: route tests assert on responses, not log lines.
    static let logger: Logger = {
        var logger = Logger(label: "engram.route-tests")
        logger.logLevel = .critical
        return logger
    }()

    /// A server with `limits`; orgs in `reviewOrgs` require review; tokens signed with `secret` and
    /// checked by `verifier` (the token service when nil).
    init(
        limits: ServerLimits = ServerLimits(),
        reviewOrgs: Set<String> = [],
        secret: String = RouteServer.randomSecret(),
        verifier: (any BearerTokenVerifier)? = nil,
        accountSettings: AccountSettings = AccountSettings(),
        accountClock: @escaping @Sendable () -> Date = { Date() }
    ) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("engram-routes-\(UUID().uuidString)")
        let store = try EmbeddedStore(directory: folder, logger: Self.logger)
        directory = try MemberDirectory(metadata: store.database)
        tokens = await TokenService(secret: secret)
        let memories = try await MemoryService(
            store: store,
            embedder: nil,
            requiresReview: { reviewOrgs.contains($0) },
            audit: try AuditLog(metadata: store.database),
            metadata: store.database,
            logger: Self.logger
        )
        accounts = AccountService(
            metadata: store.database,
            directory: directory,
            audit: try AuditLog(metadata: store.database),
            tokens: tokens,
            totpBox: SecretBox(masterKey: Self.randomSecret(), purpose: "totp"),
            settings: accountSettings,
            clock: accountClock
        )
        services = try ServerServices(
            memories: memories,
            directory: directory,
            tokens: tokens,
            limits: limits,
            readiness: ReadinessInfo(store: "embedded", embedder: "none (BM25-only)", blas: "test", mode: "test"),
            logger: Self.logger,
            verifier: verifier,
            accounts: accounts
        )
    }

    /// 48 random bytes, base64: well above `TokenService`'s length and entropy floors.
    static func randomSecret() -> String {
        var rng = SystemRandomNumberGenerator()
        return Data((0..<48).map { _ in UInt8.random(in: .min ... .max, using: &rng) }).base64EncodedString()
    }

    /// Makes `user` a member of `org` with `role` (or just a user without an org) and returns a token for them.
    func token(_ user: String, org: String? = "acme", role: Role = .member) async throws -> String {
        if let org {
            try await directory.upsertMember(userId: user, orgId: org, role: role)
        } else {
            try await directory.upsertUser(user)
        }
        return try await tokens.issue(for: Principal(userId: user, orgId: org, role: role)).token
    }

    /// Runs `body` against the router in process (no sockets).
    func test<Value: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        try await Application(router: EngramHTTPServer.router(services: services), logger: Self.logger).test(.router, body)
    }
}

extension TestClientProtocol {
    /// Sends `method uri` with an optional bearer token and a JSON value or raw text body.
    func send(
        _ method: HTTPRequest.Method,
        _ uri: String,
        token: String? = nil,
        json: JSONValue? = nil,
        raw: String? = nil,
        headers: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = headers
        if let token { headers[.authorization] = "Bearer \(token)" }
        var body: ByteBuffer?
        if let json {
            body = ByteBuffer(bytes: try JSONEncoder().encode(json))
        } else if let raw {
            body = ByteBuffer(string: raw)
        }
        if body != nil { headers[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: headers, body: body)
    }

    /// Posts a JSON-RPC request (`id` nil: a notification) to the MCP endpoint of `user`.
    func rpc(
        _ user: String,
        token: String?,
        method: String,
        params: JSONValue? = nil,
        id: JSONValue? = 1,
        headers: HTTPFields = [:]
    ) async throws -> TestResponse {
        var message: [String: JSONValue] = ["jsonrpc": "2.0", "method": .string(method)]
        if let id { message["id"] = id }
        if let params { message["params"] = params }
        return try await send(.post, "/mcp/\(user)", token: token, json: .object(message), headers: headers)
    }

    /// Calls an MCP tool as request id 1.
    func callTool(_ user: String, token: String, _ name: String, _ arguments: JSONValue) async throws -> TestResponse {
        try await rpc(user, token: token, method: "tools/call", params: ["name": .string(name), "arguments": arguments])
    }
}

extension TestResponse {
    /// The body as JSON (`.null` for an empty or non-JSON body).
    var json: JSONValue {
        (try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView))) ?? .null
    }

    /// The body as text.
    var text: String { String(buffer: body) }

    /// `error.code` of a REST error body.
    var errorCode: String? { json["error"]?["code"]?.stringValue }

    /// `error.code` of a JSON-RPC error response.
    var rpcErrorCode: Int64? {
        guard case let .int(code)? = json["error"]?["code"] else { return nil }
        return code
    }
}

extension JSONValue {
    /// The elements of an array (empty for anything else).
    var items: [JSONValue] {
        if case let .array(a) = self { return a }
        return []
    }
}

/// Secret-shaped strings assembled at run time, so that no scanner ever sees a literal credential in the repository.
enum SecretFixtures {
    /// A GitHub-style token: 30 random base62 characters and their base62 CRC32, which the secret filter verifies.
    static func fakeGitHubToken() -> String {
        let body = String((0..<30).map { _ in Character(UnicodeScalar(CRC32.base62Alphabet.randomElement()!)) })
        return "gh" + "p_" + body + String(decoding: CRC32.base62(CRC32.checksum(Array(body.utf8))), as: UTF8.self)
    }
}
