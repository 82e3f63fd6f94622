import ArgumentParser
import EngramAuth
import EngramStore
import Foundation

/// `engram token`: issue and revoke access tokens.
struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Issue and revoke access tokens.", subcommands: [Issue.self, Revoke.self])

    /// `engram token issue --user U [--org O] [--role R] [--days N]`: prints a signed token and records the membership.
    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a token for a user (creating the user, org and membership).")
        @Option(help: "User id (the token's subject; the MCP URL is /mcp/<user>).") var user: String
        @Option(help: "Organisation id.") var org: String?
        @Option(help: "Role in the organisation: owner, admin, member, viewer.") var role: String = "member"
        @Option(help: "Days until the token expires.") var days: Double = 30
        @OptionGroup var store: StoreOptions

        func run() async throws {
            guard let role = Role(rawValue: role) else { throw ValidationError("role must be owner, admin, member or viewer") }
            guard days > 0, days <= 3650 else { throw ValidationError("days must be between 0 and 3650") }
            let secret = try Runtime.jwtSecret(dataDirectory: store.dataDirectory, dev: false, allowFile: true)
            let embedded = try EmbeddedStore(directory: store.dataDirectory)
            let directory = try MemberDirectory(database: embedded.database)
            if let org { try directory.upsertMember(userId: user, orgId: org, role: role) } else { try directory.upsertUser(user) }
            let tokens = await TokenService(secret: secret)
            let (token, _) = try await tokens.issue(for: Principal(userId: user, orgId: org, role: role), lifetime: days * 86_400)
            print(token)
        }
    }

    /// `engram token revoke --jti J`: the token is refused from the next request on.
    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by its jti claim.")
        @Option(help: "The token's jti claim.") var jti: String
        @OptionGroup var store: StoreOptions

        func run() async throws {
            let embedded = try EmbeddedStore(directory: store.dataDirectory)
            try MemberDirectory(database: embedded.database).revoke(jti: jti, expiresAt: nil)
            print("revoked \(jti)")
        }
    }
}
