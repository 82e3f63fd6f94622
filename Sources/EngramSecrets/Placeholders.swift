/// False-positive control: values that have the shape of a credential but are not one —
/// documentation keys, placeholders, masked/redacted values, template references, code that reads
/// a secret from somewhere else, well-known default passwords, emulator keys published for local use.
enum Placeholders {
    /// Substrings (lower case) that mark a value as a placeholder or a masked value.
    static let markers: [[UInt8]] = [
        "example", "xxxx", "****", "•••", "…", "...", "redacted", "placeholder", "changeme", "change_me",
        "change-me", "changeit", "your_", "your-", "yourkey", "yourtoken", "yoursecret", "yourpass",
        "<", ">", "${", "{{", "}}", "insert", "replace_me", "replaceme", "replace-me", "todo", "fixme", "dummy",
        "notreal", "not_real", "not-real", "not-a-real", "fake", "_here", "-here", "here_", "masked",
        "lorem", "abcdefgh", "0123456", "1234567", "12345678", "hidden", "obfuscated", "<token>", "#####",
        "____", "----", "....", "====", "sample",
    ].map(bytes)

    /// Exact values (lower case) that are defaults or placeholders, never real credentials.
    static let defaults: Set<String> = [
        "password", "passw0rd", "pass", "passwd", "secret", "secrets", "changeme", "changeit", "admin", "root", "toor",
        "postgres", "mysql", "redis", "guest", "test", "testing", "default", "example", "sample", "dummy", "foo",
        "bar", "foobar", "none", "null", "nil", "empty", "undefined", "true", "false", "yes", "no", "on", "off",
        "user", "username", "letmein", "qwerty", "123456", "12345678", "1234", "abc123", "password1", "password123",
        "secret123", "admin123", "mysecretpassword", "mypassword", "supersecret", "s3cr3t", "hunter2", "minioadmin",
        "minioadmin123", "rabbitmq", "sa", "oracle", "tiger", "docker", "vagrant", "ubuntu", "raspberry", "local",
        "localhost", "dev", "development", "prod", "production", "staging", "token", "apikey", "api_key", "key",
        "value", "string", "text", "bearer", "basic", "required", "optional", "unset", "tbd", "n/a", "na", "x",
        "xx", "xxx", "your-token", "your_token", "mytoken", "my-token", "my_token", "secretkey", "secret_key",
        "pa$$word", "p@ssw0rd", "p@ssword", "welcome", "welcome1", "trustno1", "1password", "bitwarden", "keepass",
        "lastpass", "keychain", "vault", "env", "environment", "redacted", "masked", "hidden", "omitted", "removed",
        "stored", "set", "unchanged", "same", "dev-secret", "devsecret", "dev_secret", "localdev", "test123",
        "testtest", "testpass", "testpassword", "postgrespassword", "rootpassword", "adminadmin", "secretpassword",
        "opensesame", "aladdin", "swordfish", "mysecret", "topsecret", "iloveyou", "monkey", "dragon",
    ]

    /// CRC32 and length of well-known public values: documentation keys (Stripe's docs test keys,
    /// Mailgun's docs key, GitHub's docs token, jwt.io's sample signature) and emulator keys
    /// published for local use (Azurite storage account key, Cosmos DB emulator key). Stored as
    /// checksums so this file holds no secret-shaped literal.
    static let knownPublic: Set<UInt64> = [
        (0xB4CB_D586, 88), // Azurite (devstoreaccount1) account key
        (0x8770_7360, 88), // Cosmos DB emulator key
        (0x776D_E070, 32), // Stripe docs secret test key
        (0x8BB4_B6EF, 32), // Stripe docs publishable test key
        (0x396D_8142, 32), // Stripe docs secret test key (newer docs)
        (0x346E_E36A, 36), // Mailgun docs key
        (0x9088_91F9, 40), // GitHub docs sample token
        (0x170B_4539, 43), // jwt.io sample signature
        (0x2CDE_D043, 16), // RFC/Google Authenticator sample TOTP seed
    ].map { UInt64($0.0) << 16 | UInt64($0.1) }.reduce(into: Set<UInt64>()) { $0.insert($1) }

    static func isKnownPublic<C: Collection>(_ v: C) -> Bool where C.Element == UInt8 {
        knownPublic.contains(UInt64(CRC32.checksum(v)) << 16 | UInt64(v.count))
    }

