import EngramAuth
import EngramCore
import EngramHTTP
import EngramLifecycle
import EngramMemory
import Foundation
import Hummingbird

/// Containment under `/v1/admin`: `quarantine`, `release` and `rollback` with a selector body
/// `{member?, token_id?, task_id?, client?, since?, until?, ids?, dry_run?}` (times RFC 3339). A dry run
/// answers the counts without changing anything; a real run is one audit entry with the selector and the
/// counts. Owners and admins of the organisation.
extension AdminRoutes {
    func registerContainment(on admin: RouterGroup<EngramRequestContext>) {
        admin.post("quarantine") { request, context in
            let p = try context.requirePrincipal()
            let (selector, dryRun) = try await selectorBody(request)
            return JSONBody.response(Self.containment(try await memories.quarantine(p, selector, dryRun: dryRun)))
        }
        admin.post("release") { request, context in
            let p = try context.requirePrincipal()
            let (selector, dryRun) = try await selectorBody(request)
            return JSONBody.response(Self.containment(try await memories.release(p, selector, dryRun: dryRun)))
        }
        admin.post("rollback") { request, context in
            let p = try context.requirePrincipal()
            let (selector, dryRun) = try await selectorBody(request)
            return JSONBody.response(Self.containment(try await memories.rollback(p, selector, dryRun: dryRun)))
        }
    }

    static let selectorKeys: Set<String> = ["member", "token_id", "task_id", "client", "since", "until", "ids", "dry_run"]

    func selectorBody(_ request: Request) async throws -> (ContainmentSelector, Bool) {
        let body = try await JSONBody.read(request, limit: services.limits.maxBodyBytes)
        guard case let .object(o) = body else { throw APIError.badRequest("request body must be a JSON object") }
        if let unknown = o.keys.first(where: { !Self.selectorKeys.contains($0) }) {
            throw APIError.badRequest("unknown selector field \(unknown); use \(Self.selectorKeys.sorted().joined(separator: ", "))")
        }
        func text(_ key: String) throws -> String? {
            guard let v = o[key], v != .null else { return nil }
            guard let s = v.stringValue, !s.isEmpty, s.count <= 256 else { throw APIError.badRequest("\(key) must be a non-empty string") }
            return s
        }
        func time(_ key: String) throws -> Date? {
            guard let s = try text(key) else { return nil }
            guard let t = RFC3339.parse(s) else { throw APIError.badRequest("\(key) must be an RFC 3339 time, e.g. 2026-12-01T09:00:00Z") }
            return Date(timeIntervalSince1970: t)
        }
        var ids: [UUID]?
        if let v = o["ids"], v != .null {
            guard case let .array(items) = v else { throw APIError.badRequest("ids must be a list of memory ids") }
            ids = try items.map { item in
                guard let id = item.stringValue.flatMap(UUID.init(uuidString:)) else { throw APIError.badRequest("ids must be a list of memory ids") }
                return id
            }
        }
        var dryRun = false
        if let v = o["dry_run"] {
            guard case let .bool(b) = v else { throw APIError.badRequest("dry_run must be a boolean") }
            dryRun = b
        }
        let selector = ContainmentSelector(
            member: try text("member"),
            tokenId: try text("token_id"),
            taskId: try text("task_id"),
            client: try text("client"),
            since: try time("since"),
            until: try time("until"),
            ids: ids
        )
        return (selector, dryRun)
    }

    static func containment(_ r: ContainmentReport) -> JSONValue {
        .object([
            "action": .string(r.action), "dry_run": .bool(r.dryRun), "matched": .int(Int64(r.matched)),
            "quarantined": .int(Int64(r.quarantined)), "released": .int(Int64(r.released)), "restored": .int(Int64(r.restored)),
            "unchanged": .int(Int64(r.unchanged)), "memory_ids": .array(r.memoryIds.map { .string($0.lowercasedText) }),
        ])
    }
}
