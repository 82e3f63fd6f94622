import ArgumentParser
import EngramAuth
import EngramDatabase
import EngramMemory
import EngramStore
import Foundation

/// `engram user …`: manage memberships in the local data directory.
struct User: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add, change or remove users in organisations.",
        subcommands: [Add.self, Remove.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user (and org) or set their role.")
        @Option(help: "User id.") var user: String
        @Option(help: "Organisation id (omit for a personal-only user).") var org: String?
        @Option(help: "owner, admin, member or viewer.") var role: String = "member"
        @OptionGroup var store: StoreOptions

        func run() async throws {
            guard let r = Role(rawValue: role) else { throw ValidationError("role must be owner, admin, member or viewer") }
            let directory = try MemberDirectory(database: try EngramDatabase(directory: store.dataDirectory))
            if let org { try await directory.upsertMember(userId: user, orgId: org, role: r) } else { try await directory.upsertUser(user) }
            print(org.map { "\(user) is \(r.rawValue) of \($0)" } ?? "user \(user) exists")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a user from an organisation (not the last owner).")
        @Option(help: "User id.") var user: String
        @Option(help: "Organisation id.") var org: String
        @OptionGroup var store: StoreOptions

        func run() async throws {
            let directory = try MemberDirectory(database: try EngramDatabase(directory: store.dataDirectory))
            try await directory.removeMember(userId: user, orgId: org)
            print("removed \(user) from \(org)")
        }
    }
}

/// `engram org …`: organisation policy and members.
struct Org: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show organisations and set their policy.",
        subcommands: [Show.self, Set.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an organisation and its members.")
        @Option(help: "Organisation id.") var org: String
        @OptionGroup var store: StoreOptions

        func run() async throws {
            let directory = try MemberDirectory(database: try EngramDatabase(directory: store.dataDirectory))
            guard let o = try await directory.organisation(org) else { throw ValidationError("no organisation \(org)") }
            print("\(o.id) (\(o.name)) require_review=\(o.requireReview)")
            for m in try await directory.members(orgId: org) {
                print("  \(m.userId.padding(toLength: 24, withPad: " ", startingAt: 0)) \(m.role.rawValue)")
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set an organisation's policy.",
            discussion: """
                The webhook secret is read from standard input when --webhook-secret is `-` (so it stays out of \
                the shell history); it is never printed. Restart a running server after changing the lifecycle \
                periods, or set them on the admin page.
                """
        )
        @Option(help: "Organisation id.") var org: String
        @Option(help: "true: org memories go to review on finish.") var requireReview: Bool?
        @Option(help: "Days without serving or confirmation before a published memory turns stale (7–3650).") var staleAfterDays: Int?
        @Option(help: "Days the versions of a deleted memory are kept (1–3650).") var versionRetentionDays: Int?
        @Option(help: "Four-eyes review: true (the default) means nobody approves a memory they wrote.") var approverMustDiffer: Bool?
        @Option(help: "The secret of the org's GitHub/GitLab webhooks (`-`: read it from standard input; empty: clear it).")
        var webhookSecret: String?
        @OptionGroup var store: StoreOptions

        func validate() throws {
            guard requireReview != nil || staleAfterDays != nil || versionRetentionDays != nil || webhookSecret != nil || approverMustDiffer != nil
            else {
                throw ValidationError(
                    "pass --require-review, --stale-after-days, --version-retention-days, --approver-must-differ or --webhook-secret"
                )
            }
        }

        func run() async throws {
            let database = try EngramDatabase(directory: store.dataDirectory)
            let directory = try MemberDirectory(database: database)
            guard try await directory.organisation(org) != nil else { throw ValidationError("no organisation \(org)") }
            if let requireReview {
                try await directory.setRequireReview(requireReview, orgId: org)
                print("\(org) require_review=\(requireReview)")
            }
            let records = LifecycleRecords(database: database)
            if staleAfterDays != nil || versionRetentionDays != nil || approverMustDiffer != nil {
                let current = try await records.policy(orgId: org) ?? LifecyclePolicyRow(staleAfterDays: 180, versionRetentionDays: 30)
                let stale = staleAfterDays ?? current.staleAfterDays
                let retention = versionRetentionDays ?? current.versionRetentionDays
                let fourEyes = approverMustDiffer ?? current.approverMustDiffer
                guard LifecyclePolicy.staleRange.contains(stale) else { throw ValidationError("--stale-after-days must be 7 to 3650") }
                guard LifecyclePolicy.retentionRange.contains(retention) else { throw ValidationError("--version-retention-days must be 1 to 3650") }
                _ = try await records.setPolicy(
                    LifecyclePolicyRow(staleAfterDays: stale, versionRetentionDays: retention, approverMustDiffer: fourEyes),
                    orgId: org
                )
                try await AuditLog(database: database).record(
                    orgId: org,
                    actor: "operator",
                    action: "policy",
                    detail:
                        "stale_after_days \(current.staleAfterDays)→\(stale); version_retention_days \(current.versionRetentionDays)→\(retention); "
                        + "approver_must_differ \(current.approverMustDiffer)→\(fourEyes)"
                )
                print("\(org) stale_after_days=\(stale) version_retention_days=\(retention) approver_must_differ=\(fourEyes)")
            }
            if var secret = webhookSecret {
                if secret == "-" { secret = (readLine(strippingNewline: true) ?? "").trimmingCharacters(in: .whitespaces) }
                let value: String? = secret.isEmpty ? nil : secret
                if let value {
                    guard (MemoryService.minWebhookSecretLength...MemoryService.maxWebhookSecretLength).contains(value.count),
                        !value.contains(" ")
                    else {
                        throw ValidationError("the webhook secret must be 16 to 256 characters without spaces")
                    }
                }
                _ = try await records.setWebhookSecret(value, orgId: org)
                try await AuditLog(database: database).record(
                    orgId: org,
                    actor: "operator",
                    action: "webhook-secret",
                    detail: value == nil ? "cleared" : "set"
                )
                print("\(org) webhook secret \(value == nil ? "cleared" : "set")")
            }
        }
    }
}
