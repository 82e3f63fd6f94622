import EngramScreening

/// Whether the value after a secret-ish key is a credential: class-specific checks, passphrases,
/// public-by-design prefixes.
extension KeywordRules {

    static func evaluate(
        _ v: ArraySlice<UInt8>,
        quoted: Bool,
        info: KeyInfo,
        mode: Mode,
        text t: Text,
        keyStart: Int,
        decoded depth: Int = 0
    ) -> (Double, (String, String))? {
        let len = v.count
        if len < 4 { return nil }
        if v.contains(0x20) { return nil }  // prompts, sentences, labels
        if TextShapes.isReference(v, quoted: quoted) { return nil }
        if Placeholders.isPlaceholder(v) { return nil }
        if TextShapes.isPath(v) { return nil }
        let lower = v.map(lowerByte)
        if TextShapes.contains(lower, bytes("://")) { return nil }  // URL rule handles credentials in URLs
        for p in publicPrefixes where lower.starts(with: p) { return nil }
        let shape = Shape(v)
        if shape.digits == len { return nil }  // numbers (ports, TTLs, counts)
        // Dates, versions, IPs.
        if shape.letters == 0 && shape.digits + shape.other == len && shape.other > 0 && !(info.cls == .password) { return nil }
        if Entropy.isEnvName(v) && info.cls != .password || Entropy.isEnvName(v) && mode != .assign && mode != .flag { return nil }
        let provider = info.provider

        // base64 values: decode and judge what is inside.
        if len >= 12, Entropy.isPureHex(v) == false, let decoded = TextShapes.base64Text(v) {
            if let colon = decoded.firstIndex(of: 0x3A), colon > 0, colon < decoded.count - 1,
                !decoded.contains(0x20), decoded.allSatisfy({ $0 >= 0x21 && $0 < 0x7F })
            {
                let pass = decoded[(colon + 1)...]
                if !Placeholders.isPlaceholder(pass) && pass.count >= 4 {
                    let docker = t.findCI(bytes("auths"), from: 0, to: t.n) != nil
                    return (0.9, docker ? ("docker-config-auth", "docker") : ("basic-auth-credential", "basic-auth"))
                }
                return nil
            }
            if TextShapes.isNaturalText(decoded) { return nil }
            if Placeholders.isPlaceholder(decoded) && decoded.count < 24 { return nil }
            // base64 of a printable string (k8s Secret `data:`, .npmrc `_password`): judge the string.
            if depth == 0 && decoded.count >= 4 && decoded.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
                return evaluate(
                    decoded[...],
                    quoted: true,
                    info: info,
                    mode: mode == .direct ? .isConn : mode,
                    text: t,
                    keyStart: keyStart,
                    decoded: 1
                )
            }
        }
        // base32 of a printable string (RFC test seeds): not a random secret.
        if len >= 16, let decoded = TextShapes.base32Text(v), decoded.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            if depth == 0 { return evaluate(decoded[...], quoted: true, info: info, mode: .isConn, text: t, keyStart: keyStart, decoded: 1) }
            return nil
        }

        // "admin/S3cret!" or "admin:S3cret!" after a password/credentials/login keyword.
        if depth == 0 && info.cls != .weakKey, let sep = v.firstIndex(where: { $0 == 0x2F || $0 == 0x3A }),
            sep > v.startIndex, sep < v.endIndex - 5, v[v.startIndex..<sep].allSatisfy({ isAlnum($0) || $0 == 0x5F || $0 == 0x2D || $0 == 0x2E }),
            sep - v.startIndex <= 20, !v[(sep + 1)...].contains(0x2F)
        {
            let pinfo = KeyInfo(cls: .password, provider: info.provider)
            if let r = evaluate(v[(sep + 1)...], quoted: true, info: pinfo, mode: .assign, text: t, keyStart: keyStart, decoded: 1) { return r }
            if info.cls == .password { return nil }
        }
        if info.loginOnly { return nil }
        switch info.cls {
        case .password:
            if Entropy.isWordJoined(v) && !(mode == .isConn && TextShapes.isPassphrase(lower)) { return nil }
            if Entropy.isCamelIdentifier(v) && mode != .assign && mode != .xml && mode != .call { return nil }
            if TextShapes.naturalWords.contains(String(decoding: lower, as: UTF8.self)) { return nil }
            let minLen = (mode == .direct) ? 8 : 6
            if len < minLen { return nil }
            if mode == .direct {
                guard shape.classes >= 3 || (shape.classes >= 2 && len >= 10 && Entropy.looksRandom(v)) else { return nil }
            } else {
                guard shape.classes >= 2 || (len >= 12 && Entropy.looksRandom(v)) else { return nil }
                if shape.classes == 2 && shape.other == 0 && shape.digits == 0 && !Entropy.looksRandom(v) && mode == .isConn { return nil }
            }
            if !quoted && mode != .xml && TextShapes.isCodeIdentifier(v) { return nil }
            let id = provider.map { "\($0)-password" } ?? (mode == .flag ? "cli-password" : "password-assignment")
            return (mode == .direct ? 0.75 : 0.85, (id, provider ?? "password"))
        case .secret, .auth:
            let minLen: Int
            switch mode {
            case .direct: minLen = 16
            case .isConn: minLen = 12
            default: minLen = info.cls == .auth ? 12 : 10
            }
            if len < minLen { return nil }
            guard Entropy.looksRandom(v) else { return nil }
            if mode == .direct && Entropy.isPureHex(v) && len != 32 && len < 48 { return nil }
            let id = provider.map { "\($0)-api-key" } ?? (info.cls == .auth ? "authorization-credential" : "generic-secret")
            return (mode == .direct ? 0.7 : 0.8, (id, provider ?? "generic"))
        case .weakKey:
            if mode == .direct { return nil }
            if len < 16 { return nil }
            guard Entropy.looksRandom(v) else { return nil }
            if mode == .isConn && Entropy.isPureHex(v) { return nil }
            if Entropy.isUUID(v) && provider == nil { return nil }
            let id = provider.map { "\($0)-api-key" } ?? "generic-key"
            return (0.7, (id, provider ?? "generic"))
        }
    }

    /// Public-by-design key prefixes (never secrets even next to a key keyword).
    static let publicPrefixes: [[UInt8]] = [
        "pk_live_", "pk_test_", "pubkey-", "pk.eyj", "nrjs-", "mob-", "ssh-rsa", "ssh-ed25519", "ecdsa-sha2", "age1", "npub1",
    ].map(bytes)
}
