import EngramAccounts
import EngramAuth
import EngramCore
import EngramHTTP
import EngramHTTPEdge
import EngramMemory
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The OAuth 2.1 surface for MCP clients (docs/oauth.md): resource and authorization-server metadata,
/// registration, the authorization endpoint with its consent page (the person signs in with the
/// accounts sign-in), the token and revocation endpoints. Rules live in `OAuthService`.
struct OAuthRoutes: Sendable {
    let services: ServerServices
    let oauth: OAuthService
    /// Registrations per client IP.
    let registrations = RateLimiter(rate: 10.0 / 60, burst: 20)
    /// Authorization requests naming a URL client id (each may make the server fetch it) per client IP.
    let metadataLookups = RateLimiter(rate: 30.0 / 60, burst: 30)

    func base(_ request: Request) -> String {
        ResourceURL.base(request, publicURL: services.publicURL, behindTLS: services.limits.behindTLS)
    }

    func register(on router: Router<EngramRequestContext>) {
        router.get(".well-known/oauth-protected-resource/mcp/{userId}") { request, context in
            let user = try context.parameters.require("userId")
            let b = base(request)
            return Self.json([
                "resource": .string(b + "/mcp/" + user), "authorization_servers": [.string(b)], "bearer_methods_supported": ["header"],
                "scopes_supported": [.string(OAuthService.scope)], "resource_name": .string("Engram memories of \(user)"),
            ])
        }
        for path in [".well-known/oauth-authorization-server", ".well-known/openid-configuration"] {
            router.get(RouterPath(stringLiteral: path)) { request, _ in Self.json(metadata(base(request))) }
        }
        router.post("oauth/register") { request, context in try await registerClient(request, context) }
        router.get("oauth/authorize") { request, context in try await authorize(request, context) }
        router.post("v1/oauth/consent/inspect") { request, context in try await consent(request, context, decide: false) }
        router.post("v1/oauth/consent") { request, context in try await consent(request, context, decide: true) }
        router.post("oauth/token") { request, _ in
            let form = try await Self.form(request, limit: 16 * 1024)
            let grant: TokenGrant
            switch form["grant_type"] {
            case "authorization_code": grant = try await oauth.exchangeCode(form)
            case "refresh_token": grant = try await oauth.refresh(form)
            default: throw OAuthError("unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
            }
            return Self.json([
                "access_token": .string(grant.accessToken), "token_type": "Bearer", "expires_in": .int(Int64(grant.expiresIn)),
                "refresh_token": .string(grant.refreshToken), "scope": .string(grant.scope),
            ])
        }
        router.post("oauth/revoke") { request, _ -> Response in
            let form = try await Self.form(request, limit: 16 * 1024)
            if let token = form["token"], !token.isEmpty, token.utf8.count <= 8192 { try await oauth.revoke(token, clientID: form["client_id"]) }
            return Response(status: .ok, headers: [.cacheControl: "no-store"])
        }
    }

    func metadata(_ b: String) -> [String: JSONValue] {
        [
            "issuer": .string(b), "authorization_endpoint": .string(b + "/oauth/authorize"), "token_endpoint": .string(b + "/oauth/token"),
            "registration_endpoint": .string(b + "/oauth/register"), "revocation_endpoint": .string(b + "/oauth/revoke"),
            "response_types_supported": ["code"], "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"], "token_endpoint_auth_methods_supported": ["none"],
            "revocation_endpoint_auth_methods_supported": ["none"], "scopes_supported": [.string(OAuthService.scope)],
            "client_id_metadata_document_supported": .bool(oauth.clientMetadata != nil), "authorization_response_iss_parameter_supported": true,
        ]
    }

    // MARK: - Registration

