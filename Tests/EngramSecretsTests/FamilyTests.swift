import XCTest

@testable import EngramSecrets

/// One test per secret family: each builds credentials at run time and asserts the scanner flags
/// them (with the expected family) in several contexts.
final class FamilyTests: XCTestCase {
    var fx = Fixtures()
    let scanner = SecretScanner()

    /// Asserts `text` produces a finding of `family` whose range covers `secret`.
    func assertFinds(_ family: String, in text: String, covering secret: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
        let findings = scanner.scan(text)
        XCTAssertFalse(findings.isEmpty, "no finding in: \(text.prefix(120))", file: file, line: line)
        guard !findings.isEmpty else { return }
        XCTAssertTrue(
            findings.contains { $0.family == family },
            "expected family \(family), got \(findings.map(\.family)) in: \(text.prefix(120))",
            file: file,
            line: line
        )
        if let secret, let r = text.range(of: secret) {
            let start = text.distance(from: text.startIndex, to: r.lowerBound)
            let end = text.distance(from: text.startIndex, to: r.upperBound)
            XCTAssertTrue(
                findings.contains { $0.range.lowerBound <= start && $0.range.upperBound >= end },
                "finding ranges \(findings.map(\.range)) do not cover \(start)..<\(end)",
                file: file,
                line: line
            )
        }
    }

