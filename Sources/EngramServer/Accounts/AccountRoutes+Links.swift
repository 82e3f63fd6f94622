import EngramAccounts
import EngramAuth
import EngramCore
import EngramHTTP
import EngramMemory
import Foundation
import Hummingbird

extension AccountRoutes {
    /// `/v1/links/…`: what a link is, and using it. A wrong secret counts as a failure of the client IP.
    func registerLinks(on v1: RouterGroup<EngramRequestContext>) {
        v1.post("links/inspect") { request, context in
            let (secret, _, info) = try await linkRequest(request, context, needsPassword: false)
            do {
                return JSONBody.response(AccountJSON.link(try await accounts.inspectLink(secret)))
            } catch AccountError.invalidLink {
                try await recordFailure(["ip:" + info.ip], userId: nil, client: info)
                throw AccountError.invalidLink
            }
        }
        v1.post("links/invitation") { request, context in
            let (secret, password, info) = try await linkRequest(request, context, needsPassword: true)
            do {
                return sessionResponse(try await accounts.acceptInvitationLink(secret, password: password, client: info))
            } catch let error as AccountError where error == .invalidLink || error == .invalidCredentials {
                try await recordFailure(["ip:" + info.ip], userId: nil, client: info)
                throw error
            }
        }
        v1.post("links/reset") { request, context in
            let (secret, password, info) = try await linkRequest(request, context, needsPassword: true)
            do {
                let user = try await accounts.useResetLink(secret, password: password, client: info)
                return JSONBody.response(.object(["user_id": .string(user)]), headers: [.setCookie: SessionCookie.clear(secure: secure)])
            } catch AccountError.invalidLink {
                try await recordFailure(["ip:" + info.ip], userId: nil, client: info)
                throw AccountError.invalidLink
            }
        }
    }

    func linkRequest(
        _ request: Request,
        _ context: EngramRequestContext,
        needsPassword: Bool
    ) async throws
        -> (secret: String, password: String, client: ClientInfo)
    {
        guard SessionMiddleware.sameOrigin(request, behindTLS: secure) else {
            throw APIError(.forbidden, code: "csrf_failed", "a link used from another origin")
        }
        let info = client(request, context)
        try await refuseIfLocked(["ip:" + info.ip])
        let body = try await JSONBody.read(request, limit: services.limits.maxBodyBytes)
        guard let secret = body["token"]?.stringValue, (20...128).contains(secret.utf8.count) else { throw AccountError.invalidLink }
        let password = body["password"]?.stringValue ?? ""
        if needsPassword, password.isEmpty { throw APIError.badRequest("body needs token and password") }
        return (secret, password, info)
    }
}
