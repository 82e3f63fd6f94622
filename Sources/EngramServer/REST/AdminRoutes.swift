import EngramAuth
import EngramCore
import EngramMemory
import Foundation
import HTTPTypes
import Hummingbird

/// Organisation administration under `/v1/admin`: the review queue and actions,
/// members, org policy and the audit log. Admins and owners only (members get
/// 403); another org's memories answer 404.
struct AdminRoutes: Sendable {
    let services: ServerServices
    var memories: MemoryService { services.memories }

    func register(on router: Router<EngramRequestContext>) {
        let admin = router.group("v1/admin")
        admin.get("memories") { request, _ in
            let p = try await services.authenticate(request)
            let query = try Self.reviewQuery(request)
            return JSONBody.response(MemoryJSON.page(try memories.reviewList(p, query)))
        }
        admin.get("memories/{id}") { request, context in
            let p = try await services.authenticate(request)
            let id = try RESTRoutes.id(context)
            return JSONBody.response(.object(["memory": MemoryJSON.memory(try memories.reviewGet(p, id: id))]))
        }
        for action in ReviewAction.allCases {
            admin.post("memories/{id}/\(action.rawValue)") { request, context in
                let p = try await services.authenticate(request)
                let id = try RESTRoutes.id(context)
                let seen = try await Self.seenContentHash(request, limit: services.limits.maxBodyBytes)
                return JSONBody.response(.object([
                    "memory": MemoryJSON.memory(try await memories.review(p, id: id, action: action, seenContentHash: seen)),
                ]))
            }
        }
        admin.patch("memories/{id}") { request, context in
            let p = try await services.authenticate(request)
            let id = try RESTRoutes.id(context)
            let body = try await RESTRoutes(services: services).validatedBody(request, tool: "update_memory", droppingID: true)
            return JSONBody.response(.object(["memory": MemoryJSON.memory(try await memories.reviewEdit(p, id: id, ToolArguments.patch(body)))]))
        }
        admin.delete("memories/{id}") { request, context in
            let p = try await services.authenticate(request)
            let id = try RESTRoutes.id(context)
            try await memories.reviewDelete(p, id: id)
            return Response(status: .noContent)
        }
        admin.get("audit") { request, _ in
            let p = try await services.authenticate(request)
            let org = try Self.require(p, .readAudit)
            let q = request.uri.queryParameters
            let limit = Int(q.get("limit") ?? "50") ?? -1
            guard (1...200).contains(limit) else { throw APIError.badRequest("limit must be between 1 and 200") }
            var cursor: Int64?
            if let c = q.get("cursor") {
                guard let v = Int64(c) else { throw APIError.badRequest("malformed cursor") }
                cursor = v
            }
            guard let audit = memories.audit else { return JSONBody.response(.object(["entries": .array([]), "next_cursor": .null])) }
            let entries = try await audit.entries(orgId: org, limit: limit + 1, before: cursor)
            let page = Array(entries.prefix(limit))
            let next: JSONValue = entries.count > limit ? .string(String(page.last!.id)) : .null
            return JSONBody.response(.object(["entries": .array(page.map(Self.auditJSON)), "next_cursor": next]))
        }
        admin.get("members") { request, _ in
            let p = try await services.authenticate(request)
            let org = try Self.require(p, .manageMembers)
            let members = try await services.directory.members(orgId: org)
            let invitations = try await services.directory.invitations(orgId: org)
            return JSONBody.response(.object([
                "members": .array(members.map(Self.memberJSON)), "invitations": .array(invitations.map(Self.invitationJSON)),
            ]))
        }
        // Adding someone invites them: membership needs the person's consent (they accept with their own
        // credential), since a user id is one person's identity across organisations.
        admin.post("members") { request, _ in
            let p = try await services.authenticate(request)
            let org = try Self.require(p, .manageMembers)
            let body = try await JSONBody.read(request, limit: services.limits.maxBodyBytes)
            guard let user = body["user_id"]?.stringValue, let role = body["role"]?.stringValue.flatMap(Role.init(rawValue:)) else {
                throw APIError.badRequest("body needs user_id and role (owner, admin, member, viewer)")
            }
            if role == .owner, !p.role.allows(.manageOwners) {
                throw APIError(.forbidden, code: "forbidden", "only owners can grant or change the owner role")
            }
            let invitation = try await services.directory.invite(userId: user, orgId: org, role: role, invitedBy: p.userId)
            try await memories.audit?.record(orgId: org, actor: p.userId, action: "member.invite",
                                             detail: "user \(user) role \(role.rawValue) invitation \(invitation.id.lowercasedText)")
            return JSONBody.response(.object(["invitation": Self.invitationJSON(invitation)]), status: .accepted)
        }
        admin.delete("invitations/{id}") { request, context in
            let p = try await services.authenticate(request)
            let org = try Self.require(p, .manageMembers)
            let id = try RESTRoutes.id(context)
            let removed = try await services.directory.removeInvitation(id: id, orgId: org)
            try await memories.audit?.record(orgId: org, actor: p.userId, action: "member.invite.revoke",
                                             detail: "user \(removed.userId) invitation \(removed.id.lowercasedText)")
            return Response(status: .noContent)
        }
        admin.patch("members/{userId}") { request, context in
            let p = try await services.authenticate(request)
            let org = try Self.require(p, .manageMembers)
            let user = try context.parameters.require("userId")
            let body = try await JSONBody.read(request, limit: services.limits.maxBodyBytes)
            guard let role = body["role"]?.stringValue.flatMap(Role.init(rawValue:)) else {
                throw APIError.badRequest("body needs role (owner, admin, member, viewer)")
            }
            guard try await services.directory.role(userId: user, orgId: org) != nil else { throw APIError.notFound }
            return try await setRole(p, org: org, user: user, role: role, created: false)
        }
        admin.delete("members/{userId}") { request, context in
            let p = try await services.authenticate(request)
            let org = try Self.require(p, .manageMembers)
            let user = try context.parameters.require("userId")
            guard let current = try await services.directory.role(userId: user, orgId: org) else { throw APIError.notFound }
            if current == .owner, !p.role.allows(.manageOwners) { throw APIError(.forbidden, code: "forbidden", "only owners can remove an owner") }
            try await services.directory.removeMember(userId: user, orgId: org)
            try await memories.audit?.record(orgId: org, actor: p.userId, action: "member.remove", detail: "user \(user) role \(current.rawValue)")
            return Response(status: .noContent)
        }
        admin.get("org") { request, _ in
            let p = try await services.authenticate(request)
            let org = try Self.require(p, .reviewMemories)
            guard let o = try await services.directory.organisation(org) else { throw APIError.notFound }
            return JSONBody.response(Self.orgJSON(o))
        }
        admin.patch("org") { request, _ in
            let p = try await services.authenticate(request)
            let org = try Self.require(p, .configureOrg)
            let body = try await JSONBody.read(request, limit: services.limits.maxBodyBytes)
            guard case let .bool(on)? = body["require_review"] else { throw APIError.badRequest("body needs require_review (boolean)") }
            try await services.directory.setRequireReview(on, orgId: org)
            try await memories.audit?.record(orgId: org, actor: p.userId, action: "org.policy", detail: "require_review \(on)")
            guard let o = try await services.directory.organisation(org) else { throw APIError.notFound }
            return JSONBody.response(Self.orgJSON(o))
        }
    }

