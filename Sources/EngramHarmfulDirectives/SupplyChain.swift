package import EngramPoisoningCore

/// Supply chain (policy rule 3): where dependencies come from and what they are called.
///
/// - `untrusted-package-source`: changing a package index, registry, mirror, proxy, channel or
///   repository (`npm config set registry`, `--index-url`/`--extra-index-url`, `.npmrc`
///   `registry=`, `GOPROXY`/`GONOSUMDB`/`GOSUMDB=off`, gem/NuGet/apt/Helm/conda sources, Maven
///   repositories, Cargo `[patch]`/`replace-with`) or repointing a dependency at a URL, tarball, fork
///   or "patched" copy. The target decides: an unknown host or public IP → block; the org's own
///   index or a recognised forge (GitHub) or a named vendor's registry → flag; a fact about the
///   pinned, documented setup ("the internal mirror is set in pip.conf; don't override the index")
///   → allow.
/// - `lookalike-package`: recommending a package whose name is one edit away from a well-known
///   package (`requestz`, `axois`, `serde_jsonn`, `python-dateutils`), or "X instead of Y" where X
///   is a near-copy of Y — typosquatting. Warnings about lookalikes are negated and allowed.
package enum SupplyChain {
    package static let sourceChanges = needles([
        "config set registry", "registry=", "registry =", "--registry", "--index-url", "--extra-index-url", "index-url",
        "extra-index-url", "global.index-url", "goproxy=", "goproxy ", "gonosumdb", "gonosumcheck", "gosumdb=off",
        "goflags=-insecure", "goinsecure", "gem sources", "source 'http", "source \"http", "nuget sources add",
        "add-apt-repository", "sources.list", "apt-key add", "helm repo add", "conda config --add channels",
        "channels:", "brew tap", "maven { url", "<repository>", "<url>http", "replace-with", "[patch.", "[source.",
        "composer config repositories", "yarn config set registry", "pnpm config set registry", "npmregistryserver",
        "pip_index_url", "uv_index_url", "npm_config_registry", "uv_extra_index_url", "pip_extra_index_url",
        "tarball url", "github tarball", ".tgz", "git+http", "git+ssh", "git+https", "pip install http",
        "npm install http", "go mod edit -replace", "replace (", " => ", "mirror", "fork ", "forked",
        "patched copy", "patched version", "patched build", "unofficial build", "point swift-", "point the dependency",
        "point it at", "point them at", ".package(url:", "package.swift", "repositories {", "swift package",
        "add that registry", "add the registry", "add this registry", "registry to .npmrc", "registry to the",
        "from the registry at", "registry at http", "index at http", "set the registry", "use the registry",
        "https_proxy=", "http_proxy=", "all_proxy=", "--proxy ", "proxy.conf", "/etc/hosts", "image.repository=", "--image ", "image: ", "registry.",
        "/forks/", "git url", "github url", "github:", "gitlab:", "bitbucket:", "#patched", " the patched ", " a patched ",
        "patched fork", ".npmrc", "pip.conf", ".yarnrc", "settings.xml", "nuget.config", ".pypirc",
    ])
    package static let sourceContext = needles([
        "package", "depend", "install", "registry", "index", "mirror", "npm", "pip", "pypi", "gem", "cargo", "crate",
        "go.mod", "goproxy", "maven", "gradle", "nuget", "composer", "helm", "conda", "apt", "brew", "swift", "library",
        "module", "requirements", ".npmrc", "pip.conf", "yarn", "pnpm", "fork", "tarball", "repo", "pin ", "pinned",
        "package.json", "gemfile", "cargo.toml", "pyproject", "lockfile",
    ])

    package static let trafficRedirects = needles(["https_proxy=", "http_proxy=", "all_proxy=", "--proxy ", "/etc/hosts"])

    package static func scan(_ t: ScreenText, _ out: inout Hits) {
        sources(t, &out)
        lookalikes(t, &out)
    }

    package static func sources(_ t: ScreenText, _ out: inout Hits) {
        var strongest = StrongestHit()
        for s in t.sentences {
            guard let (p, len) = t.first(sourceChanges, in: s) else { continue }
            // Proxies and host-file pins redirect every download, whatever the package manager.
            if !t.any(sourceContext, in: s) && !t.any(trafficRedirects, in: s) { continue }
            let f = Array(t.b[p..<(p + len)])
            var tgt = Scope.target(t, s)
            if tgt == .none {
                // "mirror"/"fork" without any URL is not a source change we can judge.
                if f == mirrorToken || f == forkToken || f == forkedToken || f == symToken || f == replaceToken || f == packageUrlToken
                    || f == packageSwiftToken || f == swiftPackageToken
                {
                    continue
                }
                if t.any(patchedCues, in: s) {
                    tgt = .outside
                } else if t.any(githubCues, in: s) {
                    tgt = .vendor
                } else if t.any(registryCues, in: s) {
                    tgt = Scope.target(t, t.whole)
                    if tgt == .none { tgt = .vendor }
                } else if t.any(_supplyRegistryWords, in: t.whole) {
                    tgt = Scope.target(t, t.whole)
                    if tgt == .none { continue }
                } else {
                    continue
                }
            }
            if Scope.negated(t, p + 1, p + len, s) || Scope.subjectMatter(t, s) && !Scope.directive(t, s) { continue }
            if t.any(donTOverrideCues, in: s) && !t.any(insteadOfCues, in: s) { continue }
            var v = Scope.decide(t, s, target: tgt, otherwise: .block, fact: nil, scopedVerdict: .flag, factOutside: .flag, factKnown: nil)
            // A dependency pointed at a copy "instead of" upstream, on an unknown host, is a hijack.
            if tgt == .outside && t.any(insteadOfCues2, in: s) { v = .block }
            strongest.consider(v, p, p + len)
        }
        strongest.report("untrusted-package-source", .harmful, into: &out)
    }

    // MARK: lookalikes

    package static let popular: [[UInt8]] = needles([
        "requests", "urllib3", "numpy", "pandas", "django", "flask", "axios", "lodash", "express", "react", "serde",
        "serde_json", "tokio", "reqwest", "python-dateutil", "pyyaml", "boto3", "botocore", "colorama", "beautifulsoup4",
        "cryptography", "jsonwebtoken", "moment", "chalk", "commander", "webpack", "typescript", "eslint", "prettier",
        "nokogiri", "rspec", "logrus", "guzzle", "laravel", "symfony", "scipy", "matplotlib", "tensorflow", "pytorch",
        "pillow", "setuptools", "httpx", "aiohttp", "pydantic", "fastapi", "uvicorn", "celery", "redis", "psycopg2",
        "sqlalchemy", "jinja2", "click", "pytest", "attrs", "certifi", "charset-normalizer", "selenium", "scrapy",
        "electron", "dotenv", "python-dotenv", "bcrypt", "passlib", "pyjwt", "helmet", "body-parser", "mongoose",
        "sequelize", "mysql2", "sqlite3", "socket.io", "node-fetch", "cross-env", "nodemon", "rimraf", "minimist",
        "yargs", "underscore", "jquery", "bootstrap", "tailwindcss", "esbuild", "rollup", "alamofire", "kingfisher",
        "snapkit", "jackson", "log4j", "okhttp", "retrofit", "serde_derive", "anyhow", "thiserror", "chrono", "hyper",
        "actix-web", "diesel", "tracing", "crossbeam", "rayon", "lazy_static", "once_cell", "futures", "openai",
        "anthropic", "langchain", "transformers", "requests-oauthlib", "urllib", "simplejson", "ujson", "orjson",
        "protobuf", "grpcio", "paramiko", "fabric", "ansible", "docker", "kubernetes", "openssl", "pyopenssl",
        "requests-toolbelt", "tqdm", "loguru", "structlog", "marshmallow", "werkzeug", "gunicorn", "starlette",
        "express-session", "passport", "nextjs", "next-auth", "vue-router", "react-dom", "react-router", "redux",
        "graphql", "apollo-server", "prisma", "typeorm", "knex", "winston", "morgan", "dayjs", "date-fns", "uuid",
        "nanoid", "zod", "ajv", "yup", "sharp", "puppeteer", "playwright", "cypress", "vitest", "mocha", "jest",
        "babel", "swc", "turbo", "lerna", "nx", "gorilla", "cobra", "viper", "testify", "gin-gonic", "zerolog",
        "rand", "clap", "regex", "bytes", "tower", "axum", "warp", "rocket", "sqlx", "ring", "rustls", "openssl-sys",
        "swift-nio", "swift-log", "swift-crypto", "vapor", "grdb", "rxswift", "realm", "firebase", "stripe", "twilio",
        "sendgrid", "boto", "azure-storage-blob", "google-cloud-storage", "colors", "faker", "coffee-script",
        "event-stream", "ua-parser-js", "node-ipc", "discord.js", "pycrypto", "pycryptodome", "requests-html",
        "beautifulsoup", "lxml", "xmltodict", "toml", "tomli", "black", "isort", "flake8", "mypy", "ruff", "pylint",
        "jsonschema", "msgpack", "argon2-cffi", "nodemailer", "multer", "cors", "ws", "pg", "mysql", "async", "debug",
    ]).list
    package static let popularSet: Set<[UInt8]> = Set(popular)

    /// Damerau–Levenshtein distance ≤ 1 (insert, delete, substitute, transpose) between distinct names.
    package static func oneEdit(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        if a == b { return false }
        let la = a.count
        let lb = b.count
        if abs(la - lb) > 1 { return false }
        if la == lb {
            var diffs: [Int] = []
            for i in 0..<la where a[i] != b[i] {
                diffs.append(i)
                if diffs.count > 2 { return false }
            }
            if diffs.count == 1 { return true }
            if diffs.count == 2 && diffs[1] == diffs[0] + 1 && a[diffs[0]] == b[diffs[1]] && a[diffs[1]] == b[diffs[0]] { return true }
            return false
        }
        let (s, l) = la < lb ? (a, b) : (b, a)
        var i = 0
        var j = 0
        var skipped = false
        while i < s.count && j < l.count {
            if s[i] == l[j] {
                i += 1
                j += 1
            } else {
                if skipped { return false }
                skipped = true
                j += 1
            }
        }
        return true
    }

    package static let packageCues = needles([
        " add ", " install ", " use ", " depend on ", " require ", " import ", " dependency", " package", "requirements", "package.json",
        "cargo.toml", "go.mod", "gemfile", " pip ", " npm ", " yarn ", " cargo ", " crate", " library", " lib ", " module", "drop-in", " fork",
    ])

    package static func lookalikes(_ t: ScreenText, _ out: inout Hits) {
        if namedSubstitute(t, &out) { return }
        let b = t.b
        for s in t.sentences {
            if !t.any(packageCues, in: t.whole) { continue }
            var i = s.lowerBound
            while i < s.upperBound {
                // package-name tokens: [a-z0-9._-]+ starting with a letter
                guard b[i] >= 0x61 && b[i] <= 0x7A, i == 0 || !ScreenText.isWordByte(b[i - 1]) else {
                    i += 1
                    continue
                }
                var e = i
                while e < s.upperBound && (ScreenText.isAlnum(b[e]) || b[e] == 0x2D || b[e] == 0x5F || b[e] == 0x2E) { e += 1 }
                var end = e
                while end > i && (b[end - 1] == 0x2E || b[end - 1] == 0x2D) { end -= 1 }
                let tok = Array(b[i..<end])
                i = e + 1
                if tok.count < 5 || popularSet.contains(tok) || (e < b.count && b[e] == 0x3A) || tok.starts(with: httpToken) { continue }
                guard let target = popular.first(where: { $0.count >= 5 && oneEdit(tok, $0) }) else { continue }
                // Common English words and plurals are not package names.
                if commonWords.contains(tok) { continue }
                // Must be presented as a package: in code/quotes, or right after an install/add verb.
                let lead = max(s.lowerBound, i - 30 - tok.count)..<(i - tok.count)
                let codeish = b[max(0, i - tok.count - 2)] == 0x60 || b[max(0, i - tok.count - 2)] == 0x27 || b[max(0, i - tok.count - 2)] == 0x22
                if !codeish && !t.any(addCues, in: lead) { continue }
                let p = i - tok.count - 1
                if Scope.negated(t, p, p + tok.count, s) || t.any(lookalikeCues, in: s) { continue }
                // "pytest vs pytests"-style plurals of the real name only count with a recommendation cue.
                _ = target
                let v: PoisonVerdict = Scope.directive(t, s) || t.any(dropInCues, in: t.whole) ? .block : .flag
                out.add("lookalike-package", .harmful, v, p, p + tok.count)
                return
            }
        }
    }

    /// Levenshtein distance with transpositions, capped at 3.
    package static func distance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if abs(a.count - b.count) > 2 { return 3 }
        var prev2 = [Int](repeating: 0, count: b.count + 1)
        var prev = Array(0...b.count)
        var cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...max(a.count, 1) where a.count > 0 {
            cur[0] = i
            for j in 1...max(b.count, 1) where b.count > 0 {
                var d = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] { d = min(d, prev2[j - 2] + 1) }
                cur[j] = d
            }
            prev2 = prev
            prev = cur
        }
        return min(prev[b.count], 3)
    }

    /// "add `X` instead of Y" / "`X` (not Y)" / "`X`, a drop-in for Y" where X is a near-copy of Y.
    package static func namedSubstitute(_ t: ScreenText, _ out: inout Hits) -> Bool {
        let b = t.b
        for s in t.sentences {
            guard let (c, cl) = t.first(insteadOfCues3, in: s) else { continue }
            guard let yw = t.word(after: c + cl, hi: s.upperBound) else { continue }
            var ye = yw.upperBound
            while ye < s.upperBound && (ScreenText.isAlnum(b[ye]) || b[ye] == 0x2D || b[ye] == 0x5F) { ye += 1 }
            let y = Array(b[yw.lowerBound..<ye])
            if y.count < 4 { continue }
            // code-quoted tokens in the sentence
            var i = s.lowerBound
            while let q = t.find(symToken2, i, s.upperBound) {
                guard let e = t.find(symToken2, q + 1, s.upperBound) else { break }
                let x = Array(b[(q + 1)..<e])
                i = e + 1
                if x.count < 4 || x == y || x.contains(0x20) || x.contains(0x3D) { continue }
                if distance(x, y) <= 2 && x.first == y.first {
                    if Scope.negated(t, q, e, s) || t.any(lookalikeCues2, in: s) { continue }
                    out.add("lookalike-package", .harmful, .block, q + 1, e)
                    return true
                }
            }
        }
        return false
    }

    package static let commonWords: Set<[UInt8]> = Set(
        needles([
            "request", "moments", "express", "expresses", "clicks", "colors", "color", "charts", "router", "routes", "debugs",
            "tests", "testing", "rocket", "rockets", "bytes", "futures", "tracing", "docker", "dockers", "redis", "reddit",
            "mocha", "jester", "babel", "stripes", "ringo", "warps", "towers", "black", "blacks", "sharps", "regexp",
            "regexes", "toml", "async", "pytest", "jests", "cobras", "vipers", "turbo", "realms", "comment", "commands",
            "commanders", "flask", "flasks", "celery", "typescript", "eslint", "webpacks", "numbers", "panda", "pandas",
            "django", "hyper", "fabric", "fabrics", "passport", "passports", "sequence", "mongoose", "winston", "morgan",
            "zerolog", "graphql", "prisma", "apollo", "sharp", "reacts", "reactor", "chalky", "chalks", "clippy", "tokens",
            "token", "server", "servers", "config", "configs", "random", "framer", "render", "renders", "faker", "fakers",
            "coffee", "events", "stream", "streams", "ansible", "docker-compose", "ruff", "attrs", "attr", "click", "bootstraps",
            "requested", "requester", "requestor", "requesting", "rusty", "rustc", "certify", "certified", "settings",
            "setup", "retrofit", "jackson", "tracer", "tracker", "warper", "sqlite", "mysql", "serde", "tokio", "hypers",
            "rayons", "crayon", "uvicorns", "scipy", "numpy", "helmets", "harness", "nextjs", "redux", "vitest", "cypress",
            "puppet", "trusted", "pinned", "select", "fields", "models", "monkey",
        ])
    )
}