    /// Upper-case placeholder words used in documentation URLs and templates (`USER:PASSWORD@HOST`).
    static let upperWords: [[UInt8]] = ["PASSWORD", "PASS", "PWD", "TOKEN", "SECRET", "KEY", "USER", "HOST", "VALUE", "NAME"].map(bytes)

    /// True when the value is a placeholder, masked, templated, a documentation key or a default.
    static func isPlaceholder<C: Collection>(_ v: C) -> Bool where C.Element == UInt8, C.Index == Int {
        let lower = v.map(lowerByte)
        if lower.isEmpty { return true }
        let s = String(decoding: lower, as: UTF8.self)
        if defaults.contains(s) { return true }
        // Strip a trailing run of digits/punctuation to catch "password123!" style defaults.
        var core = lower
        while let last = core.last, isDigit(last) || last == 0x21 { core.removeLast() }
        if core.count >= 4 && defaults.contains(String(decoding: core, as: UTF8.self)) && core.count + 4 >= lower.count { return true }
        for m in markers where contains(lower, m) { return true }
        // Mostly one repeated character (0000…, aaaa…).
        var counts = [Int](repeating: 0, count: 256)
        var maxCount = 0
        for c in lower { counts[Int(c)] += 1; maxCount = max(maxCount, counts[Int(c)]) }
        if lower.count >= 6 && maxCount * 10 >= lower.count * 6 { return true }
        // Upper-case template words (USER, PASSWORD, TOKEN…), possibly joined by _ or -.
        if v.allSatisfy({ isUpper($0) || $0 == 0x5F || $0 == 0x2D || isDigit($0) }) {
            let raw = Array(v)
            for w in upperWords where contains(raw, w) { return true }
        }
        // Template / reference syntaxes.
        if let f = v.first, v.count > 1, f == 0x24 || f == 0x40, v[v.startIndex + 1] == 0x7B { return true } // ${…}, @{…}
        if isKnownPublic(v) { return true }
        if isSequentialHex(lower) { return true }
        return false
    }

    /// `000102030405…` or `0f0e0d…`: counting byte sequences used in test vectors.
    static func isSequentialHex(_ v: [UInt8]) -> Bool {
        guard v.count >= 16, v.count % 2 == 0, v.allSatisfy(isHexDigit) else { return false }
        func byteAt(_ i: Int) -> Int {
            func h(_ c: UInt8) -> Int { isDigit(c) ? Int(c - 0x30) : Int(c - 0x61 + 10) }
            return h(v[2 * i]) * 16 + h(v[2 * i + 1])
        }
        let n = v.count / 2
        var up = true, down = true
        for i in 1..<n {
            if byteAt(i) != byteAt(i - 1) + 1 { up = false }
            if byteAt(i) != byteAt(i - 1) - 1 { down = false }
        }
        return up || down
    }

    /// The value names or fetches a secret instead of containing one: `${VAR}`, `$VAR`, `%VAR%`,
    /// `{{ secrets.X }}`, `os.environ["X"]`, `process.env.X`, `getenv(...)`, `!vault`, `op://…`,
    /// `ENC[...]` (sops ciphertext), `arn:aws:secretsmanager…`.
    static func isReference<C: Collection>(_ v: C, quoted: Bool) -> Bool where C.Element == UInt8, C.Index == Int {
        guard let first = v.first else { return true }
        if first == 0x24 /* $ */ {
            // $VAR, ${VAR}, $(cmd) — but not a password that merely starts with '$'.
            let rest = v.dropFirst()
            if let n = rest.first, n == 0x7B || n == 0x28 { return true }
            if let n = rest.first, isAlpha(n) || n == 0x5F, rest.allSatisfy({ isAlnum($0) || $0 == 0x5F }) { return true }
            if !quoted { return true }
        }
        if first == 0x25 && v.count > 2 && v[v.endIndex - 1] == 0x25 { return true } // %VAR%
        if !quoted && (first == 0x21 /* ! */ || first == 0x7B /* { */ || first == 0x3C /* < */ || first == 0x25) { return true }
        let lower = v.map(lowerByte)
        for p in refPrefixes where lower.starts(with: p) { return true }
        for p in hashFormats where lower.starts(with: p) { return true }
        for m in refMarkers where contains(lower, m) { return true }
        if !quoted {
            // Code expressions: calls, subscripts, dotted member access (os.environ, config.db.password).
            if v.contains(0x28) || v.contains(0x5B) { return true }
            if isDottedIdentifier(v) { return true }
        }
        return false
    }

