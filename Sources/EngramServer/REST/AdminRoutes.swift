import EngramAccounts
import EngramAuth
import EngramCore
import EngramHTTP
import EngramLifecycle
import EngramMemory
import EngramMemoryModel
import Foundation
import HTTPTypes
import Hummingbird

/// Organisation administration under `/v1/admin`: the review queue and actions,
/// members, org policy and the audit log. Admins and owners only (members get
/// 403); another org's memories answer 404. The rules live in `OrgAdministration`
/// and `MemoryService`; these routes parse requests and render answers.
struct AdminRoutes: Sendable {
    let services: ServerServices
    var memories: MemoryService { services.memories }
    var organisations: OrgAdministration { services.organisations }

    func register(on router: Router<EngramRequestContext>) {
        let admin = router.group("v1/admin")
        admin.get("memories") { request, context in
            let p = try context.requirePrincipal()
            let query = try Self.reviewQuery(request)
            return JSONBody.response(MemoryJSON.page(try memories.reviewList(p, query), reader: p))
        }
        admin.get("memories/{id}") { request, context in
            let p = try context.requirePrincipal()
            let id = try MemoryRoutes.id(context)
            let m = try memories.reviewGet(p, id: id)
            let u = memories.usage.usage(id)
            return JSONBody.response(
                .object([
                    "memory": MemoryJSON.memory(
                        m,
                        usage: u,
                        freshness: Freshness.of(m, usage: u, policy: memories.policy(of: m)),
                        trust: m.trust(for: p)
                    ),
                    "reports": .array(try await memories.reports(p, id: id).map(MemoryJSON.report)),
                    "possible_conflicts": MemoryJSON.conflicts(try await memories.possibleConflicts(p, of: m), reader: p),
                ])
            )
        }
        admin.get("memories/{id}/versions") { _, context in
            let p = try context.requirePrincipal()
            let id = try MemoryRoutes.id(context)
            return JSONBody.response(MemoryJSON.history(id, try await memories.history(p, id: id)))
        }
        admin.post("memories/{id}/revert") { request, context in
            let p = try context.requirePrincipal()
            let id = try MemoryRoutes.id(context)
            let body = try await MemoryRoutes(services: services).validatedBody(request, tool: "revert_memory", droppingID: true)
            let m = try await memories.revert(
                p,
                id: id,
                to: ToolArguments.int(body, "version") ?? 0,
                origin: MemoryRoutes.origin(request, context, .admin)
            )
            return JSONBody.response(.object(["memory": MemoryJSON.memory(m, trust: m.trust(for: p))]))
        }
        admin.get("usage") { request, context in
            let p = try context.requirePrincipal()
            let q = request.uri.queryParameters
            guard let limit = Int(q.get("limit") ?? "20"), let days = Int(q.get("days") ?? "30") else {
                throw APIError.badRequest("limit and days must be integers")
            }
            return JSONBody.response(MemoryJSON.usageReport(try await memories.usageReport(p, limit: limit, days: days)))
        }
        // Runs the freshness sweep now (it also runs on the server's timer); answers this org's changes.
        admin.post("sweep") { _, context in
            let p = try context.requirePrincipal()
            let org = try OrgAdministration.authorize(p, for: .configureOrg)
            let r = try await memories.sweep()
            func ours(_ ids: [UUID]) -> JSONValue {
                .array(ids.filter { (try? memories.reviewGet(p, id: $0))?.orgId == org }.map { .string($0.lowercasedText) })
            }
            return JSONBody.response(.object(["stale": ours(r.staled), "archived": ours(r.archived)]))
        }
        admin.get("quarantine") { _, context in
            let p = try context.requirePrincipal()
            let entries = try await memories.quarantineList(p)
            let held = try memories.quarantinedMemories(p)
            return JSONBody.response(
                .object([
                    "memories": .array(
                        held.map { q in
                            .object([
                                "memory": MemoryJSON.memory(q.memory, trust: q.memory.trust(for: p)), "text_shown": .bool(q.textShown),
                                "rules": .array(q.rules.map { .string($0) }),
                                "quarantined_from": q.memory.quarantinedFrom.map { .string($0.rawValue) } ?? .null,
                            ])
                        }
                    ),
                    "quarantine": .array(
                        entries.map {
                            .object([
                                "memory_id": .string($0.memoryId.lowercasedText), "version": .int(Int64($0.version)),
                                "rules": .array($0.rules.map { .string($0) }), "at": MemoryJSON.time($0.at),
                            ])
                        }
                    ),
                ])
            )
        }
        admin.put("webhook-secret") { request, context in
            let p = try context.requirePrincipal()
            _ = try OrgAdministration.authorize(p, for: .configureOrg)
            try context.requireRecentPassword(services)
            let body = try await JSONBody.read(request, limit: services.limits.maxBodyBytes)
            guard let secret = body["secret"]?.stringValue else { throw APIError.badRequest("body needs secret (string)") }
            try await memories.setWebhookSecret(p, secret)
            return Response(status: .noContent)
        }
        admin.delete("webhook-secret") { _, context in
            let p = try context.requirePrincipal()
            _ = try OrgAdministration.authorize(p, for: .configureOrg)
            try context.requireRecentPassword(services)
            try await memories.setWebhookSecret(p, nil)
            return Response(status: .noContent)
        }
        for action in ReviewAction.allCases {
            admin.post("memories/{id}/\(action.rawValue)") { request, context in
                let p = try context.requirePrincipal()
                let id = try MemoryRoutes.id(context)
                let (seen, supersedes) = try await Self.reviewBody(request, limit: services.limits.maxBodyBytes)
                let m = try await memories.review(
                    p,
                    id: id,
                    action: action,
                    seenContentHash: seen,
                    supersedes: supersedes,
                    origin: MemoryRoutes.origin(request, context, .admin)
                )
                return JSONBody.response(.object(["memory": MemoryJSON.memory(m, trust: m.trust(for: p))]))
            }
        }
        registerContainment(on: admin)
        admin.patch("memories/{id}") { request, context in
            let p = try context.requirePrincipal()
            let id = try MemoryRoutes.id(context)
            let body = try await MemoryRoutes(services: services).validatedBody(request, tool: "update_memory", droppingID: true)
            let m = try await memories.reviewEdit(p, id: id, try ToolArguments.patch(body), origin: MemoryRoutes.origin(request, context, .admin))
            return JSONBody.response(.object(["memory": MemoryJSON.memory(m, trust: m.trust(for: p))]))
        }
        admin.delete("memories/{id}") { request, context in
            let p = try context.requirePrincipal()
            let id = try MemoryRoutes.id(context)
            try context.requireRecentPassword(services)
            try await memories.reviewDelete(p, id: id, origin: MemoryRoutes.origin(request, context, .admin))
            return Response(status: .noContent)
        }
        admin.get("audit") { request, context in
            let p = try context.requirePrincipal()
            _ = try OrgAdministration.authorize(p, for: .readAudit)
            let q = request.uri.queryParameters
            let limit = Int(q.get("limit") ?? "50") ?? -1
            guard (1...200).contains(limit) else { throw APIError.badRequest("limit must be between 1 and 200") }
            var cursor: Int64?
            if let c = q.get("cursor") {
                guard let v = Int64(c) else { throw APIError.badRequest("malformed cursor") }
                cursor = v
            }
            let page = try await organisations.auditEntries(p, limit: limit, before: cursor)
            let next: JSONValue = page.more ? page.entries.last.map { .string(String($0.id)) } ?? .null : .null
            return JSONBody.response(.object(["entries": .array(page.entries.map(OrgJSON.auditEntry)), "next_cursor": next]))
        }
        admin.get("members") { _, context in
            let listing = try await organisations.members(try context.requirePrincipal())
            return JSONBody.response(
                .object([
                    "members": .array(listing.members.map(OrgJSON.member)),
                    "invitations": .array(listing.invitations.map(OrgJSON.invitation)),
                ])
            )
        }
        // Adding someone invites them (`OrgAdministration.invite`).
        admin.post("members") { request, context in
            let p = try context.requirePrincipal()
            _ = try OrgAdministration.authorize(p, for: .manageMembers)
            let body = try await JSONBody.read(request, limit: services.limits.maxBodyBytes)
            guard let user = body["user_id"]?.stringValue, let role = body["role"]?.stringValue.flatMap(Role.init(rawValue:)) else {
                throw APIError.badRequest("body needs user_id and role (owner, admin, member, viewer)")
            }
            return try await invite(p, userId: user, role: role, request: request, status: .accepted)
        }
        // The same with the status of a created resource; both answers carry the single-use link.
        admin.post("invitations") { request, context in
            let p = try context.requirePrincipal()
            _ = try OrgAdministration.authorize(p, for: .manageMembers)
            let body = try await JSONBody.read(request, limit: services.limits.maxBodyBytes)
            guard let user = body["user_id"]?.stringValue, let role = body["role"]?.stringValue.flatMap(Role.init(rawValue:)) else {
                throw APIError.badRequest("body needs user_id and role (owner, admin, member, viewer)")
            }
            return try await invite(p, userId: user, role: role, request: request, status: .created)
        }
        admin.post("members/{userId}/reset-link") { request, context in
            let p = try context.requirePrincipal()
            _ = try OrgAdministration.authorize(p, for: .manageMembers)
            try context.requireRecentPassword(services)
            guard let accounts = services.accounts else { throw APIError.notFound }
            let link = try await accounts.issueResetLink(for: try context.parameters.require("userId"), by: p)
            return JSONBody.response(
                .object([
                    "link": .string(link.url(base: AccountRoutes.baseURL(request, services: services), kind: .reset)),
                    "expires_at": .string(RFC3339.format(link.expiresAt.timeIntervalSince1970)),
                ]),
                status: .created
            )
        }
        admin.delete("invitations/{id}") { _, context in
            let p = try context.requirePrincipal()
            _ = try OrgAdministration.authorize(p, for: .manageMembers)
            try await organisations.revokeInvitation(p, id: try MemoryRoutes.id(context))
            return Response(status: .noContent)
        }
        admin.patch("members/{userId}") { request, context in
            let p = try context.requirePrincipal()
            _ = try OrgAdministration.authorize(p, for: .manageMembers)
            try context.requireRecentPassword(services)
            let user = try context.parameters.require("userId")
            let body = try await JSONBody.read(request, limit: services.limits.maxBodyBytes)
            guard let role = body["role"]?.stringValue.flatMap(Role.init(rawValue:)) else {
                throw APIError.badRequest("body needs role (owner, admin, member, viewer)")
            }
            let member = try await organisations.changeRole(p, userId: user, role: role)
            return JSONBody.response(.object(["member": OrgJSON.member(member)]))
        }
        admin.delete("members/{userId}") { _, context in
            let p = try context.requirePrincipal()
            _ = try OrgAdministration.authorize(p, for: .manageMembers)
            try context.requireRecentPassword(services)
            try await organisations.removeMember(p, userId: try context.parameters.require("userId"))
            return Response(status: .noContent)
        }
        admin.get("org") { _, context in
            let p = try context.requirePrincipal()
            return try await orgResponse(try await organisations.organisation(p))
        }
        admin.patch("org") { request, context in
            let p = try context.requirePrincipal()
            let org = try OrgAdministration.authorize(p, for: .configureOrg)
            try context.requireRecentPassword(services)
            let body = try await JSONBody.read(request, limit: services.limits.maxBodyBytes)
            let review = body["require_review"]
            let totp = body["require_totp"]
            let stale = body["stale_after_days"]
            let retention = body["version_retention_days"]
            let fourEyes = body["approver_must_differ"]
            guard review != nil || stale != nil || retention != nil || fourEyes != nil || totp != nil else {
                throw APIError.badRequest(
                    "body needs require_review, require_totp or approver_must_differ (booleans), stale_after_days or version_retention_days (integers)"
                )
            }
            if let totp {
                guard case let .bool(on) = totp else { throw APIError.badRequest("require_totp must be a boolean") }
                guard let accounts = services.accounts else { throw APIError.notFound }
                try await accounts.setRequireTOTP(on, orgId: org, actor: p.userId)
            }
            if let review, case .bool = review {} else if review != nil { throw APIError.badRequest("require_review must be a boolean") }
            var policy = memories.policy(orgId: org)
            if let stale {
                guard let n = ToolArguments.int(stale) else { throw APIError.badRequest("stale_after_days must be an integer") }
                policy.staleAfterDays = n
            }
            if let retention {
                guard let n = ToolArguments.int(retention) else {
                    throw APIError.badRequest("version_retention_days must be an integer")
                }
                policy.versionRetentionDays = n
            }
            if let fourEyes {
                guard case let .bool(on) = fourEyes else { throw APIError.badRequest("approver_must_differ must be a boolean") }
                policy.approverMustDiffer = on
            }
            if stale != nil || retention != nil || fourEyes != nil { _ = try await memories.setPolicy(p, policy) }
            if case let .bool(on)? = review { return try await orgResponse(try await organisations.setRequireReview(p, on)) }
            return try await orgResponse(try await organisations.organisation(p))
        }
    }

