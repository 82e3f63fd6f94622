import EngramAuth
import EngramCore
import EngramMemory
import EngramSchemas
import Foundation
import HTTPTypes
import Hummingbird

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
            return JSONBody.response(.object(["memory": MemoryJSON.memory(try memories.get(p, id: id))]))
        }
        v1.patch("memories/{id}") { request, context in
            let p = try context.requirePrincipal()
            let id = try Self.id(context)
            let body = try await validatedBody(request, tool: "update_memory", droppingID: true)
            return JSONBody.response(
                .object(["memory": MemoryJSON.memory(try await memories.update(p, id: id, ToolArguments.patch(body), channel: .rest))])
            )
        }
        v1.delete("memories/{id}") { request, context in
            let p = try context.requirePrincipal()
            let id = try Self.id(context)
            try await memories.delete(p, id: id)
            return Response(status: .noContent)
        }
        v1.post("finish") { request, context in try await finish(request, context: context) }
        router.post("finish") { request, context in try await finish(request, context: context) }
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
        let r = try await memories.add(p, ToolArguments.newMemory(body), channel: .rest)
        return JSONBody.response(MemoryJSON.add(r), status: r.status == .created ? .created : .ok)
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
                "state": "state", "task_id": "task_id",
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
                )
            )
        )
    }

    func search(_ request: Request, context: EngramRequestContext) async throws -> Response {
        let p = try context.requirePrincipal()
        let args = Self.queryArguments(
            request,
            mapping: [
                "q": "query", "limit": "limit", "scope": "scope", "tag": "tags", "repo": "repo", "kind": "kind", "min_score": "min_score",
            ]
        )
        if let problem = services.tools.validators["search_memories"]?.validate(args) {
            throw APIError.badRequest(
                problem.replacingOccurrences(of: "arguments", with: "query").replacingOccurrences(of: "query: is required", with: "q: is required")
            )
        }
        let hits = try await memories.search(p, ToolArguments.searchQuery(args))
        return JSONBody.response(.object(["results": .array(hits.map { MemoryJSON.hit($0) })]))
    }

    func finish(_ request: Request, context: EngramRequestContext) async throws -> Response {
        let p = try context.requirePrincipal()
        let body = try await validatedBody(request, tool: "finish_task")
        let task = ToolArguments.string(body, "task_id")
        return JSONBody.response(MemoryJSON.finish(try await memories.finish(p, taskId: task), taskId: task))
    }
}
