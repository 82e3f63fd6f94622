import Foundation
import XCTest

@testable import EngramSecrets

/// One test per hard-negative category: text that looks credential-ish but must be accepted.
final class HardNegativeTests: XCTestCase {
    var fx = Fixtures(seed: 42)
    let scanner = SecretScanner()

    func assertClean(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        let f = scanner.scan(text)
        XCTAssertTrue(f.isEmpty, "unexpected \(f.map(\.ruleID)) in: \(text.prefix(160))", file: file, line: line)
    }

    func testPlaceholdersAndDocumentationKeys() {
        let docID = "AK" + "IA" + "IOSFODNN7" + "EXAMPLE"
        let docSecret = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCY" + "EXAMPLEKEY"
        assertClean("aws_access_key_id = \(docID)\naws_secret_access_key = \(docSecret)")
        assertClean("POSTGRES_PASSWORD: changeme")
        assertClean("STRIPE_SECRET_KEY=" + "sk_" + "test_your_key_here")
        assertClean("export OPENAI_API_KEY=" + "sk-" + String(repeating: "X", count: 24))
        assertClean("a token looks like " + Fixtures.ghPrefix + "p_" + String(repeating: "X", count: 36))
        assertClean(#"curl -H "Authorization: Bearer <token>" https://api.example.io"#)
        assertClean(#"curl -H "Authorization: Bearer YOUR_TOKEN_HERE" http://localhost:8080"#)
        assertClean("DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/DBNAME")
        assertClean("password: \"********\"")
        assertClean("api_key: null")
        assertClean("token: REPLACE_ME")
        assertClean("amqp://guest:guest@localhost:5672/")
        // jwt.io's documentation token.
        let jwtio =
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" + "." + "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
            + "." + "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_" + "adQssw5c"
        assertClean("Example from jwt.io: \(jwtio)")
    }

    func testEmulatorKeysPublishedForLocalUse() {
        let azurite = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2" + "UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
        assertClean(
            "UseDevelopmentStorage: DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=\(azurite);BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
        )
        assertClean("LocalStack: AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test aws --endpoint-url=http://localhost:4566 s3 ls")
    }

    func testEnvVarNamesAndReferences() {
        assertClean("The service needs AWS_SECRET_ACCESS_KEY, OPENAI_API_KEY and HF_TOKEN in the environment.")
        assertClean(".env.example:\nSTRIPE_SECRET_KEY=\nSENDGRID_API_KEY=\nSLACK_BOT_TOKEN=\n")
        assertClean("env:\n  GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n")
        assertClean("`POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}` and `DATABASE_URL: postgres://app:${POSTGRES_PASSWORD}@db:5432/app`")
        assertClean("echo $GITHUB_TOKEN | gh auth login --with-token")
        assertClean("password: !secret db_password")
        assertClean(#"DB_PASSWORD: "{{ vault_db_password }}""#)
    }

    func testCodeReadingSecretsFromEnvironment() {
        assertClean(#"let key = ProcessInfo.processInfo.environment["OPENAI_API_KEY"] ?? """#)
        assertClean(
            #"session = boto3.Session(aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"], aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"])"#
        )
        assertClean(#"conn = psycopg.connect(password=os.getenv("DB_PASSWORD"))"#)
        assertClean("const token = process.env.SLACK_BOT_TOKEN;")
        assertClean(#"String pw = System.getenv("DB_PASSWORD");"#)
        assertClean("client_secret = settings.OAUTH_CLIENT_SECRET")
        assertClean("if password == confirm_password: save()")
        assertClean("secret = secrets.token_hex(32)")
        assertClean(#"password=getpass.getpass("DB password: ")"#)
    }

    func testPublicKeys() {
        let rsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ" + fx.mixed(300, Fixtures.b64) + " ci@build-01"
        assertClean("authorized_keys contains \(rsa)")
        let ed = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + fx.mixed(43, Fixtures.b64) + " deploy@ci"
        assertClean("Add the PUBLIC half: \(ed)")
        assertClean("JWT verification uses:\n" + fx.pem("PUBLIC KEY", lines: 6))
        assertClean(fx.pem("CERTIFICATE", lines: 12))
        let dashes = String(repeating: "-", count: 5)
        assertClean("the private file starts with `\(dashes)BEGIN OPENSSH \(Fixtures.privateLabel)\(dashes)` and must stay in ~/.ssh")
        assertClean("[Peer]\nPublicKey = \(fx.base64Key(bytes: 32))\nAllowedIPs = 10.0.0.0/24")
    }

    func testPublishableKeys() {
        assertClean("the web checkout uses the publishable key " + "pk_" + "live_" + fx.mixed(99) + "; it is public.")
        assertClean("reCAPTCHA site key for the signup page is 6L" + fx.mixed(38, Fixtures.b64url) + " (public).")
        let anonPayload = Data(#"{"role":"anon","iss":"supabase"}"#.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
        let parts = fx.jwt().split(separator: ".")
        assertClean("SUPABASE_ANON_KEY=\(parts[0]).\(anonPayload).\(parts[2])")
    }

    func testGitSHAsDigestsAndIntegrity() {
        assertClean("The regression was introduced in \(fx.hex(40)); fix cherry-picked as \(fx.hex(7)).")
        assertClean(#""state": {"revision": "\#(fx.hex(40))", "version": "2.65.0"}"#)
        assertClean("release tarball has sha256 \(fx.hex(64)); the formula must match it.")
        assertClean("FROM swift:6.0-jammy@sha256:\(fx.hex(64)) AS build")
        assertClean("integrity sha512-" + fx.base64Key(bytes: 64))
        assertClean(#""integrity": "sha512-\#(fx.base64Key(bytes: 64))""#)
        assertClean("pip install --hash=sha256:\(fx.hex(64)) foo")
        assertClean("X-Hub-Signature-256: sha256=\(fx.hex(64))")
        assertClean("CI cache keys are `spm-${{ runner.os }}-\(fx.hex(64))`")
    }

    func testUUIDsAndIdentifiers() {
        assertClean("Qdrant point ids must be UUIDs (e.g. \(UUID().uuidString.lowercased())) or ints.")
        assertClean("include the X-Request-ID, like \(UUID().uuidString.lowercased()), in bug reports")
        assertClean("Idempotency-Key: \(UUID().uuidString)")
        assertClean("the test target object id is \(fx.hex(24).uppercased()); keep it stable")
        assertClean("The config type is SearchResultRerankingPipelineConfiguration, its DI key is searchResultRerankingPipelineConfigurationKey.")
    }

    func testBase64FixturesOfNonSecretData() {
        assertClean("round-trip test uses \"\(Data("memoryd integration fixture v2".utf8).base64EncodedString())\"")
        assertClean(#"token: "\#(Data("test-token".utf8).base64EncodedString())""#)
        assertClean("secret: " + Data("hello world, this is a fixture".utf8).base64EncodedString())
        assertClean("the fixture `\(Data(#"{"id": 266, "title": "Buy milk"}"#.utf8).base64EncodedString())` decodes to JSON")
    }

    func testRedactedAndMaskedValues() {
        assertClean("The Slack token (xoxb-…redacted…) is in 1Password.")
        assertClean("the leaked key " + "AK" + "IA" + "************PYE7 was deactivated")
        assertClean("Audit log shows token=" + Fixtures.ghPrefix + "p_" + String(repeating: "*", count: 32) + "r4Vs used")
        assertClean("password: [REDACTED]")
        assertClean("token=sk-proj-abc...xyz (truncated)")
    }

    func testPolicyAndProse() {
        assertClean("Password policy: at least 14 characters; enforced in PasswordPolicy.validate(_:).")
        assertClean("auth.yaml:\npassword_min_length: 12\ntoken_ttl_seconds: 3600\nrefresh_token_ttl_days: 30\n")
        assertClean("Password reset tokens expire after 30 minutes (RESET_TOKEN_TTL=1800).")
        assertClean("We use a token bucket of 20 requests per second; the secret to low latency is batching.")
        assertClean("The Stripe live key is in the 1Password vault 'Payments'; CI gets it via `op read op://Payments/stripe/credential`.")
        assertClean("Rotate the GitHub PAT every 90 days; the API key for search is scoped to one index.")
        assertClean("docker run -p 8080:80 -e LOG_LEVEL=debug nginx")
    }

    func testURLsWithoutCredentialsAndTestVectors() {
        assertClean("Local Postgres is postgres://localhost:55432/app_dev with trust auth.")
        assertClean("Clone with git@github.com:acme/app.git; https://github.com/acme/app.git is read-only.")
        assertClean("Inside compose, Redis is redis://cache:6379/0 and the API is http://api:8080/healthz.")
        assertClean("TOTP tests use the RFC 6238 seed (base32 GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ) and expect 94287082.")
        assertClean("HMACTests: key = 0x0b repeated 20 times, expected HMAC-SHA256 = \(fx.hex(64)).")
        assertClean("AES key = 000102030405060708090a0b0c0d0e0f (FIPS-197 appendix C)")
    }
}
