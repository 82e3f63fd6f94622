import EngramAccounts
import EngramAuth
import EngramCore
import EngramHTTP
import EngramMemory
import Foundation
import Hummingbird

extension AccountRoutes {
    /// `/v1/me/…`: the signed-in member's tokens, sessions, TOTP and password. Browser sessions only:
    /// a bearer token cannot mint more tokens or turn off a second factor.
    func registerMe(on me: RouterGroup<EngramRequestContext>) {
        me.get("tokens") { _, context in
            let s = try requireSession(context)
            return JSONBody.response(.object(["tokens": .array(try await accounts.accessTokens(of: s.userId).map(AccountJSON.token))]))
        }
        me.post("tokens") { request, context in
            let s = try requireSession(context)
            try accounts.requireRecentPassword(s)
            let body = try await JSONBody.read(request, limit: services.limits.maxBodyBytes)
            let days: Int
            switch body["days"] {
            case nil, .null?: days = 30
            case let .int(n)?: days = Int(clamping: n)
            default: throw APIError.badRequest("days must be a whole number")
            }
            let created = try await accounts.createToken(s, name: body["name"]?.stringValue ?? "", days: days, client: client(request, context))
            let mcpURL = Self.baseURL(request, services: services) + "/mcp/" + s.userId
            return JSONBody.response(
                .object([
                    "id": .string(created.info.id), "name": .string(created.info.name), "token": .string(created.token),
                    "expires_at": AccountJSON.time(created.info.expiresAt), "mcp_url": .string(mcpURL),
                    "claude_command": .string(
                        "claude mcp add --transport http engram \(mcpURL) --header \"Authorization: Bearer \(created.token)\""
                    ),
                ]),
                status: .created
            )
        }
        me.delete("tokens/{id}") { request, context -> Response in
            let s = try requireSession(context)
            try await accounts.revokeToken(userId: s.userId, id: try context.parameters.require("id"), client: client(request, context))
            return Response(status: .noContent)
        }
        me.get("sessions") { _, context in
            let s = try requireSession(context)
            let all = try await accounts.sessions(of: s.userId)
            return JSONBody.response(.object(["sessions": .array(all.map { AccountJSON.sessionListing($0, current: s.id) })]))
        }
        me.delete("sessions/{id}") { request, context -> Response in
            let s = try requireSession(context)
            let id = try context.parameters.require("id")
            try await accounts.revokeSession(userId: s.userId, id: id, actor: s.userId)
            return id == s.id
                ? Response(status: .noContent, headers: [.setCookie: SessionCookie.clear(secure: secure)]) : Response(status: .noContent)
        }
        me.post("totp/setup") { _, context in
            let s = try requireSession(context)
            let (secret, uri) = try await accounts.beginTOTP(s)
            return JSONBody.response(.object(["secret": .string(secret), "otpauth_uri": .string(uri)]))
        }
        me.post("totp/enable") { request, context in
            let s = try requireSession(context)
            let body = try await JSONBody.read(request, limit: services.limits.maxBodyBytes)
            let info = client(request, context)
            let keys = ["ip:" + info.ip, "acct:" + s.userId]
            try await refuseIfLocked(keys)
            do {
                let (codes, issued) = try await accounts.enableTOTP(s, code: body["code"]?.stringValue ?? "", client: info)
                var json = AccountJSON.session(issued.session, window: accounts.settings.reauthWindow)
                if case var .object(o) = json {
                    o["backup_codes"] = .array(codes.map { .string($0) })
                    json = .object(o)
                }
                return JSONBody.response(json, headers: [.setCookie: SessionCookie.set(issued.cookie, secure: secure)])
            } catch AccountError.invalidTOTP {
                try await recordFailure(keys, userId: s.userId, client: info)
                throw AccountError.invalidTOTP
            }
        }
        me.delete("totp") { request, context -> Response in
            let s = try requireSession(context)
            try accounts.requireRecentPassword(s)
            try await accounts.disableTOTP(s, client: client(request, context))
            return Response(status: .noContent)
        }
        me.post("totp/backup-codes") { request, context in
            let s = try requireSession(context)
            try accounts.requireRecentPassword(s)
            let codes = try await accounts.regenerateBackupCodes(s, client: client(request, context))
            return JSONBody.response(.object(["backup_codes": .array(codes.map { .string($0) })]))
        }
        me.post("password") { request, context -> Response in
            let s = try requireSession(context)
            let body = try await JSONBody.read(request, limit: services.limits.maxBodyBytes)
            guard let current = body["current_password"]?.stringValue, let new = body["new_password"]?.stringValue else {
                throw APIError.badRequest("body needs current_password and new_password")
            }
            let info = client(request, context)
            let keys = ["ip:" + info.ip, "acct:" + s.userId]
            try await refuseIfLocked(keys)
            do {
                try await accounts.changePassword(s, current: current, new: new, client: info)
            } catch AccountError.invalidCredentials {
                try await recordFailure(keys, userId: s.userId, client: info)
                throw AccountError.invalidCredentials
            }
            return Response(status: .noContent)
        }
    }
}
