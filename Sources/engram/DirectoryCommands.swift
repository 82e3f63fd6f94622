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
        static let configuration = CommandConfiguration(abstract: "Set an organisation's policy.")
        @Option(help: "Organisation id.") var org: String
        @Option(help: "true: org memories go to review on finish.") var requireReview: Bool
        @OptionGroup var store: StoreOptions

        func run() async throws {
            let directory = try MemberDirectory(database: try EngramDatabase(directory: store.dataDirectory))
            try await directory.setRequireReview(requireReview, orgId: org)
            print("\(org) require_review=\(requireReview)")
        }
    }
}
