import EngramHTTP
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
        guard let type = files[name] else { throw APIError.notFound }
        return try bundled(folder: "Admin", name: name, type: type, cacheControl: "no-cache")
    }

    /// A file bundled with the server (`Package.swift` copies `REST/Admin` and `REST/Account`), or 404.
    static func bundled(folder: String, name: String, type: String, cacheControl: String) throws -> Response {
        guard let base = Bundle.module.resourceURL,
            let data = try? Data(contentsOf: base.appendingPathComponent(folder).appendingPathComponent(name))
        else { throw APIError.notFound }
        return Response(
            status: .ok,
            headers: [.contentType: type, .cacheControl: cacheControl],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}
