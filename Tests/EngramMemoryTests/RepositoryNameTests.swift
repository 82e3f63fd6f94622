import EngramLifecycle
import Testing

@testable import EngramMemory

/// One normalisation of repository names for webhooks, the session hook and imports.
@Suite struct RepositoryNameTests {
    @Test func spellingsOfOneRepositoryAgree() {
        for spelling in [
            "github.com/acme/api", "https://github.com/Acme/API.git", "git@github.com:acme/api.git", "https://user:pw@github.com/acme/api/",
            "ssh://git@github.com:22/acme/api.git", "https://github.com:443/acme/api", " github.com/acme/api\n",
        ] {
            #expect(RepositoryRef.normalised(spelling) == "github.com/acme/api", "\(spelling)")
        }
        // scp-like `host:owner/name` keeps its owner (no scheme: the colon is not a port).
        #expect(RepositoryRef.normalised("gitlab.example:team/app.git") == "gitlab.example/team/app")
        #expect(RepositoryRef(fullName: "acme/api").matches("https://github.com:8443/acme/api.git"))
    }
}
