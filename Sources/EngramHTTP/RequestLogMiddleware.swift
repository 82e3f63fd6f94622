import EngramCore
import HTTPTypes
package import Hummingbird
package import Logging

/// Logs one line per request: method, route template, status, milliseconds.
package struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    package let logger: Logger

    package init(logger: Logger) { self.logger = logger }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let stage = StageClock.start()
        defer { StageClock.stop(.server, stage) }
        func log(_ status: HTTPResponse.Status) {
            let ms = (ContinuousClock.now - start) / .milliseconds(1)
            logger.info(
                "request",
                metadata: [
                    "method": "\(request.method.rawValue)", "route": "\(context.endpointPath ?? "unmatched")",
                    "status": "\(status.code)", "ms": "\(DecimalText.fixed(ms, digits: 2))",
                ]
            )
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
