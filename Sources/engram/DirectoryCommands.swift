import ArgumentParser
import EngramAccounts
import EngramAuth
import EngramConfig
import EngramDatabase
import EngramLifecycle
import EngramMemory
import EngramMemoryModel
import EngramMetadata
import EngramRuntime
import EngramStore
import EngramStoreModel
import Foundation

/// `engram user …`: manage memberships in the local data directory.
struct User: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add, change or remove users in organisations.",
        subcommands: [Add.self, Remove.self, Invite.self, ResetLink.self]
    )

    /// An account service over the data directory's database, for the commands that issue links or set
    /// passwords (no tokens are signed, no TOTP secret is opened).
    static func accounts(_ database: any MetadataStore, directory: MemberDirectory) async -> AccountService {
        AccountService(
            metadata: database,
            directory: directory,
            audit: AuditLog(metadata: database),
            tokens: await TokenService(secret: OneTimeSecret.generate().value),
            totpBox: nil
        )
    }

    /// The base of printed links: `--base-url`, else `ENGRAM_PUBLIC_URL`, else the default listener.
    static func baseURL(_ flag: String?) -> String {
        flag ?? EngramConfiguration().publicURL ?? "http://127.0.0.1:8080"
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user (and org) or set their role.")
        @Option(help: "User id.") var user: String
        @Option(help: "Organisation id (omit for a personal-only user).") var org: String?
        @Option(help: "owner, admin, member or viewer.") var role: String = "member"
        @Flag(help: "Read a password for the user from standard input (scripted setups; it is never printed or logged).")
        var passwordStdin = false
        @OptionGroup var store: StoreOptions

        func run() async throws {
            guard let r = Role(rawValue: role) else { throw ValidationError("role must be owner, admin, member or viewer") }
            try await store.withMetadata { connection in
                let database = connection.store
                let directory = MemberDirectory(metadata: database)
                if let org { try await directory.upsertMember(userId: user, orgId: org, role: r) } else { try await directory.upsertUser(user) }
                if passwordStdin {
                    let password = (readLine(strippingNewline: true) ?? "")
                    do {
                        try await User.accounts(database, directory: directory).setPassword(userId: user, password: password)
                    } catch let error as AccountError {
                        throw ValidationError("password refused: \(error)")
                    }
                }
                print(org.map { "\(user) is \(r.rawValue) of \($0)" } ?? "user \(user) exists")
            }
        }
    }

    struct Invite: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Invite a person into an organisation and print their single-use link.",
            discussion: "The person opens the link, sets a password (or confirms theirs) and becomes a member with the role."
        )
        @Option(help: "User id of the person invited.") var user: String
        @Option(help: "Organisation id.") var org: String
        @Option(help: "owner, admin, member or viewer.") var role: String = "member"
        @Option(help: "Base URL of the server in the link (default ENGRAM_PUBLIC_URL, else http://127.0.0.1:8080).") var baseURL: String?
        @Option(help: "Hours the link stays valid (1–720).") var validHours: Int = 168
        @Option(help: .hidden) var validSeconds: Int?
        @OptionGroup var store: StoreOptions

        func run() async throws {
            guard let r = Role(rawValue: role) else { throw ValidationError("role must be owner, admin, member or viewer") }
            guard (1...720).contains(validHours) else { throw ValidationError("--valid-hours must be 1 to 720") }
            try await store.withMetadata { connection in
                let database = connection.store
                let directory = MemberDirectory(metadata: database)
                guard try await directory.organisation(org) != nil else { throw ValidationError("no organisation \(org)") }
                let lifetime = validSeconds.map(Double.init) ?? Double(validHours) * 3600
                let invitation = try await directory.invite(userId: user, orgId: org, role: r, invitedBy: "operator", lifetime: lifetime)
                try await AuditLog(metadata: database).record(
                    orgId: org,
                    actor: "operator",
                    action: "member.invite",
                    detail: "user \(user) role \(r.rawValue) invitation \(invitation.id.uuidString.lowercased()) with a link"
                )
                let link = try await User.accounts(database, directory: directory).linkInvitation(invitation, createdBy: "operator")
                print("Invitation for \(user) to \(org) as \(r.rawValue), single use, valid until \(link.expiresAt):")
                print(link.url(base: User.baseURL(baseURL), kind: .invitation))
            }
        }
    }

    struct ResetLink: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a single-use password reset link for a user.",
            discussion: "Using it sets a new password and signs the user out everywhere. Earlier unused reset links stop working."
        )
        @Option(help: "User id.") var user: String
        @Option(help: "Base URL of the server in the link (default ENGRAM_PUBLIC_URL, else http://127.0.0.1:8080).") var baseURL: String?
        @Option(help: "Minutes the link stays valid (1–1440).") var validMinutes: Int = 60
        @Option(help: .hidden) var validSeconds: Int?
        @OptionGroup var store: StoreOptions

        func run() async throws {
            guard (1...1440).contains(validMinutes) else { throw ValidationError("--valid-minutes must be 1 to 1440") }
            try await store.withMetadata { connection in
                let database = connection.store
                let accounts = await User.accounts(database, directory: MemberDirectory(metadata: database))
                let lifetime = validSeconds.map(Double.init) ?? Double(validMinutes) * 60
                let link: IssuedLink
                do { link = try await accounts.issueResetLink(for: user, by: nil, lifetime: lifetime) } catch AccountError.notFound {
                    throw ValidationError("no user \(user)")
                }
                print("Password reset link for \(user), single use, valid until \(link.expiresAt):")
                print(link.url(base: User.baseURL(baseURL), kind: .reset))
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a user from an organisation (not the last owner).")
        @Option(help: "User id.") var user: String
        @Option(help: "Organisation id.") var org: String
        @OptionGroup var store: StoreOptions

        func run() async throws {
            try await store.withMetadata { connection in
                let directory = MemberDirectory(metadata: connection.store)
                try await directory.removeMember(userId: user, orgId: org)
                print("removed \(user) from \(org)")
            }
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
            try await store.withMetadata { connection in
                let directory = MemberDirectory(metadata: connection.store)
                guard let o = try await directory.organisation(org) else { throw ValidationError("no organisation \(org)") }
                print("\(o.id) (\(o.name)) require_review=\(o.requireReview)")
                for m in try await directory.members(orgId: org) {
                    print("  \(m.userId.padding(toLength: 24, withPad: " ", startingAt: 0)) \(m.role.rawValue)")
                }
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
        @Option(help: "true: members must enrol in TOTP before they can use a browser session.") var requireTotp: Bool?
        @Option(help: "The secret of the org's GitHub/GitLab webhooks (`-`: read it from standard input; empty: clear it).")
        var webhookSecret: String?
        @OptionGroup var store: StoreOptions

        func validate() throws {
            guard
                requireReview != nil || staleAfterDays != nil || versionRetentionDays != nil || webhookSecret != nil || approverMustDiffer != nil
                    || requireTotp != nil
            else {
                throw ValidationError(
                    "pass --require-review, --require-totp, --stale-after-days, --version-retention-days, --approver-must-differ or --webhook-secret"
                )
            }
        }

        func run() async throws {
            try await store.withMetadata { connection in
                let database = connection.store
                let directory = try MemberDirectory(metadata: database)
                guard try await directory.organisation(org) != nil else { throw ValidationError("no organisation \(org)") }
                if let requireReview {
                    try await directory.setRequireReview(requireReview, orgId: org)
                    print("\(org) require_review=\(requireReview)")
                }
                if let requireTotp {
                    // The CLI cannot tell whether the server has ENGRAM_ENCRYPTION_KEY; enrolment refuses without it.
                    let accounts = AccountService(
                        metadata: database,
                        directory: directory,
                        audit: AuditLog(metadata: database),
                        tokens: await TokenService(secret: OneTimeSecret.generate().value),
                        totpBox: SecretBox(masterKey: OneTimeSecret.generate().value, purpose: "policy-only")
                    )
                    try await accounts.setRequireTOTP(requireTotp, orgId: org, actor: "operator")
                    print("\(org) require_totp=\(requireTotp)")
                    if requireTotp, EngramConfiguration()[.encryptionKey] == nil {
                        FileHandle.standardError.write(
                            Data("note: members can enrol only when the server runs with ENGRAM_ENCRYPTION_KEY (or in dev mode)\n".utf8)
                        )
                    }
                }
                let org = org
                if staleAfterDays != nil || versionRetentionDays != nil || approverMustDiffer != nil {
                    let current =
                        try await database.withTenant(.org(org), .read) { try $0.policy(orgId: org) }
                        ?? LifecyclePolicyRow(staleAfterDays: 180, versionRetentionDays: 30)
                    let stale = staleAfterDays ?? current.staleAfterDays
                    let retention = versionRetentionDays ?? current.versionRetentionDays
                    let fourEyes = approverMustDiffer ?? current.approverMustDiffer
                    guard LifecyclePolicy.staleRange.contains(stale) else { throw ValidationError("--stale-after-days must be 7 to 3650") }
                    guard LifecyclePolicy.retentionRange.contains(retention) else {
                        throw ValidationError("--version-retention-days must be 1 to 3650")
                    }
                    let row = LifecyclePolicyRow(staleAfterDays: stale, versionRetentionDays: retention, approverMustDiffer: fourEyes)
                    _ = try await database.withTenant(.org(org), .write) { try $0.setPolicy(row, orgId: org) }
                    try await AuditLog(metadata: database).record(
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
                        guard database.sealsSecrets else {
                            throw ValidationError("webhook secrets are stored encrypted only: set ENGRAM_ENCRYPTION_KEY (the server's key)")
                        }
                    }
                    _ = try await database.withTenant(.org(org), .write) { try $0.setWebhookSecret(value, orgId: org) }
                    try await AuditLog(metadata: database).record(
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
}
