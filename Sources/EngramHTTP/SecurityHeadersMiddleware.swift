import HTTPTypes
package import Hummingbird

/// Security headers on every response, errors included: a strict Content-Security-Policy (no
/// inline script or style), no framing, no MIME sniffing, no referrer; HSTS with `--behind-tls`.
package struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Send `Strict-Transport-Security`.
    package var hsts = false

    package init(hsts: Bool = false) { self.hsts = hsts }

    package static var csp: String {
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await APIError.responseOrError(request, context, next)
        if hsts { response.headers[.strictTransportSecurity] = "max-age=31536000; includeSubDomains" }
        response.headers[.contentSecurityPolicy] = Self.csp
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        response.headers[HTTPField.Name("Permissions-Policy")!] = "camera=(), microphone=(), geolocation=(), payment=()"
        return response
    }
}
