import EngramPostgres
import Testing

/// `postgres://` URLs: what parses, what is refused, and that the password never shows.
@Suite struct ConnectionURLTests {
    @Test func parsesEveryPart() throws {
        let url = try PostgresConnectionURL("postgres://engram_app:s3cret@db.example:6543/engram?sslmode=disable")
        #expect(url.host == "db.example")
        #expect(url.port == 6543)
        #expect(url.username == "engram_app")
        #expect(url.password == "s3cret")
        #expect(url.database == "engram")
        #expect(url.tls == .disable)
        #expect(url.rootCertificatePath == nil)
    }

    @Test func defaultsToPort5432AndVerifiedTLS() throws {
        let url = try PostgresConnectionURL("postgresql://app@localhost/engram")
        #expect(url.port == 5432)
        #expect(url.tls == .require)
        #expect(url.password == nil)
        #expect(try PostgresConnectionURL("postgres://a@h/d?sslmode=require").tls == .require)
        #expect(try PostgresConnectionURL("postgres://a@h/d?sslmode=verify-full&sslrootcert=/etc/ca.pem").rootCertificatePath == "/etc/ca.pem")
    }

    @Test func decodesPercentEncodedCredentials() throws {
        let url = try PostgresConnectionURL("postgres://us%40r:p%40ss%3Aw%2Fd@127.0.0.1:5432/my%20db?sslmode=disable")
        #expect(url.username == "us@r")
        #expect(url.password == "p@ss:w/d")
        #expect(url.database == "my db")
    }

    @Test func acceptsBracketedIPv6Hosts() throws {
        let url = try PostgresConnectionURL("postgres://a:b@[::1]:5433/engram?sslmode=disable")
        #expect(url.host == "::1")
        #expect(url.port == 5433)
        #expect(url.description == "postgres://a:***@[::1]:5433/engram?sslmode=disable")
    }

    @Test(arguments: [
        "mysql://a:b@h/d",
        "postgres://h/d",
        "postgres://a:b@/d",
        "postgres://a:b@h",
        "postgres://a:b@h/",
        "postgres://a:b@h/d/e",
        "postgres://a:b@h/d?sslmode=prefer",
        "postgres://a:b@h/d?sslmode=allow",
        "postgres://a:b@h/d?ssl_mode=disable",
        "postgres://a:b@h/d?sslmode=disable&sslmode=require",
        "postgres://a:b@h/d?sslmode=disable&sslrootcert=/ca.pem",
        "postgres://a:b@h:0/d",
        "not a url at all",
    ])
    func refusesMalformedURLs(_ text: String) {
        #expect(throws: PostgresEngineError.self) { try PostgresConnectionURL(text) }
    }

    @Test func neverShowsThePassword() throws {
        let url = try PostgresConnectionURL("postgres://app:hunter2-very-secret@h:1/d?sslmode=disable")
        #expect(!url.description.contains("hunter2"))
        #expect(!"\(url)".contains("hunter2"))
        do {
            _ = try PostgresConnectionURL("postgres://app:hunter2-very-secret@h:1/d?sslmode=maybe")
            Issue.record("sslmode=maybe parsed")
        } catch {
            #expect(!"\(error)".contains("hunter2"))
        }
    }

    @Test func swapsTheDatabase() throws {
        let url = try PostgresConnectionURL("postgres://a:b@h:1/engram?sslmode=disable").with(database: "engram_t1")
        #expect(url.database == "engram_t1")
        #expect(url.password == "b")
    }
}

/// Tenant scopes: the keys the policies compare with, and the keys refused because they would split.
@Suite struct TenantScopeTests {
    @Test func userScopeNamesTheUserAndTheOrg() throws {
        let scope = try PostgresTenantScope.user("alice", org: "acme")
        #expect(scope.tenants == ["user:alice", "org:acme"])
        #expect(scope.userId == "alice")
        #expect(try PostgresTenantScope.org("acme").tenants == ["org:acme"])
        #expect(try PostgresTenantScope.org("acme").userId == nil)
        #expect(try PostgresTenantScope(tenants: ["org:a", "org:a", "user:b"], userId: nil).tenants == ["org:a", "user:b"])
    }

    @Test(arguments: ["org:a,org:b", "org:", "team:a", "user:a b", "org:\u{0}x", "user:\n", ""])
    func refusesKeysThatCouldSplitOrSmuggle(_ key: String) {
        #expect(throws: PostgresEngineError.self) { try PostgresTenantScope(tenants: [key], userId: nil) }
    }

    @Test func refusesAUserIdWithAComma() {
        #expect(throws: PostgresEngineError.self) { try PostgresTenantScope.user("a,b") }
    }
}