    /// Invites `userId` and answers with the invitation and its single-use link (shown once).
    func invite(_ p: Principal, userId: String, role: Role, request: Request, status: HTTPResponse.Status) async throws -> Response {
        var body: [String: JSONValue] = [:]
        if let accounts = services.accounts {
            let (invitation, link) = try await accounts.invite(p, userId: userId, role: role, administration: organisations)
            body["invitation"] = OrgJSON.invitation(invitation)
            body["link"] = .string(link.url(base: AccountRoutes.baseURL(request, services: services), kind: .invitation))
        } else {
            body["invitation"] = OrgJSON.invitation(try await organisations.invite(p, userId: userId, role: role))
        }
        return JSONBody.response(.object(body), status: status)
    }

    /// The organisation with its lifecycle policy and whether a webhook secret is set (never the secret).
    func orgResponse(_ org: Organisation) async throws -> Response {
        guard case var .object(o) = OrgJSON.organisation(org) else { return JSONBody.response(OrgJSON.organisation(org)) }
        let policy = memories.policy(orgId: org.id)
        o["stale_after_days"] = .int(Int64(policy.staleAfterDays))
        o["version_retention_days"] = .int(Int64(policy.versionRetentionDays))
        o["approver_must_differ"] = .bool(policy.approverMustDiffer)
        o["webhook_secret_set"] = .bool(try await memories.hasWebhookSecret(orgId: org.id))
        if let accounts = services.accounts { o["require_totp"] = .bool(try await accounts.requiresTOTP(orgId: org.id)) }
        return JSONBody.response(.object(o))
    }

