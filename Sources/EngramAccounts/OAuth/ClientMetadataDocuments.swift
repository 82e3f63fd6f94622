public import Foundation
import Synchronization

/// What the network gave back for a client metadata URL: the body (at most the limit asked) and how
/// long the server said it may be cached (`Cache-Control: max-age`; 0 for `no-store`/`no-cache`).
public struct FetchedClientMetadata: Sendable {
    public var body: [UInt8]
    public var maxAge: TimeInterval?

    public init(body: [UInt8], maxAge: TimeInterval?) {
        self.body = body
        self.maxAge = maxAge
    }
}

/// Why a metadata document could not be fetched, in a few words (`private address`, `too large`,
/// `HTTP 404`, `timed out`). Never the document's content.
public struct ClientMetadataFetchError: Error, Sendable, CustomStringConvertible {
    public var reason: String

    public init(_ reason: String) { self.reason = reason }

    public var description: String { reason }
}

/// Fetches a client metadata document over HTTPS. The edge implements it (address checks, TLS, size
/// and time limits); the domain only sees bytes.
public protocol ClientMetadataFetching: Sendable {
    /// The document at `url`, at most `limit` bytes; throws `ClientMetadataFetchError`.
    func fetch(_ url: URL, limit: Int) async throws -> FetchedClientMetadata
}

/// OAuth Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, as the MCP
/// authorization spec uses them): a client whose `client_id` is an HTTPS URL is described by the JSON
/// document at that URL, so it needs no registration. The document is fetched when an authorization
/// request names it, validated, and cached (its `max-age`, bounded; failures briefly, so a bad URL is
/// not fetched on every request).
///
/// Written by hand: no package among the available ones implements the draft.
public final class ClientMetadataDocuments: Sendable {
    /// The largest document accepted (the draft suggests 5 KB).
    public static let maximumBytes = 5 * 1024
    /// Cache lifetime bounds for a valid document, and how long a failure is remembered.
    static let defaultLifetime: TimeInterval = 3600
    static let minimumLifetime: TimeInterval = 60
    static let maximumLifetime: TimeInterval = 86_400
    static let failureLifetime: TimeInterval = 30
    static let capacity = 512

    enum Entry {
        case client(OAuthClient, until: Date)
        case failure(OAuthError, until: Date)

        var until: Date {
            switch self {
            case let .client(_, until), let .failure(_, until): until
            }
        }
    }

    let fetcher: any ClientMetadataFetching
    let clock: @Sendable () -> Date
    let cache = Mutex<[String: Entry]>([:])

    public init(fetcher: any ClientMetadataFetching, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.fetcher = fetcher
        self.clock = clock
    }

    /// Whether `clientID` is a URL client id (as opposed to one Engram registered).
    public static func isURLClientID(_ clientID: String) -> Bool {
        clientID.lowercased().hasPrefix("https://")
    }

    /// The client a URL client id describes: from the cache, else fetched and validated.
    public func client(_ clientID: String) async throws -> OAuthClient {
        let now = clock()
        if let entry = cache.withLock({ $0[clientID] }), entry.until > now {
            switch entry {
            case let .client(client, _): return client
            case let .failure(error, _): throw error
            }
        }
        do {
            let url = try Self.checkedURL(clientID)
            let fetched: FetchedClientMetadata
            do {
                fetched = try await fetcher.fetch(url, limit: Self.maximumBytes)
            } catch let failure as ClientMetadataFetchError {
                throw Self.failure("the client's metadata document could not be fetched (\(failure.reason))")
            }
            let client = try Self.client(from: fetched.body, clientID: clientID, at: now)
            let lifetime = min(max(fetched.maxAge ?? Self.defaultLifetime, Self.minimumLifetime), Self.maximumLifetime)
            // `no-store` and `max-age=0` are honoured: the document is used for this request only.
            if fetched.maxAge != 0 { remember(clientID, .client(client, until: now.addingTimeInterval(lifetime)), now: now) }
            return client
        } catch let error as OAuthError {
            remember(clientID, .failure(error, until: now.addingTimeInterval(Self.failureLifetime)), now: now)
            throw error
        }
    }

    func remember(_ clientID: String, _ entry: Entry, now: Date) {
        cache.withLock { cache in
            if cache.count >= Self.capacity {
                cache = cache.filter { $0.value.until > now }
                if cache.count >= Self.capacity, let any = cache.keys.first { cache[any] = nil }
            }
            cache[clientID] = entry
        }
    }

    /// The client id as a URL the draft allows: https, a host, a path other than `/`, no fragment,
    /// no user info, no `.`/`..` segments, at most 2,000 bytes.
    static func checkedURL(_ clientID: String) throws -> URL {
        guard clientID.utf8.count <= 2000, let c = URLComponents(string: clientID), c.scheme?.lowercased() == "https",
            let host = c.host, !host.isEmpty, c.user == nil, c.password == nil, c.fragment == nil,
            !c.path.isEmpty, c.path != "/", let url = c.url
        else { throw failure("a URL client id must be https with a path, no fragment and no user info") }
        let segments = c.path.split(separator: "/", omittingEmptySubsequences: false)
        guard !segments.contains(where: { $0 == "." || $0 == ".." }) else { throw failure("a URL client id must not have dot segments") }
        return url
    }

    /// Validates a document: JSON, its `client_id` exactly the URL it came from, redirect URIs Engram
    /// accepts, a public client (no secret, `token_endpoint_auth_method` none), the code grant.
    static func client(from body: [UInt8], clientID: String, at now: Date) throws -> OAuthClient {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
            throw failure("the client's metadata document is not a JSON object")
        }
        guard object["client_id"] as? String == clientID else { throw failure("the client's metadata document names another client_id") }
        guard let uris = object["redirect_uris"] as? [String], (1...10).contains(uris.count),
            (object["redirect_uris"] as? [Any])?.count == uris.count
        else { throw failure("the client's metadata document needs 1 to 10 redirect_uris") }
        guard uris.allSatisfy(OAuthService.acceptableRedirect) else {
            throw failure("the client's metadata document has a redirect URI that is not https, loopback http or a private-use scheme")
        }
        if object["client_secret"] != nil || object["client_secret_expires_at"] != nil {
            throw failure("the client's metadata document carries a client secret (only public clients may use metadata documents)")
        }
        if let method = object["token_endpoint_auth_method"], method as? String != "none" {
            throw failure("the client's metadata document asks for token_endpoint_auth_method other than none")
        }
        if let grants = object["grant_types"], !((grants as? [String])?.contains("authorization_code") ?? false) {
            throw failure("the client's metadata document does not allow the authorization_code grant")
        }
        if let types = object["response_types"], !((types as? [String])?.contains("code") ?? false) {
            throw failure("the client's metadata document does not allow response_type code")
        }
        let name = (object["client_name"] as? String).map { String($0.filter { !$0.isNewline && $0 != "\u{0}" }.prefix(100)) }
        return OAuthClient(clientId: clientID, clientName: name, redirectURIs: uris, createdAt: now, fromMetadataDocument: true)
    }

    static func failure(_ reason: String) -> OAuthError {
        OAuthError("invalid_client", reason, redirectable: false)
    }
}
