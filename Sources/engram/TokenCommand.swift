import ArgumentParser
import EngramAccounts
import EngramAuth
import EngramMemory
import EngramMetadata
import EngramRuntime
import Foundation
import JWTKit

/// `engram token`: issue and revoke access tokens.
struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Issue and revoke access tokens.", subcommands: [Issue.self, Revoke.self])

    /// `engram token issue --user U [--org O] [--role R] [--days N]`: prints a signed token (stdout: the token
    /// only; its `jti` and expiry go to stderr). A missing user, org or membership is created with the role;
    /// an existing membership is never changed, and a token never carries more than the member's role.
    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a token for a user (creating the user, org and membership when missing; never changing a membership)."
        )
        @Option(help: "User id (the token's subject; the MCP URL is /mcp/<user>).") var user: String
        @Option(help: "Organisation id.") var org: String?
        @Option(help: "Role in the organisation: owner, admin, member, viewer (without --org: member or viewer).") var role: String = "member"
        @Option(help: "Days until the token expires (at most 366).") var days: Double = 30
        @Option(help: "A name for the token, shown to its owner on /me (where they can revoke it).") var name: String = "engram token issue"
        @OptionGroup var store: StoreOptions

        func run() async throws {
            guard let role = Role(rawValue: role) else { throw ValidationError("role must be owner, admin, member or viewer") }
            let maxDays = TokenService.maximumLifetime / 86_400
            guard days > 0, days <= maxDays else { throw ValidationError("days must be more than 0 and at most \(Int(maxDays))") }
            let secret = try Runtime.jwtSecret(dataDirectory: store.dataDirectory, dev: false, allowFile: true)
            try await store.withMetadata { connection in
                try await issue(secret: secret, role: role, metadata: connection.store)
            }
        }

        /// Creates what is missing, signs the token, records it, and prints it.
        private func issue(secret: String, role: Role, metadata: any MetadataStore) async throws {
            let directory = MemberDirectory(metadata: metadata)
            if let org {
                if let current = try await directory.role(userId: user, orgId: org) {
                    guard role <= current else {
                        throw ValidationError(
                            "\(user) is \(current.rawValue) in \(org): a token cannot carry more than the member's role "
                                + "(change the membership with `engram user add` or the admin API first)"
                        )
                    }
                } else {
                    try await directory.upsertMember(userId: user, orgId: org, role: role)
                }
            } else {
                guard role <= .member else { throw ValidationError("roles above member belong to an organisation: pass --org") }
                try await directory.upsertUser(user)
            }
            let tokens = await TokenService(secret: secret)
            let principal = Principal(userId: user, orgId: org, role: role)
            let (token, claims) = try await tokens.issue(for: principal, lifetime: days * 86_400)
            let accounts = AccountService(
                metadata: metadata,
                directory: directory,
                audit: AuditLog(metadata: metadata),
                tokens: tokens,
                totpBox: nil
            )
            try await accounts.recordIssuedToken(claims, principal: principal, name: name)
            print(token)
            let expiry = ISO8601DateFormatter().string(from: claims.exp.value)
            FileHandle.standardError.write(Data("jti: \(claims.jti.value)\nexpires: \(expiry)\n".utf8))
        }
    }

    /// `engram token revoke --jti J`: the token is refused from the next request on.
    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by its jti claim (printed by `token issue` on stderr).")
        @Option(help: "The token's jti claim (a UUID).") var jti: String
        @OptionGroup var store: StoreOptions

        func run() async throws {
            guard let id = UUID(uuidString: jti) else { throw ValidationError("--jti takes a token id (a UUID, as printed by `token issue`)") }
            let jti = id.uuidString.lowercased()
            try await store.withMetadata { connection in
                let directory = MemberDirectory(metadata: connection.store)
                if try await directory.isRevoked(jti: jti) {
                    print("\(jti) was already revoked")
                    return
                }
                try await directory.revoke(jti: jti, expiresAt: nil)
                print("revoked \(jti)")
            }
        }
    }
}
