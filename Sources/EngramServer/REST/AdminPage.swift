import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Serves the admin page (`/admin`): static files bundled with the server, no
/// build toolchain, no CDN. Only the files listed here are served.
enum AdminPage {
    static let files: [String: String] = [
        "index.html": "text/html; charset=utf-8",
        "admin.css": "text/css; charset=utf-8",
        "admin.js": "text/javascript; charset=utf-8",
        "favicon.svg": "image/svg+xml",
    ]

    static func register(on router: Router<EngramRequestContext>) {
        router.get("admin") { _, _ in try serve("index.html") }
        router.get("admin/{file}") { _, context in
            guard let name = context.parameters.get("file"), files[name] != nil else { throw APIError.notFound }
            return try serve(name)
        }
    }

    static func serve(_ name: String) throws -> Response {
        guard let type = files[name], let base = Bundle.module.resourceURL,
              let data = try? Data(contentsOf: base.appendingPathComponent("Admin").appendingPathComponent(name)) else {
            throw APIError.notFound
        }
        return Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-cache"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Security headers on every response, errors included: a strict Content-Security-Policy (no
/// inline script or style), no framing, no MIME sniffing, no referrer; HSTS with `--behind-tls`.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Send `Strict-Transport-Security`.
    var hsts = false

    static var csp: String {
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
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
