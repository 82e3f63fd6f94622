import EngramAuth
import EngramCore
import EngramMemory
import Foundation
import Hummingbird

/// The invitee's side of joining an organisation, under `/v1/invitations`: list the invitations
/// addressed to the caller, accept one (the membership is created with the invited role) or decline
/// it. Authenticated with any credential of the invitee; another user's invitation answers 404.
struct InvitationRoutes: Sendable {
    let services: ServerServices

    func register(on router: Router<EngramRequestContext>) {
        router.get("v1/invitations") { request, _ in
            let p = try await services.authenticate(request)
            let mine = try await services.directory.invitations(userId: p.userId)
            return JSONBody.response(.object(["invitations": .array(mine.map(AdminRoutes.invitationJSON))]))
        }
        router.post("v1/invitations/{id}/accept") { request, context in
            let p = try await services.authenticate(request)
            let id = try RESTRoutes.id(context)
            let membership = try await services.directory.acceptInvitation(id: id, userId: p.userId)
            try await services.memories.audit?.record(orgId: membership.orgId, actor: p.userId, action: "member.join",
                                                      detail: "user \(p.userId) role \(membership.role.rawValue) invitation \(id.lowercasedText)")
            return JSONBody.response(.object(["member": AdminRoutes.memberJSON(membership), "org_id": .string(membership.orgId)]))
        }
        router.post("v1/invitations/{id}/decline") { request, context in
            let p = try await services.authenticate(request)
            let id = try RESTRoutes.id(context)
            let removed = try await services.directory.removeInvitation(id: id, userId: p.userId)
            try await services.memories.audit?.record(orgId: removed.orgId, actor: p.userId, action: "member.invite.decline",
                                                      detail: "user \(p.userId) invitation \(id.lowercasedText)")
            return Response(status: .noContent)
        }
    }
}
