import EngramKernels
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Builds the Hummingbird application: MCP, REST, health and readiness, with
/// request logging that records method, route, status and time — never bodies,
/// query strings (they may hold memory text) or headers (they hold tokens).
public enum EngramHTTPServer {
    public static func router(services: ServerServices) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: RequestLogMiddleware(logger: services.logger))
        router.add(middleware: SecurityHeadersMiddleware())
        let mcp = MCPEndpoint(services: services)
        router.post("mcp/{userId}") { request, context in try await mcp.handle(request, context: context) }
        for method in [HTTPRequest.Method.get, .delete, .put, .patch] {
            router.on("mcp/{userId}", method: method) { _, _ -> Response in
                Response(status: .methodNotAllowed, headers: [.allow: "POST"])
            }
        }
        router.get("healthz") { _, _ in JSONBody.response(.object(["status": "ok"])) }
        router.get("readyz") { _, _ in
            let r = services.readiness
            return JSONBody.response(.object([
                "status": "ready", "store": .string(r.store), "embedder": .string(r.embedder), "blas": .string(r.blas),
                "search": .string(r.embedder.hasPrefix("none") ? "bm25-only" : "hybrid"),
                "memories": .int(Int64(services.memories.count)), "mode": .string(r.mode),
                "version": .string(EngramVersion.current),
            ]))
        }
        RESTRoutes(services: services).register(on: router)
        AdminRoutes(services: services).register(on: router)
        AdminPage.register(on: router)
        return router
    }

    public static func application(services: ServerServices, host: String, port: Int) -> some ApplicationProtocol {
        Application(router: router(services: services),
                    configuration: .init(address: .hostname(host, port: port), serverName: "engram"),
                    logger: services.logger)
    }
}

/// Logs one line per request: method, route template, status, milliseconds.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        func log(_ status: HTTPResponse.Status) {
            let ms = (ContinuousClock.now - start) / .milliseconds(1)
            logger.info("request", metadata: [
                "method": "\(request.method.rawValue)", "route": "\(context.endpointPath ?? "unmatched")",
                "status": "\(status.code)", "ms": "\(String(format: "%.2f", ms))",
            ])
        }
        do {
            let response = try await next(request, context)
            log(response.status)
            return response
        } catch let error as any HTTPResponseError {
            log(error.status)
            throw error
        } catch {
            log(.internalServerError)
            logger.error("unhandled error", metadata: ["error": "\(type(of: error))"])
            throw APIError(.internalServerError, code: "internal", "internal error")
        }
    }
}