    func registerClient(_ request: Request, _ context: EngramRequestContext) async throws -> Response {
        if let wait = registrations.take("ip:" + context.clientIP) { throw APIError.tooManyRequests(retryAfter: wait, "client registrations") }
        let body = try await JSONBody.read(request, limit: 16 * 1024)
        guard case let .array(items)? = body["redirect_uris"] else { throw OAuthError("invalid_redirect_uri", "redirect_uris is required") }
        let uris = items.compactMap(\.stringValue)
        guard uris.count == items.count else { throw OAuthError("invalid_redirect_uri", "redirect_uris must be strings") }
        // Public clients only: whatever token_endpoint_auth_method was asked, the answer registers "none".
        let client = try await oauth.register(redirectURIs: uris, clientName: body["client_name"]?.stringValue)
        var answer: [String: JSONValue] = [
            "client_id": .string(client.clientId), "client_id_issued_at": .int(Int64(client.createdAt.timeIntervalSince1970)),
            "redirect_uris": .array(client.redirectURIs.map { .string($0) }), "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"], "token_endpoint_auth_method": "none", "scope": .string(OAuthService.scope),
        ]
        if let name = client.clientName { answer["client_name"] = .string(name) }
        return JSONBody.response(.object(answer), status: .created, headers: [.cacheControl: "no-store"])
    }

    // MARK: - Authorization

    func authorize(_ request: Request, _ context: EngramRequestContext) async throws -> Response {
        let query = request.uri.query ?? ""
        let b = base(request)
        try limitMetadataLookups(query, context)
        let auth: AuthorizationRequest
        do {
            auth = try await oauth.validate(Self.parameters(query))
        } catch let error as OAuthError {
            return try errorAnswer(error, query: query, base: b)
        }
        guard let session = context.session else {
            let next = "/oauth/authorize?" + query
            let encoded = next.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~/"))) ?? "/me"
            return Response(status: .found, headers: [.location: "/signin?next=" + encoded, .cacheControl: "no-store"])
        }
        do {
            _ = try OAuthService.resource(of: auth, base: b, userId: session.userId)
        } catch let error as OAuthError {
            return Self.redirect(
                Self.callback(auth.redirectURI, ["error": error.code, "error_description": error.message, "state": auth.state, "iss": b])
            )
        }
        return try AccountPages.serve("consent.html", type: "text/html; charset=utf-8")
    }

    /// A URL client id may make the server fetch its metadata document: limited per client IP.
    func limitMetadataLookups(_ query: String, _ context: EngramRequestContext) throws {
        guard oauth.clientMetadata != nil, let id = Self.parameters(query)["client_id"], ClientMetadataDocuments.isURLClientID(id) else { return }
        if let wait = metadataLookups.take("ip:" + context.clientIP) { throw APIError.tooManyRequests(retryAfter: wait, "client metadata lookups") }
    }

    /// A non-redirectable error is shown (400, plain text); any other goes back to the client.
    func errorAnswer(_ error: OAuthError, query: String, base b: String) throws -> Response {
        let q = Self.parameters(query)
        guard error.redirectable, let redirect = q["redirect_uri"] else {
            return Response(
                status: .badRequest,
                headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: "Engram cannot start this sign-in: \(error.message).\n"))
            )
        }
        return Self.redirect(Self.callback(redirect, ["error": error.code, "error_description": error.message, "state": q["state"], "iss": b]))
    }

    /// The consent page's calls: what is asked (`decide` false), or the person's answer.
    func consent(_ request: Request, _ context: EngramRequestContext, decide: Bool) async throws -> Response {
        guard let session = context.session else { throw APIError.unauthorized("sign in first") }
        if context.identity == nil, let failure = context.authenticationFailure { throw failure }
        let body = try await JSONBody.read(request, limit: 16 * 1024)
        guard let query = body["query"]?.stringValue else { throw APIError.badRequest("body needs query") }
        try limitMetadataLookups(query, context)
        let b = base(request)
        let auth: AuthorizationRequest
        do {
            auth = try await oauth.validate(Self.parameters(query))
        } catch let error as OAuthError where error.redirectable {
            let q = Self.parameters(query)
            let url = q["redirect_uri"].map {
                Self.callback($0, ["error": error.code, "error_description": error.message, "state": q["state"], "iss": b])
            }
            return JSONBody.response(.object(["error": .string(error.code), "redirect": url.map { .string($0) } ?? .null]), status: .badRequest)
        }
        let resource: String
        do {
            resource = try OAuthService.resource(of: auth, base: b, userId: session.userId)
        } catch let error as OAuthError {
            let url = Self.callback(auth.redirectURI, ["error": error.code, "error_description": error.message, "state": auth.state, "iss": b])
            return JSONBody.response(.object(["error": .string(error.code), "redirect": .string(url)]), status: .badRequest)
        }
        guard decide else {
            return JSONBody.response(
                .object([
                    "client_id": .string(auth.client.clientId), "client_name": .string(auth.client.clientName ?? auth.client.clientId),
                    "redirect_host": .string(URLComponents(string: auth.redirectURI)?.host ?? auth.redirectURI),
                    "resource": .string(resource), "user_id": .string(session.userId),
                    // A client described by its metadata document: the host that serves it vouches for it.
                    "client_host": auth.client.fromMetadataDocument ? .string(URLComponents(string: auth.client.clientId)?.host ?? "") : .null,
                ])
            )
        }
        guard case let .bool(approve)? = body["approve"] else { throw APIError.badRequest("body needs approve (boolean)") }
        if !approve {
            try await oauth.deny(auth, userId: session.userId)
            let url = Self.callback(
                auth.redirectURI,
                ["error": "access_denied", "error_description": "the user declined", "state": auth.state, "iss": b]
            )
            return JSONBody.response(.object(["redirect": .string(url)]))
        }
        let code = try await oauth.approve(auth, principal: session.principal, base: b)
        return JSONBody.response(.object(["redirect": .string(Self.callback(auth.redirectURI, ["code": code, "state": auth.state, "iss": b]))]))
    }

    // MARK: - Helpers

    static func json(_ object: [String: JSONValue]) -> Response {
        JSONBody.response(.object(object), headers: [.cacheControl: "no-store"])
    }

    static func redirect(_ url: String) -> Response {
        Response(status: .found, headers: [.location: url, .cacheControl: "no-store"])
    }

    /// `uri` with the parameters appended to its query (nil values left out).
    static func callback(_ uri: String, _ parameters: [String: String?]) -> String {
        guard var c = URLComponents(string: uri) else { return uri }
        var items = c.queryItems ?? []
        for key in ["code", "error", "error_description", "state", "iss"] {
            if case let value?? = parameters[key] { items.append(URLQueryItem(name: key, value: value)) }
        }
        c.queryItems = items
        // `+` is a space in form decoding: encode it so the client reads the value back unchanged.
        c.percentEncodedQuery = c.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        return c.string ?? uri
    }

    /// A query or form body as name → first value.
    static func parameters(_ query: String) -> [String: String] {
        var c = URLComponents()
        c.percentEncodedQuery = query.replacingOccurrences(of: "+", with: "%20")
        var out: [String: String] = [:]
        for item in c.queryItems ?? [] where out[item.name] == nil { out[item.name] = item.value ?? "" }
        return out
    }

    /// An `application/x-www-form-urlencoded` body.
    static func form(_ request: Request, limit: Int) async throws -> [String: String] {
        let buffer = try await request.body.collect(upTo: limit)
        return parameters(String(buffer: buffer))
    }
}