    func testAWSAccessKeyAndSecret() {
        let id = fx.awsKeyID()
        let sec = fx.awsSecret()
        assertFinds("aws", in: "AWS_ACCESS_KEY_ID=\(id)\nAWS_SECRET_ACCESS_KEY=\(sec)\n", covering: id)
        assertFinds("aws", in: "[backup]\naws_access_key_id = \(id)\naws_secret_access_key = \(sec)", covering: sec)
        assertFinds("aws", in: "The uploader uses key \(id) and secret \(sec); rotate quarterly.", covering: sec)
        assertFinds("aws", in: #"provider "aws" { access_key = "\#(id)" }"#, covering: id)
        let findings = scanner.scan("key \(id) / \(sec)")
        XCTAssertEqual(Set(findings.map(\.ruleID)), ["aws-access-key-id", "aws-secret-access-key"])
    }

    func testGitHubTokensWithChecksum() {
        let pat = fx.ghp()
        assertFinds("github", in: "export GH_TOKEN=\(pat)", covering: pat)
        assertFinds("github", in: "git clone https://\(pat)@github.com/acme/app.git", covering: pat)
        for p in ["o_", "u_", "s_"] {
            let tok = fx.githubStyle(Fixtures.ghPrefix + p)
            assertFinds("github", in: #"{"access_token": "\#(tok)"}"#, covering: tok)
        }
        let refresh = fx.githubStyle(Fixtures.ghPrefix + "r_", randomLength: 70)
        assertFinds("github", in: "refresh_token: \(refresh)", covering: refresh)
        let fine = "github_" + "pat_11" + fx.mixed(20).uppercased() + "_" + fx.mixed(59)
        assertFinds("github", in: "Fine-grained PAT for the bot: \(fine)", covering: fine)
        // Checksum verified → confidence 1; corrupted checksum → still reported, lower confidence.
        XCTAssertEqual(scanner.scan("t \(pat)").first?.confidence, 1.0)
        let bad = fx.githubStyle(Fixtures.ghPrefix + "p_", validChecksum: false)
        let badConf = scanner.scan("t \(bad)").first?.confidence ?? 0
        XCTAssertTrue(badConf > 0 && badConf < 1.0, "bad checksum confidence \(badConf)")
    }

    func testGitLab() {
        let tok = "gl" + "pat-" + fx.mixed(20, Fixtures.b64url)
        assertFinds("gitlab", in: #"curl --header "PRIVATE-TOKEN: \#(tok)" https://gitlab.acme.io/api/v4/projects"#, covering: tok)
        let runner = "gl" + "rt-" + fx.mixed(20, Fixtures.b64url)
        assertFinds("gitlab", in: "gitlab-runner register --token \(runner)", covering: runner)
    }

    func testSlack() {
        let bot = "xo" + "xb-" + fx.random(12, Fixtures.digits) + "-" + fx.random(13, Fixtures.digits) + "-" + fx.mixed(24)
        assertFinds("slack", in: #"client = WebClient(token="\#(bot)")"#, covering: bot)
        let user =
            "xo" + "xp-" + fx.random(12, Fixtures.digits) + "-" + fx.random(12, Fixtures.digits) + "-" + fx.random(13, Fixtures.digits) + "-"
            + fx.hex(32)
        assertFinds("slack", in: "My user token is \(user); it needs channels:history.", covering: user)
        let app = "xa" + "pp-1-" + fx.mixed(11).uppercased() + "-" + fx.random(13, Fixtures.digits) + "-" + fx.hex(64)
        assertFinds("slack", in: "SLACK_APP_TOKEN=\(app)", covering: app)
        let hook = "https://hooks." + "slack.com/services/T" + fx.mixedUpper(8) + "/B" + fx.mixedUpper(10) + "/" + fx.mixed(24)
        assertFinds("slack", in: "notify via \(hook)")
    }

    func testStripeSecretAndRestrictedKeys() {
        for p in ["sk_" + "live_", "sk_" + "test_", "rk_" + "live_"] {
            let key = p + fx.mixed(99)
            assertFinds("stripe", in: "STRIPE_KEY=\(key)", covering: key)
        }
        let wh = "wh" + "sec_" + fx.mixed(32)
        assertFinds("stripe", in: "webhook secret \(wh).", covering: wh)
    }

    func testOpenAIAndAnthropic() {
        let proj = "sk-" + "proj-" + fx.mixed(74, Fixtures.b64url) + "T3Blbk" + "FJ" + fx.mixed(74, Fixtures.b64url)
        assertFinds("openai", in: "OPENAI_API_KEY=\(proj)", covering: proj)
        let legacy = "sk-" + fx.mixed(20) + "T3Blbk" + "FJ" + fx.mixed(20)
        assertFinds("openai", in: #"client = OpenAI(api_key="\#(legacy)")"#, covering: legacy)
        let ant = "sk-" + "ant-api03-" + fx.mixed(93, Fixtures.b64url) + "AA"
        assertFinds("anthropic", in: #"-H "x-api-key: \#(ant)""#, covering: ant)
    }

    func testGoogleAPIKeyAndServiceAccount() {
        let key = "AI" + "za" + fx.mixed(35, Fixtures.b64url)
        assertFinds("google", in: "GEMINI_API_KEY=\(key) from the shell profile", covering: key)
        let pemBody = fx.pem(Fixtures.privateLabel).replacingOccurrences(of: "\n", with: "\\n")
        let sa = #"{"type": "service_account", "project_id": "p", "private_key": "\#(pemBody)", "client_email": "x@p.iam.gserviceaccount.com"}"#
        assertFinds("gcp", in: sa)
    }

    func testAzure() {
        let acct = fx.base64Key(bytes: 64)
        assertFinds("azure", in: "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=\(acct);EndpointSuffix=core.windows.net", covering: acct)
        assertFinds("azure", in: "storage account acme key1 is \(acct); key2 is for rotation", covering: acct)
        let sig = fx.base64Key(bytes: 32).replacingOccurrences(of: "+", with: "%2B").replacingOccurrences(of: "/", with: "%2F").replacingOccurrences(
            of: "=",
            with: "%3D"
        )
        assertFinds("azure", in: "https://acme.blob.core.windows.net/c?sv=2022-11-02&sp=rl&se=2025-01-01&sig=\(sig)", covering: sig)
        let ad = fx.mixed(3) + "8" + "Q~" + fx.mixed(34, Fixtures.alnum + ["_", "-", "."])
        assertFinds("azure", in: #"{"clientSecret": "\#(ad)"}"#, covering: ad)
    }

    func testTwilioSendGridMailgunMailchimp() {
        let sid = "AC" + fx.hex(32)
        let tok = fx.hex(32)
        assertFinds("twilio", in: "curl -u \(sid):\(tok) https://api.twilio.com", covering: tok)
        assertFinds("twilio", in: #"client = Client("\#(sid)", "\#(tok)")"#, covering: tok)
        let sg = "S" + "G." + fx.mixed(22, Fixtures.b64url) + "." + fx.mixed(43, Fixtures.b64url)
        assertFinds("sendgrid", in: "Authorization: Bearer \(sg)", covering: sg)
        let mg = "ke" + "y-" + fx.hex(32)
        assertFinds("mailgun", in: "curl --user 'api:\(mg)' https://api.mailgun.net/v3", covering: mg)
        let mc = fx.hex(32) + "-us" + "14"
        assertFinds("mailchimp", in: "MAILCHIMP_API_KEY=\(mc)", covering: mc)
    }

    func testRegistriesNpmPyPIDocker() {
        let npm = fx.githubStyle("np" + "m_")
        assertFinds("npm", in: "//registry.npmjs.org/:_authToken=\(npm)", covering: npm)
        let legacy = UUID().uuidString.lowercased()
        assertFinds("generic", in: "//registry.npmjs.org/:_authToken=\(legacy)", covering: legacy)
        let pypi = "py" + "pi-AgEIcHlwaS5vcmc" + fx.mixed(120, Fixtures.b64url)
        assertFinds("pypi", in: "twine upload -u __token__ -p \(pypi) dist/*", covering: pypi)
        let dckr = "dc" + "kr_pat_" + fx.mixed(27, Fixtures.b64url)
        assertFinds("docker", in: "echo \(dckr) | docker login -u ci --password-stdin", covering: dckr)
        let auth = Data(("ci:" + fx.mixed(20)).utf8).base64EncodedString()
        assertFinds("docker", in: #"{"auths": {"https://index.docker.io/v1/": {"auth": "\#(auth)"}}}"#, covering: auth)
    }

    func testHostingAndTooling() {
        let hf = "h" + "f_" + fx.mixed(34, Fixtures.upper + Fixtures.lower)
        assertFinds("huggingface", in: "huggingface-cli login --token \(hf)", covering: hf)
        let dop = "do" + "p_v1_" + fx.hex(64)
        assertFinds("digitalocean", in: "doctl auth init -t \(dop)", covering: dop)
        let hvs = "hv" + "s." + fx.mixed(90, Fixtures.b64url)
        assertFinds("vault", in: #"curl --header "X-Vault-Token: \#(hvs)" https://vault/v1/x"#, covering: hvs)
        let legacyVault = "s" + "." + fx.mixed(24)
        assertFinds("vault", in: "the old Vault cluster accepts token \(legacyVault) for now", covering: legacyVault)
        let shp = "sh" + "pat_" + fx.hex(32)
        assertFinds("shopify", in: "X-Shopify-Access-Token: \(shp)", covering: shp)
        let sq = "sq" + "0csp-" + fx.mixed(43, Fixtures.b64url)
        assertFinds("square", in: "Square OAuth secret is \(sq);", covering: sq)
        let eaaa = "EA" + "AA" + fx.mixed(60, Fixtures.b64url)
        assertFinds("square", in: "SQUARE_ACCESS_TOKEN=\(eaaa)", covering: eaaa)
        let hrku = "HR" + "KU-AA" + fx.mixed(58, Fixtures.b64url)
        assertFinds("heroku", in: "HEROKU_API_KEY=\(hrku)", covering: hrku)
        let herokuLegacy = UUID().uuidString.lowercased()
        assertFinds("heroku", in: "HEROKU_API_KEY=\(herokuLegacy) in Jenkins", covering: herokuLegacy)
        let dd = fx.hex(32)
        assertFinds("datadog", in: "DD_API_KEY=\(dd) DD_SITE=datadoghq.com", covering: dd)
        assertFinds("datadog", in: "```yaml\napi_key: \(dd)\nsite: datadoghq.eu\n```", covering: dd)
    }

    func testOtherProviders() {
        let sentry = "sn" + "tryu_" + fx.hex(64)
        assertFinds("sentry", in: "SENTRY_AUTH_TOKEN=\(sentry)", covering: sentry)
        let tg = fx.random(10, Fixtures.digits) + ":AA" + fx.mixed(33, Fixtures.b64url)
        assertFinds("telegram", in: "Telegram bot token \(tg) (chat -100)", covering: tg)
        let discordID = Data(fx.random(18, Fixtures.digits).utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
        let discord = discordID + "." + fx.mixed(6, Fixtures.b64url) + "." + fx.mixed(38, Fixtures.b64url)
        assertFinds("discord", in: "DISCORD_BOT_TOKEN=\(discord)", covering: discord)
        let linear = "lin" + "_api_" + fx.mixed(40)
        assertFinds("linear", in: "Linear API key \(linear).", covering: linear)
        let grafana = "gl" + "sa_" + fx.mixed(32) + "_" + fx.hex(8)
        assertFinds("grafana", in: "service account token \(grafana)", covering: grafana)
    }

    func testJWT() {
        let jwt = fx.jwt()
        assertFinds("jwt", in: "curl -H \"Authorization: Bearer \(jwt)\" http://localhost:8080", covering: jwt)
        assertFinds("jwt", in: "Cookie: session=\(jwt); Path=/", covering: jwt)
    }

    func testPrivateKeys() {
        for label in [
            "RSA " + Fixtures.privateLabel, "EC " + Fixtures.privateLabel, Fixtures.privateLabel,
            "OPENSSH " + Fixtures.privateLabel, "PGP " + Fixtures.privateLabel + " BLOCK", "ENCRYPTED " + Fixtures.privateLabel,
        ] {
            assertFinds("private-key", in: "Deploy key:\n" + fx.pem(label) + "\nkeep it safe")
        }
        assertFinds("private-key", in: "key: |\n  " + fx.pem("RSA " + Fixtures.privateLabel).replacingOccurrences(of: "\n", with: "\n  "))
        assertFinds("private-key", in: fx.pem(Fixtures.privateLabel, newline: "\r\n"))
        let wrapped = Data(fx.pem("RSA " + Fixtures.privateLabel).utf8).base64EncodedString()
        assertFinds("private-key", in: "client-key-data: \(wrapped)")
    }

    func testDatabaseAndBasicAuthURLs() {
        let pw = fx.mixed(18)
        assertFinds("database-url", in: "DATABASE_URL=postgres://app:\(pw)@db.internal:5432/app", covering: pw)
        assertFinds("database-url", in: "REDIS_URL=redis://:\(pw)@redis:6379/0", covering: pw)
        assertFinds("database-url", in: "mongodb+srv://svc:\(pw)@cluster0.x.mongodb.net/db?retryWrites=true", covering: pw)
        assertFinds("database-url", in: "amqp://worker:\(pw)@rabbit:5672//", covering: pw)
        assertFinds("basic-auth-url", in: "pip install --index-url https://ci:\(pw)@pypi.acme.io/simple/ x", covering: pw)
        assertFinds("basic-auth-url", in: "git remote add origin https://alice:\(pw)@git.acme.io/a/b.git", covering: pw)
    }

    func testPasswordAssignments() {
        let pw = "Maple-" + fx.mixed(6) + "-Orbit-42"
        let cases = [
            "DB_PASSWORD=\(pw)",
            "database:\n  password: \(pw)\n",
            #"{"host": "smtp", "pwd": "\#(pw)"}"#,
            #"r = redis.Redis(host="x", password="\#(pw)")"#,
            "<password>\(pw)</password>",
            "Server=sql;Database=app;User Id=sa;Password=\(pw);",
            "spring.datasource.password=\(pw)",
            "The staging admin password is \(pw) (user: admin).",
            "`PGPASSWORD=\(pw) psql -h db -U reporting`",
            "mysql --user=root --password=\(pw) -h db",
            "sshpass -p '\(pw)' ssh deploy@10.0.0.4",
            "curl -u admin:\(pw) https://jenkins.acme.io/api/json",
            "data:\n  password: \(Data(pw.utf8).base64EncodedString())",
            "Use `\(pw)` as the admin password for the demo tenant.",
            "CREATE USER 'app'@'%' IDENTIFIED BY '\(pw)';",
        ]
        for c in cases { assertFinds("password", in: c) }
    }

    func testBearerAndHeaders() {
        let tok = fx.mixed(40)
        assertFinds("bearer", in: "2024-06-01 DEBUG headers={'Authorization': 'Bearer \(tok)'}", covering: tok)
        assertFinds("generic", in: #"curl -H "X-API-Key: \#(tok)" https://search.acme.internal"#, covering: tok)
        let basic = Data(("deploy:" + fx.mixed(16)).utf8).base64EncodedString()
        assertFinds("basic-auth", in: "Authorization: Basic \(basic)", covering: basic)
    }

    func testGenericKeywordSecrets() {
        let v = fx.mixed(44)
        assertFinds("generic", in: "SEARCH_API_KEY=\(v)", covering: v)
        assertFinds("generic", in: #"{"client_id": "cli", "client_secret": "\#(v)"}"#, covering: v)
        assertFinds("generic", in: "SECRET_KEY_BASE=\(fx.hex(128))")
        assertFinds("generic", in: "settings.py: SECRET_KEY = '\(fx.random(50, Fixtures.lower + Fixtures.digits + Array("!@#$%^&*(-_=+)")))'")
        assertFinds("generic", in: "The OAuth client secret is \(v); rotate it.", covering: v)
        assertFinds("generic", in: "[Interface]\nPrivateKey = \(fx.base64Key(bytes: 32))\n")
    }
}