    /// The content hash the reviewer saw: `{"content_hash": "…"}` in the body, or `If-Match: "…"`
    /// (the memory's content hash is its entity tag). Both given must agree.
    static func seenContentHash(_ request: Request, limit: Int) async throws -> String? {
        var fromHeader: String?
        if let raw = request.headers[.ifMatch] {
            var tag = raw.trimmingCharacters(in: .whitespaces)
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            fromHeader = tag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        var fromBody: String?
        let buffer = try await request.body.collect(upTo: limit)
        if buffer.readableBytes > 0 {
            let body = try JSONBody.parse(Data(buffer.readableBytesView))
            guard case let .object(o) = body else { throw APIError.badRequest("request body must be a JSON object") }
            if let value = o["content_hash"] {
                guard let text = value.stringValue else { throw APIError.badRequest("content_hash must be a string") }
                fromBody = text
            }
        }
        if let fromHeader, let fromBody, fromHeader.lowercased() != fromBody.lowercased() {
            throw APIError.badRequest("If-Match and content_hash disagree")
        }
        return fromBody ?? fromHeader
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
        return ReviewQuery(state: state, author: text("author"), tag: text("tag"), repo: text("repo"), text: text("q"),
                           limit: limit, cursor: text("cursor"))
    }

    func setRole(_ p: Principal, org: String, user: String, role: Role, created: Bool) async throws -> Response {
        let previous = try await services.directory.role(userId: user, orgId: org)
        if role == .owner || previous == .owner, !p.role.allows(.manageOwners) {
            throw APIError(.forbidden, code: "forbidden", "only owners can grant or change the owner role")
        }
        try await services.directory.upsertMember(userId: user, orgId: org, role: role)
        try await memories.audit?.record(orgId: org, actor: p.userId, action: created ? "member.add" : "member.role",
                                         detail: "user \(user) role \(previous?.rawValue ?? "none")→\(role.rawValue)")
        guard let m = try await services.directory.members(orgId: org).first(where: { $0.userId == user }) else { throw APIError.notFound }
        return JSONBody.response(.object(["member": Self.memberJSON(m)]), status: created ? .created : .ok)
    }

    static func require(_ p: Principal, _ permission: Permission) throws -> String {
        guard let org = p.orgId, p.role.allows(permission) else {
            throw APIError(.forbidden, code: "forbidden", "this needs the \(permission == .manageOwners ? "owner" : "admin or owner") role")
        }
        return org
    }

    static func auditJSON(_ e: AuditEntry) -> JSONValue {
        .object([
            "id": .int(e.id), "at": .string(RFC3339.format(e.at.timeIntervalSince1970)), "actor": .string(e.actor),
            "action": .string(e.action), "org_id": e.orgId.map { .string($0) } ?? .null,
            "memory_id": e.memoryId.map { .string($0.lowercasedText) } ?? .null,
            "before_hash": e.beforeHash.map { .string($0) } ?? .null, "after_hash": e.afterHash.map { .string($0) } ?? .null,
            "detail": e.detail.map { .string($0) } ?? .null,
        ])
    }

    static func memberJSON(_ m: Membership) -> JSONValue {
        .object(["user_id": .string(m.userId), "role": .string(m.role.rawValue), "created_at": .string(RFC3339.format(m.createdAt.timeIntervalSince1970))])
    }

    static func invitationJSON(_ i: Invitation) -> JSONValue {
        .object([
            "id": .string(i.id.lowercasedText), "org_id": .string(i.orgId), "user_id": .string(i.userId), "role": .string(i.role.rawValue),
            "invited_by": .string(i.invitedBy), "created_at": .string(RFC3339.format(i.createdAt.timeIntervalSince1970)),
            "expires_at": .string(RFC3339.format(i.expiresAt.timeIntervalSince1970)), "status": "pending",
        ])
    }

    static func orgJSON(_ o: Organisation) -> JSONValue {
        .object(["id": .string(o.id), "name": .string(o.name), "require_review": .bool(o.requireReview)])
    }
}
