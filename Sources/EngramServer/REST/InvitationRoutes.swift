import EngramAccounts
import EngramAuth
import EngramCore
import EngramHTTP
import EngramMemory
import Foundation
import Hummingbird

/// The invitee's side of joining an organisation, under `/v1/invitations`: list the invitations
/// addressed to the caller, accept one (the membership is created with the invited role) or decline
/// it. Authenticated with any credential of the invitee; another user's invitation answers 404.
struct InvitationRoutes: Sendable {
    let services: ServerServices

    func register(on router: Router<EngramRequestContext>) {
        router.get("v1/invitations") { _, context in
            let mine = try await services.organisations.invitations(for: try context.requirePrincipal())
            return JSONBody.response(.object(["invitations": .array(mine.map(OrgJSON.invitation))]))
        }
        router.post("v1/invitations/{id}/accept") { _, context in
            let p = try context.requirePrincipal()
            let membership = try await services.organisations.acceptInvitation(p, id: try MemoryRoutes.id(context))
            return JSONBody.response(.object(["member": OrgJSON.member(membership), "org_id": .string(membership.orgId)]))
        }
        router.post("v1/invitations/{id}/decline") { _, context in
            let p = try context.requirePrincipal()
            try await services.organisations.declineInvitation(p, id: try MemoryRoutes.id(context))
            return Response(status: .noContent)
        }
    }
}