    /// The content hash the reviewer saw: `{"content_hash": "…"}` in the body, or `If-Match: "…"`
    /// (the memory's content hash is its entity tag). Both given must agree. An approval's body may
    /// also list `supersedes`: ids of memories the approved one replaces.
    static func reviewBody(_ request: Request, limit: Int) async throws -> (seen: String?, supersedes: [UUID]) {
        var fromHeader: String?
        if let raw = request.headers[.ifMatch] {
            var tag = raw.trimmingCharacters(in: .whitespaces)
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            fromHeader = tag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        var fromBody: String?
        var supersedes: [UUID] = []
        let buffer = try await request.body.collect(upTo: limit)
        if buffer.readableBytes > 0 {
            let body = try JSONBody.parse(Data(buffer.readableBytesView))
            guard case let .object(o) = body else { throw APIError.badRequest("request body must be a JSON object") }
            if let value = o["content_hash"] {
                guard let text = value.stringValue else { throw APIError.badRequest("content_hash must be a string") }
                fromBody = text
            }
            if let value = o["supersedes"] {
                guard case let .array(items) = value else { throw APIError.badRequest("supersedes must be a list of memory ids") }
                for item in items {
                    guard let id = item.stringValue.flatMap(UUID.init(uuidString:)) else {
                        throw APIError.badRequest("supersedes must be a list of memory ids")
                    }
                    supersedes.append(id)
                }
            }
        }
        if let fromHeader, let fromBody, fromHeader.lowercased() != fromBody.lowercased() {
            throw APIError.badRequest("If-Match and content_hash disagree")
        }
        return (fromBody ?? fromHeader, supersedes)
    }

    static func reviewQuery(_ request: Request) throws -> ReviewQuery {
        let q = request.uri.queryParameters
        func text(_ name: String) -> String? { q.get(name).map { String($0) } }
        var state: MemoryState?
        if let s = text("state") {
            guard let parsed = MemoryState(rawValue: s) else { throw APIError.badRequest("unknown state \(s)") }
            state = parsed
        }
        var limit = 50
        if let raw = text("limit") {
            guard let n = Int(raw) else { throw APIError.badRequest("limit must be an integer") }
            limit = n
        }
        return ReviewQuery(
            state: state,
            author: text("author"),
            tag: text("tag"),
            repo: text("repo"),
            text: text("q"),
            limit: limit,
            cursor: text("cursor")
        )
    }
}
