import EngramAuth
import EngramCore
public import EngramHTTP
import EngramHTTPEdge
import EngramMCP
import EngramMemory
import EngramMemoryModel
import Foundation
import HTTPTypes
public import Hummingbird
import Logging
import NIOCore
import Prometheus

/// Builds the Hummingbird application: MCP, REST, health and readiness, with
/// request logging that records method, route, status and time — never bodies,
/// query strings (they may hold memory text) or headers (they hold tokens).
public enum EngramHTTPServer {
    public static func router(services: ServerServices) -> Router<EngramRequestContext> {
        // Order: logging sees every final status; security and CORS headers land on every
        // response, errors included; the real client address is known before the limits;
        // the edge policy runs before any handler.
        let router = Router(context: EngramRequestContext.self)
        router.add(middleware: RequestLogMiddleware(logger: services.logger))
        router.add(middleware: SecurityHeadersMiddleware(hsts: services.limits.behindTLS))
        router.add(middleware: BrowserOriginMiddleware(limits: services.limits))
        router.add(middleware: ClientAddressMiddleware(proxies: services.limits.trustedProxies))
        if services.oauth != nil {
            router.add(middleware: ResourceChallengeMiddleware(publicURL: services.publicURL, behindTLS: services.limits.behindTLS))
        }
        router.add(middleware: SessionMiddleware(accounts: services.accounts, behindTLS: services.limits.behindTLS))
        router.add(
            middleware: BearerAuthMiddleware(
                verifier: services.verifier,
                directory: services.directory,
                limits: services.limits,
                publicURL: services.publicURL,
                shared: services.sharedRateBuckets
            )
        )
        router.add(middleware: WriteLimitMiddleware(writes: services.writeLimiter))
        router.add(middleware: MetricsMiddleware())
        let mcp = MCPEndpoint(services: services)
        router.post("mcp/{userId}") { request, context in try await mcp.handle(request, context: context) }
        for method in [HTTPRequest.Method.get, .delete, .put, .patch] {
            router.on("mcp/{userId}", method: method) { _, _ -> Response in
                Response(status: .methodNotAllowed, headers: [.allow: "POST"])
            }
        }
        // Preflights from allowed origins are answered by BrowserOriginMiddleware; the route exists so
        // they match `/mcp/{userId}` (whatever the raw path's spelling).
        router.on("mcp/{userId}", method: .options) { _, _ -> Response in Response(status: .forbidden) }
        router.get("healthz") { _, _ in JSONBody.response(.object(["status": "ok"])) }
        router.get("readyz") { _, _ in
            let r = services.readiness
            if let problem = await r.probe?() {
                return JSONBody.response(
                    .object(["status": "not ready", "store": .string(r.store), "problem": .string(problem)]),
                    status: .serviceUnavailable
                )
            }
            var ready: [String: JSONValue] = [
                "status": "ready", "store": .string(r.store), "embedder": .string(r.embedder), "blas": .string(r.blas),
                "kernels": .object(r.kernels.mapValues { .string($0) }),
                "search": .string(r.embedder.hasPrefix("none") ? "bm25-only" : "hybrid"),
                "mode": .string(r.mode),
                "encryption": .string(r.encryption),
                "metadata": .string(r.metadata),
                "version": .string(EngramVersion.current),
            ]
            if r.metadata == "postgres" {
                // Replicas: how far this one has followed the others' writes.
                let feed = services.memories.changeFeedStatus()
                var status: [String: JSONValue] = ["position": .int(feed.position), "gaps": .int(Int64(feed.gaps))]
                if let read = feed.lastReadAt { status["seconds_since_read"] = .double(max(0, -read.timeIntervalSinceNow)) }
                ready["change_feed"] = .object(status)
            }
            // Store writes recorded but not yet in the store (each finished by its writer or the reconciler).
            if let outbox = try? await services.memories.outboxStatus() {
                var status: [String: JSONValue] = ["pending": .int(Int64(outbox.pending))]
                if let age = outbox.oldestAge { status["oldest_seconds"] = .double(age) }
                ready["outbox"] = .object(status)
            }
            return JSONBody.response(.object(ready))
        }
        router.get("metrics") { _, context -> Response in
            // Local scrapes (loopback, not relayed by a proxy) need no token; from elsewhere an admin or owner token is required.
            if !context.isLoopback {
                let p = try context.requirePrincipal()
                guard p.role.allows(.reviewMemories) else { throw APIError.forbidden }
            }
            guard let registry = services.metrics else { throw APIError.notFound }
            let counts = services.memories.countsByState()
            for state in MemoryState.allCases {
                registry.makeGauge(name: "engram_memories", labels: [("state", state.rawValue)]).set(Double(counts[state] ?? 0))
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
            )
        }
        MemoryRoutes(services: services).register(on: router)
        AdminRoutes(services: services).register(on: router)
        WebhookRoutes(services: services).register(on: router)
        InvitationRoutes(services: services).register(on: router)
        AdminPage.register(on: router)
        if let accounts = services.accounts {
            AccountRoutes(services: services, accounts: accounts).register(on: router)
            AccountPages.register(on: router)
        }
        if let oauth = services.oauth { OAuthRoutes(services: services, oauth: oauth).register(on: router) }
        return router
    }

    public static func application(services: ServerServices, host: String, port: Int) -> some ApplicationProtocol {
        Application(
            router: router(services: services),
            server: EngramHTTPChannel.builder(limits: services.limits.connections, trustedProxies: services.limits.trustedProxies),
            configuration: .init(address: .hostname(host, port: port), serverName: "engram"),
            logger: services.logger
        )
    }
}
