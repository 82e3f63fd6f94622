import EngramAuth
import EngramCore
import EngramHTTP
import EngramLifecycle
import EngramMemory
import EngramMemoryModel
import EngramSchemas
import Foundation
import HTTPTypes
import Hummingbird
import JWTKit

/// The REST API under `/v1`: the same service and policy as MCP, JSON errors
/// `{"error": {"code", "message"}}`. Bodies are validated with the tools' schemas.
struct MemoryRoutes: Sendable {
    let services: ServerServices
    var memories: MemoryService { services.memories }

    func register(on router: Router<EngramRequestContext>) {
        let v1 = router.group("v1")
        v1.get("openapi.json") { _, _ -> Response in
            let data = try EngramSchemas.data("openapi.json")
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        v1.get("me") { _, context -> Response in
            let p = try context.requirePrincipal()
            return JSONBody.response(
                .object([
                    "user_id": .string(p.userId), "org_id": p.orgId.map { .string($0) } ?? .null, "role": .string(p.role.rawValue),
                ])
            )
        }
        v1.post("memories") { request, context in try await add(request, context: context) }
        v1.get("memories") { request, context in try await list(request, context: context) }
        v1.get("memories/search") { request, context in try await search(request, context: context) }
        v1.get("memories/{id}") { request, context in
            let p = try context.requirePrincipal()
            let id = try Self.id(context)
            let m = try memories.get(p, id: id)
            let u = memories.usage.usage(id)
            return JSONBody.response(
                .object([
                    "memory": MemoryJSON.memory(
                        m,
                        usage: u,
                        freshness: Freshness.of(m, usage: u, policy: memories.policy(of: m)),
                        trust: m.trust(for: p)
                    )
                ])
            )
        }
        v1.get("memories/{id}/versions") { _, context in
            let p = try context.requirePrincipal()
            let id = try Self.id(context)
            return JSONBody.response(MemoryJSON.history(id, try await memories.history(p, id: id)))
        }
        v1.post("memories/{id}/revert") { request, context in
            let p = try context.requirePrincipal()
            let id = try Self.id(context)
            let body = try await validatedBody(request, tool: "revert_memory", droppingID: true)
            let m = try await memories.revert(p, id: id, to: ToolArguments.int(body, "version") ?? 0, origin: Self.origin(request, context))
            return JSONBody.response(.object(["memory": MemoryJSON.memory(m, trust: m.trust(for: p))]))
        }
        v1.post("memories/{id}/rate") { request, context in
            let p = try context.requirePrincipal()
            let id = try Self.id(context)
            let body = try await validatedBody(request, tool: "rate_memory", droppingID: true)
            guard let verdict = ToolArguments.string(body, "verdict").flatMap(Verdict.init(rawValue:)) else {
                throw APIError.badRequest("verdict must be helpful, outdated or wrong")
            }
            let r = try await memories.rate(
                p,
                id: id,
                verdict: verdict,
                note: ToolArguments.string(body, "note"),
                origin: Self.origin(request, context)
            )
            return JSONBody.response(MemoryJSON.rating(r, reader: p))
        }
        v1.get("memories/{id}/reports") { _, context in
            let p = try context.requirePrincipal()
            let id = try Self.id(context)
            return JSONBody.response(.object(["reports": .array(try await memories.reports(p, id: id).map(MemoryJSON.report))]))
        }
        v1.patch("memories/{id}") { request, context in
            let p = try context.requirePrincipal()
            let id = try Self.id(context)
            let body = try await validatedBody(request, tool: "update_memory", droppingID: true)
            let m = try await memories.update(p, id: id, try ToolArguments.patch(body), origin: Self.origin(request, context))
            var o: [String: JSONValue] = [
                "memory": MemoryJSON.memory(m, trust: m.trust(for: p)),
                "possible_conflicts": MemoryJSON.conflicts(try await memories.possibleConflicts(p, of: m), reader: p),
            ]
            if let warning = MemoryJSON.flagWarning(m) { o["warning"] = .string(warning) }
            return JSONBody.response(.object(o))
        }
        v1.delete("memories/{id}") { request, context in
            let p = try context.requirePrincipal()
            let id = try Self.id(context)
            // Deleting an org memory from a browser session is a sensitive change (a recent password).
            if context.session != nil, (try? memories.get(p, id: id))?.scope == .org { try context.requireRecentPassword(services) }
            try await memories.delete(p, id: id, origin: Self.origin(request, context))
            return Response(status: .noContent)
        }
        v1.post("finish") { request, context in try await finish(request, context: context) }
        router.post("finish") { request, context in try await finish(request, context: context) }
    }

    /// The write origin of a REST request: its `User-Agent` and Hummingbird's request id.
    static func origin(_ request: Request, _ context: EngramRequestContext, _ channel: WriteChannel = .rest) -> WriteOrigin {
        WriteOrigin(channel, client: request.headers[.userAgent], requestId: context.id, tokenId: context.verifiedToken?.jti.value)
    }

    static func id(_ context: EngramRequestContext) throws -> UUID {
        guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw) else {
            throw APIError.badRequest("id must be a UUID")
        }
        return id
    }

