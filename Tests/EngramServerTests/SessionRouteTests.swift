import EngramAccounts
import EngramAuth
import EngramCore
import EngramHTTP
import EngramMemory
import EngramServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import Synchronization
import Testing

/// Browser sessions over the real router in process: the cookie's flags, CSRF on every
/// state-changing request, rotation at sign-in and re-prompt, the re-prompt window on admin changes,
/// and the limit on failed sign-ins.
@Suite struct SessionRouteTests {
    static let password = "tidal-marmot-quarry-57"

    static func cookie(_ response: TestResponse) -> String? {
        guard let field = response.headers[.setCookie], field.hasPrefix("engram_session=") else { return nil }
        return String(field.dropFirst("engram_session=".count).prefix { $0 != ";" })
    }

    static func signIn(
        _ client: some TestClientProtocol,
        user: String = "ada",
        headers: HTTPFields = [:]
    ) async throws -> (cookie: String, csrf: String) {
        let r = try await client.send(.post, "/v1/session", json: ["user_id": .string(user), "password": .string(password)], headers: headers)
        #expect(r.status == .ok)
        return (try #require(cookie(r)), try #require(r.json["csrf_token"]?.stringValue))
    }

    static func server(
        window: TimeInterval = 300,
        limits: ServerLimits = ServerLimits(),
        clock: @escaping @Sendable () -> Date = { Date() }
    ) async throws -> RouteServer {
        var settings = AccountSettings()
        settings.reauthWindow = window
        let server = try await RouteServer(limits: limits, accountSettings: settings, accountClock: clock)
        _ = try await server.token("ada", org: "acme", role: .owner)
        try await server.accounts.setPassword(userId: "ada", password: password)
        return server
    }

    @Test func theCookieIsHttpOnlyStrictAndRotatedAtSignIn() async throws {
        let server = try await Self.server()
        try await server.test { client in
            // A cookie the attacker planted before sign-in is not adopted.
            let r = try await client.send(
                .post,
                "/v1/session",
                json: ["user_id": "ada", "password": .string(Self.password)],
                headers: [.cookie: "engram_session=attacker-chosen-value"]
            )
            #expect(r.status == .ok)
            let set = try #require(r.headers[.setCookie])
            #expect(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/") && !set.contains("Secure"))
            let value = try #require(Self.cookie(r))
            #expect(value != "attacker-chosen-value" && value.count == 43)
            #expect(try await client.send(.get, "/v1/session", headers: [.cookie: "engram_session=attacker-chosen-value"]).status == .unauthorized)
            let me = try await client.send(.get, "/v1/me", headers: [.cookie: "engram_session=\(value)"])
            #expect(me.status == .ok && me.json["user_id"]?.stringValue == "ada" && me.json["role"]?.stringValue == "owner")
            // Sign-out ends the session and clears the cookie.
            let csrf = try #require(r.json["csrf_token"]?.stringValue)
            let out = try await client.send(.delete, "/v1/session", headers: [.cookie: "engram_session=\(value)", .init("X-CSRF-Token")!: csrf])
            #expect(out.status == .noContent && (out.headers[.setCookie] ?? "").contains("Max-Age=0"))
            #expect(try await client.send(.get, "/v1/session", headers: [.cookie: "engram_session=\(value)"]).status == .unauthorized)
        }
    }

    @Test func stateChangingRequestsNeedTheCSRFToken() async throws {
        let server = try await Self.server()
        try await server.test { client in
            let (cookie, csrf) = try await Self.signIn(client)
            let jar: HTTPFields = [.cookie: "engram_session=\(cookie)"]
            let body: JSONValue = ["content": "Deploys go through make release"]
            // Reads need no token.
            #expect(try await client.send(.get, "/v1/memories", headers: jar).status == .ok)
            for headers in [jar, jar + [.init("X-CSRF-Token")!: "wrong"], jar + [.init("X-CSRF-Token")!: csrf, .origin: "https://evil.example"]] {
                let r = try await client.send(.post, "/v1/memories", json: body, headers: headers)
                #expect(r.status == .forbidden && r.errorCode == "csrf_failed")
                #expect(try await client.send(.post, "/v1/me/tokens", json: ["name": "x"], headers: headers).errorCode == "csrf_failed")
            }
            let ok = try await client.send(.post, "/v1/memories", json: body, headers: jar + [.init("X-CSRF-Token")!: csrf])
            #expect(ok.status == .created)
            // A bearer token never rides on the cookie: with both, the token decides (and needs no CSRF token).
            let token = try await server.token("bob", org: "acme", role: .member)
            let asBob = try await client.send(.get, "/v1/me", token: token, headers: jar)
            #expect(asBob.json["user_id"]?.stringValue == "bob")
        }
    }

    @Test func sensitiveChangesNeedARecentPassword() async throws {
        // The re-prompt window is measured on a clock the test moves, so no timing decides the outcome.
        let clock = MovableClock()
        let server = try await Self.server(window: 300, clock: { clock.now() })
        try await server.test { client in
            let (cookie, csrf) = try await Self.signIn(client)
            let headers: HTTPFields = [.cookie: "engram_session=\(cookie)", .init("X-CSRF-Token")!: csrf]
            #expect(try await client.send(.patch, "/v1/admin/org", json: ["require_review": true], headers: headers).status == .ok)
            clock.offset.withLock { $0 = 301 }
            let stale = try await client.send(.patch, "/v1/admin/org", json: ["require_review": false], headers: headers)
            #expect(stale.status == .forbidden && stale.errorCode == "reauth_required")
            #expect(try await client.send(.post, "/v1/me/tokens", json: ["name": "laptop"], headers: headers).errorCode == "reauth_required")
            #expect(try await client.send(.delete, "/v1/admin/members/bob", headers: headers).errorCode == "reauth_required")
            // The same change with a bearer token is not re-prompted.
            let token = try await server.token("ada", org: "acme", role: .owner)
            // Deleting one's own org memory from the browser is re-prompted too; a personal one is not.
            let org = try await client.send(.post, "/v1/memories", token: token, json: ["content": "Migrations run before deploys", "scope": "org"])
            let personal = try await client.send(.post, "/v1/memories", token: token, json: ["content": "I prefer tabs in Makefiles"])
            let orgID = try #require(org.json["memory"]?["id"]?.stringValue)
            let personalID = try #require(personal.json["memory"]?["id"]?.stringValue)
            #expect(try await client.send(.delete, "/v1/memories/\(orgID)", headers: headers).errorCode == "reauth_required")
            #expect(try await client.send(.delete, "/v1/memories/\(personalID)", headers: headers).status == .noContent)
            #expect(try await client.send(.patch, "/v1/admin/org", token: token, json: ["require_review": false]).status == .ok)
            // Re-prompt: a wrong password is refused, the right one rotates the cookie and the CSRF token.
            let wrong = try await client.send(.post, "/v1/session/reauth", json: ["password": "not-it-at-all-1"], headers: headers)
            #expect(wrong.status == .unauthorized && wrong.errorCode == "invalid_credentials")
            let re = try await client.send(.post, "/v1/session/reauth", json: ["password": .string(Self.password)], headers: headers)
            #expect(re.status == .ok)
            let fresh = try #require(Self.cookie(re))
            let freshCSRF = try #require(re.json["csrf_token"]?.stringValue)
            #expect(fresh != cookie && freshCSRF != csrf)
            clock.offset.withLock { $0 = 0 }
            #expect(try await client.send(.get, "/v1/session", headers: [.cookie: "engram_session=\(cookie)"]).status == .unauthorized)
            let again = try await client.send(
                .patch,
                "/v1/admin/org",
                json: ["require_review": true],
                headers: [.cookie: "engram_session=\(fresh)", .init("X-CSRF-Token")!: freshCSRF]
            )
            #expect(again.status == .ok)
        }
    }

    @Test func failedSignInsAreLimitedPerAccountAndAudited() async throws {
        let server = try await Self.server(limits: ServerLimits(signInFailuresPerMinute: 1, signInFailureBurst: 3))
        try await server.test { client in
            for _ in 0..<3 {
                let r = try await client.send(.post, "/v1/session", json: ["user_id": "ada", "password": "guess-guess-guess-1"])
                #expect(r.status == .unauthorized && r.errorCode == "invalid_credentials")
            }
            let locked = try await client.send(.post, "/v1/session", json: ["user_id": "ada", "password": .string(Self.password)])
            #expect(locked.status == .tooManyRequests && locked.headers[.retryAfter] != nil)
            let entries = try await server.services.memories.audit!.entries(orgId: "acme", limit: 50)
            #expect(entries.contains { $0.action == "signin.locked" })
            #expect(entries.filter { $0.action == "signin.failure" }.count == 3)
            #expect(!entries.contains { ($0.detail ?? "").contains("guess-guess") })
        }
    }

    @Test func unknownUserAndWrongPasswordAnswerAlike() async throws {
        let server = try await Self.server()
        try await server.test { client in
            let a = try await client.send(.post, "/v1/session", json: ["user_id": "ada", "password": "wrong-wrong-wrong-1"])
            let b = try await client.send(.post, "/v1/session", json: ["user_id": "nobody", "password": "wrong-wrong-wrong-1"])
            #expect(a.status == .unauthorized && b.status == .unauthorized)
            #expect(a.text == b.text)
        }
    }
}

extension HTTPFields {
    static func + (lhs: HTTPFields, rhs: HTTPFields) -> HTTPFields {
        var out = lhs
        out.append(contentsOf: rhs)
        return out
    }
}

/// `Date()` moved by an offset the test sets.
final class MovableClock: Sendable {
    let offset = Mutex<TimeInterval>(0)
    func now() -> Date { Date().addingTimeInterval(offset.withLock { $0 }) }
}
