import EngramAccounts
import EngramAuth
import EngramDatabase
import Foundation
import Synchronization
import Testing

@testable import EngramMemory

/// Client ID Metadata Documents: the rules a document must meet, the cache, and a whole authorization
/// with a URL client id on a real SQLite file. The network is a scripted fetcher here (its own tests
/// and the pytest suite fetch over real HTTPS).
@Suite struct ClientMetadataDocumentsTests {
    static let url = "https://client.example/oauth/metadata.json"

    /// Serves scripted answers per URL and counts fetches.
    final class Scripted: ClientMetadataFetching {
        let answers: Mutex<[String: Result<FetchedClientMetadata, ClientMetadataFetchError>]>
        let fetches = Mutex(0)

        init(_ answers: [String: Result<FetchedClientMetadata, ClientMetadataFetchError>]) { self.answers = Mutex(answers) }

        func fetch(_ url: URL, limit: Int) async throws -> FetchedClientMetadata {
            fetches.withLock { $0 += 1 }
            guard let answer = answers.withLock({ $0[url.absoluteString] }) else { throw ClientMetadataFetchError("HTTP 404") }
            return try answer.get()
        }
    }

    static func document(_ fields: [String: Any], maxAge: TimeInterval? = nil) -> Result<FetchedClientMetadata, ClientMetadataFetchError> {
        let body = try! JSONSerialization.data(withJSONObject: fields)
        return .success(FetchedClientMetadata(body: Array(body), maxAge: maxAge))
    }

    static var good: [String: Any] {
        [
            "client_id": url, "client_name": "Example Agent", "redirect_uris": ["http://127.0.0.1:3000/callback"],
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"], "token_endpoint_auth_method": "none",
        ]
    }

    static func with(_ changes: [String: Any?]) -> [String: Any] {
        var d = good
        for (k, v) in changes { d[k] = v }
        return d
    }

    @Test func aValidDocumentDescribesThePublicClient() async throws {
        let documents = ClientMetadataDocuments(fetcher: Scripted([Self.url: Self.document(Self.good)]))
        let client = try await documents.client(Self.url)
        #expect(client.clientId == Self.url)
        #expect(client.clientName == "Example Agent")
        #expect(client.redirectURIs == ["http://127.0.0.1:3000/callback"])
        #expect(client.fromMetadataDocument)
    }

    @Test func documentsThatBreakTheRulesAreRefused() async throws {
        let bad: [(String, [String: Any])] = [
            ("another client_id", Self.with(["client_id": "https://other.example/oauth/metadata.json"])),
            ("no client_id", Self.with(["client_id": nil])),
            ("no redirect_uris", Self.with(["redirect_uris": nil])),
            ("empty redirect_uris", Self.with(["redirect_uris": [String]()])),
            ("javascript redirect", Self.with(["redirect_uris": ["javascript:alert(1)"]])),
            ("non-loopback http redirect", Self.with(["redirect_uris": ["http://evil.example/cb"]])),
            ("a client secret", Self.with(["client_secret": "s3cr3t-value"])),
            ("confidential auth method", Self.with(["token_endpoint_auth_method": "client_secret_basic"])),
            ("no code grant", Self.with(["grant_types": ["client_credentials"]])),
            ("no code response type", Self.with(["response_types": ["token"]])),
        ]
        for (label, fields) in bad {
            let documents = ClientMetadataDocuments(fetcher: Scripted([Self.url: Self.document(fields)]))
            await #expect(throws: OAuthError.self, "\(label)") { _ = try await documents.client(Self.url) }
        }
        let notJSON = ClientMetadataDocuments(fetcher: Scripted([Self.url: .success(FetchedClientMetadata(body: Array("<html>".utf8), maxAge: nil))]))
        await #expect(throws: OAuthError.self) { _ = try await notJSON.client(Self.url) }
    }