    func validatedBody(_ request: Request, tool: String, droppingID: Bool = false) async throws -> JSONValue {
        let body = try await JSONBody.read(request, limit: services.limits.maxBodyBytes)
        guard case .object = body else { throw APIError.badRequest("request body must be a JSON object") }
        if let problem = services.tools.validator(forBodyOf: tool, droppingID: droppingID)?.validate(body) {
            throw APIError.badRequest(problem.replacingOccurrences(of: "arguments", with: "body"))
        }
        return body
    }

    func add(_ request: Request, context: EngramRequestContext) async throws -> Response {
        let p = try context.requirePrincipal()
        let body = try await validatedBody(request, tool: "add_memory")
        let r = try await memories.add(p, try ToolArguments.newMemory(body), origin: Self.origin(request, context))
        return JSONBody.response(MemoryJSON.add(r, reader: p), status: r.status == .created ? .created : .ok)
    }

    /// Query parameters as the tool-argument object the schemas describe.
    static func queryArguments(_ request: Request, mapping: [String: String]) -> JSONValue {
        let q = request.uri.queryParameters
        var o: [String: JSONValue] = [:]
        for (param, key) in mapping {
            if key == "tags" {
                let all: [JSONValue] = q.getAll(param).map { JSONValue.string(String($0)) }
                if !all.isEmpty { o[key] = .array(all) }
            } else if let raw = q.get(param) {
                let v = String(raw)
                if key == "limit", let i = Int64(v) {
                    o[key] = .int(i)
                } else if key == "min_score", let d = Double(v) {
                    o[key] = .double(d)
                } else if key == "include_stale", v == "true" || v == "false" || v == "1" || v == "0" {
                    o[key] = .bool(v == "true" || v == "1")
                } else {
                    o[key] = .string(v)
                }
            }
        }
        return .object(o)
    }

    func list(_ request: Request, context: EngramRequestContext) async throws -> Response {
        let p = try context.requirePrincipal()
        let args = Self.queryArguments(
            request,
            mapping: [
                "limit": "limit", "cursor": "cursor", "scope": "scope", "tag": "tags", "repo": "repo", "kind": "kind",
                "state": "state", "task_id": "task_id", "include_stale": "include_stale",
            ]
        )
        if let problem = services.tools.validators["list_memories"]?.validate(args) {
            throw APIError.badRequest(problem.replacingOccurrences(of: "arguments", with: "query"))
        }
        return JSONBody.response(
            MemoryJSON.page(
                try memories.list(
                    p,
                    filter: ToolArguments.filter(args),
                    limit: ToolArguments.int(args, "limit") ?? 20,
                    cursor: ToolArguments.string(args, "cursor")
                ),
                reader: p
            )
        )
    }

    func search(_ request: Request, context: EngramRequestContext) async throws -> Response {
        let p = try context.requirePrincipal()
        let args = Self.queryArguments(
            request,
            mapping: [
                "q": "query", "limit": "limit", "scope": "scope", "tag": "tags", "repo": "repo", "kind": "kind", "min_score": "min_score",
                "created_after": "created_after", "created_before": "created_before", "updated_after": "updated_after",
                "include_stale": "include_stale",
            ]
        )
        if let problem = services.tools.validators["search_memories"]?.validate(args) {
            throw APIError.badRequest(
                problem.replacingOccurrences(of: "arguments", with: "query").replacingOccurrences(of: "query: is required", with: "q: is required")
            )
        }
        let hits = try await memories.search(p, ToolArguments.searchQuery(args))
        return JSONBody.response(.object(["results": .array(hits.map { MemoryJSON.hit($0, reader: p) })]))
    }

    func finish(_ request: Request, context: EngramRequestContext) async throws -> Response {
        let p = try context.requirePrincipal()
        let body = try await validatedBody(request, tool: "finish_task")
        let task = ToolArguments.string(body, "task_id")
        return JSONBody.response(
            MemoryJSON.finish(try await memories.finish(p, taskId: task, origin: Self.origin(request, context)), taskId: task)
        )
    }
}
