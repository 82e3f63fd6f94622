import EngramScreening

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
        (0xB4CB_D586, 88),  // Azurite (devstoreaccount1) account key
        (0x8770_7360, 88),  // Cosmos DB emulator key
        (0x776D_E070, 32),  // Stripe docs secret test key
        (0x8BB4_B6EF, 32),  // Stripe docs publishable test key
        (0x396D_8142, 32),  // Stripe docs secret test key (newer docs)
        (0x346E_E36A, 36),  // Mailgun docs key
        (0x9088_91F9, 40),  // GitHub docs sample token
        (0x170B_4539, 43),  // jwt.io sample signature
        (0x2CDE_D043, 16),  // RFC/Google Authenticator sample TOTP seed
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
        for m in markers where TextShapes.contains(lower, m) { return true }
        // Mostly one repeated character (0000…, aaaa…).
        var counts = [Int](repeating: 0, count: 256)
        var maxCount = 0
        for c in lower {
            counts[Int(c)] += 1
            maxCount = max(maxCount, counts[Int(c)])
        }
        if lower.count >= 6 && maxCount * 10 >= lower.count * 6 { return true }
        // Upper-case template words (USER, PASSWORD, TOKEN…), possibly joined by _ or -.
        if v.allSatisfy({ isUpper($0) || $0 == 0x5F || $0 == 0x2D || isDigit($0) }) {
            let raw = Array(v)
            for w in upperWords where TextShapes.contains(raw, w) { return true }
        }
        // Template / reference syntaxes.
        if let f = v.first, v.count > 1, f == 0x24 || f == 0x40, v[v.startIndex + 1] == 0x7B { return true }  // ${…}, @{…}
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
        var up = true
        var down = true
        for i in 1..<n {
            if byteAt(i) != byteAt(i - 1) + 1 { up = false }
            if byteAt(i) != byteAt(i - 1) - 1 { down = false }
        }
        return up || down
    }

}