// Needle tables used inside the rules above, built once.
private let mirrorToken = needle("mirror")
private let forkToken = needle("fork ")
private let forkedToken = needle("forked")
private let symToken = needle(" => ")
private let replaceToken = needle("replace (")
private let packageUrlToken = needle(".package(url:")
private let packageSwiftToken = needle("package.swift")
private let swiftPackageToken = needle("swift package")
private let patchedCues = needles(["patched", "unofficial", "fork"])
private let githubCues = needles(["github", "gitlab", "bitbucket"])
private let registryCues = needles(["registry", "index", "tarball", "git url"])
private let donTOverrideCues = needles(["don't override", "do not override", "never override", "pinned to", "is pinned", "are pinned", "lockfile"])
private let insteadOfCues = needles(["instead of", "rather than", "deprecated"])
private let insteadOfCues2 = needles(["instead of", "rather than", "deprecated", "in every repo", "always"])
private let httpToken = needle("http")
private let addCues = needles(["add ", "install ", "use ", "depend on ", "require "])
private let lookalikeCues = needles(["lookalike", "typosquat", "similar-looking", "not similar", "watch for", "beware"])
private let dropInCues = needles(["drop-in", "same api", "fork", "standardized", "the one our", "rather than", "instead of", "(not "])
private let insteadOfCues3 = needles([
    "instead of ", "rather than ", "(not ", "drop-in for ", "drop-in replacement for ", "fork of ", "replacement for ", "not ",
])
private let symToken2 = needle("`")
private let lookalikeCues2 = needles(["lookalike", "typosquat", "similar-looking", "watch for", "beware"])
private let _supplyRegistryWords = needles(["registry", "index", "mirror"])
