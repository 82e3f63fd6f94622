/// Shape tests on byte strings that are not secret-specific: identifiers in code, paths, prose,
/// base64/base32 values that decode to text, and the words of an identifier.
public enum TextShapes {
    /// `a.b.c` where every part is an identifier and at least one part is a lower-case word:
    /// member access in code (`os.environ`, `self.token`, `settings.API_KEY`).
    @inlinable public static func isDottedIdentifier<C: Collection>(_ v: C) -> Bool where C.Element == UInt8 {
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
                partLen = 0
                partAllLower = true
                partStartsOK = true
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
    @inlinable public static func isPath<C: Collection>(_ v: C) -> Bool where C.Element == UInt8, C.Index == Int {
        guard let f = v.first else { return false }
        let a = Array(v)
        if f == 0x2F && !(a.count > 1 && a[1] == 0x2F) {  // "/etc/…" but not "//"
            // Absolute path: at least one more slash or a dot extension.
            return a.dropFirst().contains(0x2F) || a.contains(0x2E) || a.count < 24
        }
        if a.starts(with: bytes("./")) || a.starts(with: bytes("../")) || a.starts(with: bytes("~/")) { return true }
        if a.count > 2 && isAlpha(a[0]) && a[1] == 0x3A && (a[2] == 0x5C || a[2] == 0x2F) { return true }  // C:\
        let lower = a.map(lowerByte)
        for ext in fileExtensions where lower.count > ext.count + 1 && lower.hasSuffix(ext) { return true }
        return false
    }

    /// File extensions that make a value a file name.
    public static let fileExtensions: [[UInt8]] = [
        ".pem", ".key", ".json", ".txt", ".p12", ".pfx", ".jks", ".crt", ".cer", ".env", ".yaml", ".yml", ".toml",
        ".ini", ".conf", ".cfg", ".gpg", ".asc", ".pub", ".der", ".keystore", ".properties", ".xml", ".enc", ".age",
    ].map(bytes)

    /// Whether `needle` occurs in `hay` (exact bytes).
    @inlinable public static func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        let n = needle.count
        if n == 0 || hay.count < n { return false }
        let first = needle[0]
        var i = 0
        let last = hay.count - n
        outer: while i <= last {
            if hay[i] == first {
                var k = 1
                while k < n {
                    if hay[i + k] != needle[k] {
                        i += 1
                        continue outer
                    }
                    k += 1
                }
                return true
            }
            i += 1
        }
        return false
    }

    /// `camelCase` / `snake_case` identifiers in code are variables, not literal passwords.
    @inlinable public static func isCodeIdentifier(_ v: ArraySlice<UInt8>) -> Bool {
        guard let f = v.first, isLower(f) || f == 0x5F else { return false }
        if !v.allSatisfy({ isAlnum($0) || $0 == 0x5F }) { return false }
        let s = Shape(v)
        return s.digits == 0 && (s.upper <= 3)
    }

    /// Decodes a base64-looking value to bytes when it plausibly is base64 (padding or length % 4 == 0).
    @inlinable public static func base64Text(_ v: ArraySlice<UInt8>) -> [UInt8]? {
        guard v.allSatisfy({ ByteSet.b64.contains($0) }) else { return nil }
        let padded = v.last == 0x3D
        guard padded || v.count % 4 == 0 else { return nil }
        guard let d = decodeBase64(v), !d.isEmpty else { return nil }
        // Must be mostly printable to be judged as text.
        let printable = d.filter { ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x0A || $0 == 0x09 }.count
        return printable * 10 >= d.count * 9 ? d : nil
    }