    static let refPrefixes: [[UInt8]] = [
        "op://", "vault:", "secret:", "secrets.", "env.", "env:", "arn:aws:", "ssm:", "sm://", "gcp:", "azurekeyvault",
        "keyvault:", "@microsoft.keyvault", "projects/", "enc[", "file:", "keychain:", "sops:", "awssm:", "aws-secretsmanager",
        "kms:", "vault.", "process.env", "os.environ", "os.getenv", "getenv", "env(", "environ[", "settings.", "config.",
        "import.meta.env", "dotenv", "secretkeyref", "valuefrom",
    ].map(bytes)
    /// Password-hash formats (bcrypt, argon2, sha-crypt, htpasswd, Django pbkdf2): a stored hash, not the password.
    static let hashFormats: [[UInt8]] = ["$2a$", "$2b$", "$2y$", "$argon2", "$6$", "$5$", "$1$", "$apr1$", "$scrypt$", "{ssha}", "{sha}", "pbkdf2_sha256$", "pbkdf2_sha1$", "bcrypt_sha256$", "scrypt:", "sha256$"].map(bytes)

    static let refMarkers: [[UInt8]] = ["${", "{{", "}}", "$(", "%(", "getenv", "environ", "process.env", "secretsmanager"].map(bytes)

    /// `a.b.c` where every part is an identifier and at least one part is a lower-case word:
    /// member access in code (`os.environ`, `self.token`, `settings.API_KEY`).
    static func isDottedIdentifier<C: Collection>(_ v: C) -> Bool where C.Element == UInt8 {
        var parts = 0
        var partLen = 0
        var partAllLower = true
        var anyLowerPart = false
        var partStartsOK = true
        for c in v {
            if c == 0x2E {
                if partLen == 0 || !partStartsOK { return false }
                parts += 1
                if partAllLower { anyLowerPart = true }
                partLen = 0; partAllLower = true; partStartsOK = true
                continue
            }
            if partLen == 0 && !(isAlpha(c) || c == 0x5F) { partStartsOK = false }
            if !(isAlnum(c) || c == 0x5F) { return false }
            if !isLower(c) && c != 0x5F { partAllLower = false }
            partLen += 1
        }
        if partLen == 0 || !partStartsOK { return false }
        parts += 1
        if partAllLower { anyLowerPart = true }
        return parts >= 2 && anyLowerPart
    }

    /// Looks like a filesystem path or file name rather than a value.
    static func isPath<C: Collection>(_ v: C) -> Bool where C.Element == UInt8, C.Index == Int {
        guard let f = v.first else { return false }
        let a = Array(v)
        if f == 0x2F && !(a.count > 1 && a[1] == 0x2F) { // "/etc/…" but not "//"
            // Absolute path: at least one more slash or a dot extension.
            return a.dropFirst().contains(0x2F) || a.contains(0x2E) || a.count < 24
        }
        if a.starts(with: bytes("./")) || a.starts(with: bytes("../")) || a.starts(with: bytes("~/")) { return true }
        if a.count > 2 && isAlpha(a[0]) && a[1] == 0x3A && (a[2] == 0x5C || a[2] == 0x2F) { return true } // C:\
        let lower = a.map(lowerByte)
        for ext in fileExtensions where lower.count > ext.count + 1 && lower.hasSuffix(ext) { return true }
        return false
    }

    static let fileExtensions: [[UInt8]] = [
        ".pem", ".key", ".json", ".txt", ".p12", ".pfx", ".jks", ".crt", ".cer", ".env", ".yaml", ".yml", ".toml",
        ".ini", ".conf", ".cfg", ".gpg", ".asc", ".pub", ".der", ".keystore", ".properties", ".xml", ".enc", ".age",
    ].map(bytes)

    static func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        let n = needle.count
        if n == 0 || hay.count < n { return false }
        let first = needle[0]
        var i = 0
        let last = hay.count - n
        outer: while i <= last {
            if hay[i] == first {
                var k = 1
                while k < n {
                    if hay[i + k] != needle[k] { i += 1; continue outer }
                    k += 1
                }
                return true
            }
            i += 1
        }
        return false
    }
}

extension Array where Element == UInt8 {
    func hasSuffix(_ s: [UInt8]) -> Bool { count >= s.count && Array(self[(count - s.count)...]) == s }
}
