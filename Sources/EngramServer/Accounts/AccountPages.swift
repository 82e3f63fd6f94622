import EngramHTTP
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The account pages: `/signin`, `/me`, `/invite` and `/reset` (one page reads both kinds of link from
/// the URL fragment), and their assets under `/account/`. Static files bundled with the server; no
/// inline script or style, so the strict Content-Security-Policy holds.
enum AccountPages {
    static let pages: [String: String] = ["signin": "signin.html", "me": "me.html", "invite": "link.html", "reset": "link.html"]
    static let assets: [String: String] = [
        "account.css": "text/css; charset=utf-8",
        "account.js": "text/javascript; charset=utf-8",
        "signin.js": "text/javascript; charset=utf-8",
        "link.js": "text/javascript; charset=utf-8",
        "me.js": "text/javascript; charset=utf-8",
        "consent.js": "text/javascript; charset=utf-8",
    ]

    static func register(on router: Router<EngramRequestContext>) {
        for (path, file) in pages {
            router.get(RouterPath(stringLiteral: path)) { _, _ in try serve(file, type: "text/html; charset=utf-8") }
        }
        router.get("account/{file}") { _, context in
            guard let name = context.parameters.get("file"), let type = assets[name] else { throw APIError.notFound }
            return try serve(name, type: type)
        }
    }

    static func serve(_ name: String, type: String) throws -> Response {
        try AdminPage.bundled(folder: "Account", name: name, type: type, cacheControl: "no-store")
    }
}