    @Test func clientIDURLsMustBeHTTPSWithAPath() async throws {
        let scripted = Scripted([:])
        let documents = ClientMetadataDocuments(fetcher: scripted)
        for id in [
            "https://client.example", "https://client.example/", "http://client.example/meta.json", "https://user:pw@client.example/m.json",
            "https://client.example/a/../m.json", "https://client.example/m.json#frag",
        ] {
            await #expect(throws: OAuthError.self, "\(id)") { _ = try await documents.client(id) }
        }
        #expect(scripted.fetches.withLock { $0 } == 0, "no URL of the wrong shape is fetched")
    }

    @Test func documentsAreCachedForTheirMaxAgeAndFailuresBriefly() async throws {
        let now = Mutex(Date(timeIntervalSince1970: 1_000_000))
        let failing = "https://client.example/missing.json"
        let scripted = Scripted([Self.url: Self.document(Self.good, maxAge: 120)])
        let documents = ClientMetadataDocuments(fetcher: scripted, clock: { now.withLock { $0 } })
        _ = try await documents.client(Self.url)
        _ = try await documents.client(Self.url)
        #expect(scripted.fetches.withLock { $0 } == 1)
        now.withLock { $0 += 121 }
        _ = try await documents.client(Self.url)
        #expect(scripted.fetches.withLock { $0 } == 2, "fetched again after max-age")

        for _ in 0..<3 { await #expect(throws: OAuthError.self) { _ = try await documents.client(failing) } }
        #expect(scripted.fetches.withLock { $0 } == 3, "a failure is remembered, not fetched on every request")
        now.withLock { $0 += 31 }
        await #expect(throws: OAuthError.self) { _ = try await documents.client(failing) }
        #expect(scripted.fetches.withLock { $0 } == 4)

        // no-store: used for the request, never cached.
        let uncached = Scripted([Self.url: Self.document(Self.good, maxAge: 0)])
        let fresh = ClientMetadataDocuments(fetcher: uncached)
        _ = try await fresh.client(Self.url)
        _ = try await fresh.client(Self.url)
        #expect(uncached.fetches.withLock { $0 } == 2)
    }

    @Test func aURLClientAuthorizesAndExchangesItsCode() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("engram-cimd-\(UUID()).sqlite").path
        let metadata = try await TestMetadata.make { try EngramDatabase(path: path) }
        defer { withExtendedLifetime(metadata) {} }
        let database = metadata.store
        let directory = MemberDirectory(metadata: database)
        let tokens = await TokenService(secret: OneTimeSecret.generate().value + OneTimeSecret.generate().value)
        try await directory.upsertMember(userId: "alice", orgId: "acme", role: .member)
        let base = "http://127.0.0.1:8080"
        let verifier = String(repeating: "v", count: 20) + OneTimeSecret.generate().value
        var query = [
            "response_type": "code", "client_id": Self.url, "redirect_uri": "http://127.0.0.1:4711/callback",
            "code_challenge_method": "S256", "code_challenge": OAuthService.challenge(of: verifier), "resource": base + "/mcp/alice",
        ]

        let off = OAuthService(metadata: database, directory: directory, audit: nil, tokens: tokens)
        await #expect(throws: OAuthError("invalid_client", "unknown client", redirectable: false)) { _ = try await off.validate(query) }

        let oauth = OAuthService(
            metadata: database,
            directory: directory,
            audit: nil,
            tokens: tokens,
            clientMetadata: ClientMetadataDocuments(fetcher: Scripted([Self.url: Self.document(Self.good)]))
        )
        let request = try await oauth.validate(query)
        #expect(request.client.fromMetadataDocument)
        let code = try await oauth.approve(request, principal: Principal(userId: "alice", orgId: "acme", role: .member), base: base)
        let grant = try await oauth.exchangeCode([
            "code": code, "code_verifier": verifier, "client_id": Self.url, "redirect_uri": "http://127.0.0.1:4711/callback",
        ])
        let claims = try await tokens.verify(grant.accessToken)
        #expect(claims.cid == Self.url)
        #expect(claims.aud == base + "/mcp/alice")

        // A redirect URI the document does not list is refused without a redirect.
        query["redirect_uri"] = "http://127.0.0.1:4711/elsewhere"
        await #expect(throws: OAuthError.self) { _ = try await oauth.validate(query) }
    }
}