    /// RFC 4648 base32 (A–Z, 2–7, optional `=` padding) when the value is plausibly base32.
    @inlinable public static func base32Text(_ v: ArraySlice<UInt8>) -> [UInt8]? {
        var core = v
        while core.last == 0x3D { core = core.dropLast() }
        guard core.count % 8 == 0 || v.count % 8 == 0 else { return nil }
        var out: [UInt8] = []
        var acc: UInt32 = 0
        var bits = 0
        for c in core {
            let x: UInt32
            if isUpper(c) { x = UInt32(c - 0x41) } else if c >= 0x32 && c <= 0x37 { x = UInt32(c - 0x32 + 26) } else { return nil }
            acc = (acc << 5) | x
            bits += 5
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((acc >> UInt32(bits)) & 0xFF))
            }
        }
        return out.isEmpty ? nil : out
    }

    /// Decoded bytes read like words (spaces, mostly letters): a fixture, not a key.
    @inlinable public static func isNaturalText(_ d: [UInt8]) -> Bool {
        let spaces = d.filter { $0 == 0x20 }.count
        let letters = d.filter(isAlpha).count
        if d.first == 0x7B || d.first == 0x5B { return true }  // JSON
        return spaces >= 1 && letters * 10 >= d.count * 6
    }

    /// Splits an identifier into lower-cased words.
    @inlinable public static func words(_ b: ArraySlice<UInt8>) -> [String] {
        var out: [String] = []
        var cur: [UInt8] = []
        let arr = Array(b)
        for (k, c) in arr.enumerated() {
            if c == 0x5F || c == 0x2D || c == 0x2E || c == 0x20 || c == 0x2F || c == 0x3A {
                if !cur.isEmpty {
                    out.append(String(decoding: cur, as: UTF8.self))
                    cur.removeAll(keepingCapacity: true)
                }
                continue
            }
            if isUpper(c), !cur.isEmpty {
                let prev = arr[k - 1]
                let nextLower = k + 1 < arr.count && isLower(arr[k + 1])
                if isLower(prev) || isDigit(prev) && cur.contains(where: isLower) || (isUpper(prev) && nextLower) {
                    out.append(String(decoding: cur, as: UTF8.self))
                    cur.removeAll(keepingCapacity: true)
                }
            }
            cur.append(lowerByte(c))
        }
        if !cur.isEmpty { out.append(String(decoding: cur, as: UTF8.self)) }
        return out
    }

    /// `w` without its trailing digits.
    @inlinable public static func stripDigits(_ w: String) -> String {
        var u = Array(w.utf8)
        while let l = u.last, isDigit(l) { u.removeLast() }
        return u.count == w.utf8.count ? w : String(decoding: u, as: UTF8.self)
    }

    /// The value names or fetches a secret instead of containing one: `${VAR}`, `$VAR`, `%VAR%`,
    /// `{{ secrets.X }}`, `os.environ["X"]`, `process.env.X`, `getenv(...)`, `!vault`, `op://…`,
    /// `ENC[...]` (sops ciphertext), `arn:aws:secretsmanager…`.
    @inlinable public static func isReference<C: Collection>(_ v: C, quoted: Bool) -> Bool where C.Element == UInt8, C.Index == Int {
        guard let first = v.first else { return true }
        if first == 0x24 {  // $
            // $VAR, ${VAR}, $(cmd) — but not a password that merely starts with '$'.
            let rest = v.dropFirst()
            if let n = rest.first, n == 0x7B || n == 0x28 { return true }
            if let n = rest.first, isAlpha(n) || n == 0x5F, rest.allSatisfy({ isAlnum($0) || $0 == 0x5F }) { return true }
            if !quoted { return true }
        }
        if first == 0x25 && v.count > 2 && v[v.endIndex - 1] == 0x25 { return true }  // %VAR%
        if !quoted && (first == 0x21 || first == 0x7B || first == 0x3C || first == 0x25) { return true }  // ! { < %
        let lower = v.map(lowerByte)
        for p in refPrefixes where lower.starts(with: p) { return true }
        for p in hashFormats where lower.starts(with: p) { return true }
        for m in refMarkers where TextShapes.contains(lower, m) { return true }
        if !quoted {
            // Code expressions: calls, subscripts, dotted member access (os.environ, config.db.password).
            if v.contains(0x28) || v.contains(0x5B) { return true }
            if TextShapes.isDottedIdentifier(v) { return true }
        }
        return false
    }

    /// Prefixes of secret-manager references and code that reads the environment or configuration.
    public static let refPrefixes: [[UInt8]] = [
        "op://", "vault:", "secret:", "secrets.", "env.", "env:", "arn:aws:", "ssm:", "sm://", "gcp:", "azurekeyvault",
        "keyvault:", "@microsoft.keyvault", "projects/", "enc[", "file:", "keychain:", "sops:", "awssm:", "aws-secretsmanager",
        "kms:", "vault.", "process.env", "os.environ", "os.getenv", "getenv", "env(", "environ[", "settings.", "config.",
        "import.meta.env", "dotenv", "secretkeyref", "valuefrom",
    ].map(bytes)

    /// Password-hash formats (bcrypt, argon2, sha-crypt, htpasswd, Django pbkdf2): a stored hash, not the password.
    public static let hashFormats: [[UInt8]] = [
        "$2a$", "$2b$", "$2y$", "$argon2", "$6$", "$5$", "$1$", "$apr1$", "$scrypt$", "{ssha}", "{sha}", "pbkdf2_sha256$", "pbkdf2_sha1$",
        "bcrypt_sha256$", "scrypt:", "sha256$",
    ].map(bytes)

    /// Template and environment markers anywhere in a value.
    public static let refMarkers: [[UInt8]] = ["${", "{{", "}}", "$(", "%(", "getenv", "environ", "process.env", "secretsmanager"].map(bytes)

    /// Function words and verbs of prose about credentials (`stored-in-vault` is prose, not a passphrase).
    public static let naturalWords: Set<String> = [
        "in", "at", "is", "the", "a", "an", "and", "or", "for", "from", "to", "with", "via", "on", "of", "by", "not",
        "stored", "kept", "managed", "rotated", "required", "optional", "set", "unset", "used", "needed", "missing",
    ]

    /// `summer-rain-42`, `correct-horse-battery-staple`: words joined by `-`/`_`/`.` with a number
    /// or four words or more and no function words ("stored-in-vault", "set-by-ops" are prose).
    /// Counted only right after "password is".
    @inlinable public static func isPassphrase(_ lower: [UInt8]) -> Bool {
        let parts = lower.split(whereSeparator: { $0 == 0x2D || $0 == 0x5F || $0 == 0x2E })
        guard parts.count >= 3 else { return false }
        var words = 0
        var numbers = 0
        for p in parts {
            if p.allSatisfy(isDigit) {
                numbers += 1
                continue
            }
            if naturalWords.contains(String(decoding: p, as: UTF8.self)) || p.count < 3 { return false }
            words += 1
        }
        return words >= 2 && (numbers > 0 || words >= 4)
    }
}

extension Array where Element == UInt8 {
    /// Whether the bytes end with `s`.
    @inlinable public func hasSuffix(_ s: [UInt8]) -> Bool { count >= s.count && Array(self[(count - s.count)...]) == s }
}
