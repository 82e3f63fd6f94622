import EngramCore
import EngramHTTP
import EngramLifecycle
import EngramMemory

/// What Engram acts on from a Git host's webhook, whichever host sent it.
enum GitEvent: Sendable, Equatable {
    /// Commits were pushed: the paths they added, modified or removed, and the commit the branch now points at.
    case push(repository: RepositoryRef, commit: String, paths: [String])
    /// A pull or merge request was merged.
    case merged(repository: RepositoryRef, branch: String, title: String)
    /// A connectivity check (GitHub `ping`).
    case ping
    /// Anything else: acknowledged with 202 and ignored.
    case ignored(String)

    /// Every path added, modified or removed by `commits`, deduplicated in order (GitHub and GitLab
    /// share the `commits[].added/modified/removed` shape).
    static func changedPaths(_ commits: JSONValue?) -> [String] {
        guard case let .array(list)? = commits else { return [] }
        var seen = Set<String>()
        var out: [String] = []
        for commit in list {
            for key in ["added", "modified", "removed"] {
                guard case let .array(paths)? = commit[key] else { continue }
                for p in paths.compactMap(\.stringValue) where seen.insert(p).inserted { out.append(p) }
            }
        }
        return out
    }

    static func strings(_ values: JSONValue?...) -> [String] { values.compactMap { $0?.stringValue } }

    /// A GitHub event from its `X-GitHub-Event` name and JSON body.
    static func github(event: String, body: JSONValue) -> GitEvent {
        let repo = body["repository"]
        func repository() -> RepositoryRef? {
            guard let full = repo?["full_name"]?.stringValue else { return nil }
            return RepositoryRef(fullName: full, urls: strings(repo?["html_url"], repo?["clone_url"], repo?["ssh_url"], repo?["url"]))
        }
        switch event {
        case "ping":
            return .ping
        case "push":
            guard let r = repository(), let after = body["after"]?.stringValue else { return .ignored("push without repository") }
            if body["deleted"] == .bool(true) || after.allSatisfy({ $0 == "0" }) { return .ignored("branch deleted") }
            return .push(repository: r, commit: after, paths: changedPaths(body["commits"]))
        case "pull_request":
            let pr = body["pull_request"]
            guard body["action"]?.stringValue == "closed", pr?["merged"] == .bool(true) else { return .ignored("pull_request not merged") }
            guard let r = repository(), let branch = pr?["head"]?["ref"]?.stringValue else { return .ignored("pull_request without head") }
            return .merged(repository: r, branch: branch, title: pr?["title"]?.stringValue ?? "")
        default:
            return .ignored(event)
        }
    }

    /// A GitLab event from its `X-Gitlab-Event` name and JSON body.
    static func gitlab(event: String, body: JSONValue) -> GitEvent {
        let project = body["project"]
        func repository() -> RepositoryRef? {
            guard let full = project?["path_with_namespace"]?.stringValue else { return nil }
            return RepositoryRef(
                fullName: full,
                urls: strings(project?["web_url"], project?["git_http_url"], project?["git_ssh_url"], project?["http_url"])
            )
        }
        switch event {
        case "Push Hook":
            guard let r = repository(), let after = body["checkout_sha"]?.stringValue ?? body["after"]?.stringValue else {
                return .ignored("push without project")
            }
            if after.allSatisfy({ $0 == "0" }) { return .ignored("branch deleted") }
            return .push(repository: r, commit: after, paths: changedPaths(body["commits"]))
        case "Merge Request Hook":
            let mr = body["object_attributes"]
            guard mr?["action"]?.stringValue == "merge" || (mr?["state"]?.stringValue == "merged" && mr?["action"] == nil) else {
                return .ignored("merge request not merged")
            }
            guard let r = repository(), let branch = mr?["source_branch"]?.stringValue else { return .ignored("merge request without branch") }
            return .merged(repository: r, branch: branch, title: mr?["title"]?.stringValue ?? "")
        default:
            return .ignored(event)
        }
    }
}
