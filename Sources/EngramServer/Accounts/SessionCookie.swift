import EngramHTTP
import Foundation
import HTTPTypes
import Hummingbird

/// The browser session cookie: `engram_session`, HttpOnly (scripts cannot read it), SameSite=Strict
/// (no other site's page sends it), Path=/, and `Secure` behind TLS. It has no Max-Age: the server ends
/// sessions (idle and absolute limits) and the browser drops the cookie when it closes.
enum SessionCookie {
    static let name = "engram_session"

    /// The `Set-Cookie` value that installs `value`.
    static func set(_ value: String, secure: Bool) -> String {
        "\(name)=\(value); Path=/; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// The `Set-Cookie` value that removes the cookie.
    static func clear(secure: Bool) -> String {
        "\(name)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// The cookie's value in the request, if sent (the first one when repeated).
    static func value(in request: Request) -> String? {
        for field in request.headers[values: .cookie] {
            for part in field.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces)
                if pair.hasPrefix(name + "=") { return String(pair.dropFirst(name.count + 1)) }
            }
        }
        return nil
    }
}
