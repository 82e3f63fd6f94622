import EngramScreening

/// Command lines (`sshpass -p …`, `mysql -pX`, `docker login -p …`) and bearer tokens anywhere.
extension KeywordRules {
    static let shortFlagCommands: [[UInt8]] = [
        "sshpass", "mysql", "mysqldump", "mariadb", "docker", "podman", "twine", "helm", "redis-cli", "sqlcmd", "mongo", "mongosh", "skopeo",
        "buildah", "oras", "crane", "nerdctl", "mysqladmin", "psql", "ftp", "lftp", "smbclient", "rclone", "htpasswd", "openssl",
    ].map(bytes)

    static let loginCommands: [[UInt8]] = ["docker", "podman", "helm", "skopeo", "buildah", "oras", "crane", "nerdctl", "twine"].map(bytes)

    /// `-p secret` (after sshpass/mysql/docker login/twine…), `-a secret` (redis-cli), `-P` (sqlcmd),
    /// `-u user:pass` (curl and friends).
    static func tryShortFlag(_ t: Text, s: Int, out: inout [Candidate]) -> Int? {
        let b = t.b
        guard s >= 1, b[s - 1] == 0x2D, s < 2 || b[s - 2] == 0x20 || b[s - 2] == 0x60 || b[s - 2] == 0x28 else { return nil }
        let f = b[s]
        guard f == 0x70 || f == 0x50 || f == 0x61 || f == 0x75 || f == 0x55 else { return nil }
        var j = s + 1
        guard j < t.n, isHSpace(b[j]) || b[j] == 0x3D else { return nil }
        while j < t.n && (isHSpace(b[j]) || b[j] == 0x3D) { j += 1 }
        guard let (vs, ve, quoted) = ValueLexing.extractValue(t, at: j, xml: false), ve > vs else { return nil }
        let value = b[vs..<ve]
        if f == 0x75 || f == 0x55 {  // -u user:pass
            guard let colon = value.firstIndex(of: 0x3A), colon > vs, colon + 1 < ve else { return nil }
            let pass = b[(colon + 1)..<ve]
            let info = KeyInfo(cls: .password, provider: nil)
            guard let (conf, _) = evaluate(pass, quoted: true, info: info, mode: .flag, text: t, keyStart: s) else { return nil }
            out.append(Candidate(start: colon + 1, end: ve, ruleID: "cli-user-password", family: "password", confidence: conf, tier: 1))
            return ve
        }
        let ls = t.lineStart(s)
        guard t.containsAnyCI(shortFlagCommands, from: max(ls, s - 120), to: s) else { return nil }
        // Container/registry tools only take a password with `login` (`docker run -p 8080:80` is a port).
        if t.containsAnyCI(loginCommands, from: max(ls, s - 120), to: s)
            && !t.containsAnyCI([bytes("login"), bytes("repo add"), bytes("upload")], from: ls, to: s)
        {
            return nil
        }
        if f == 0x61 && !t.containsAnyCI([bytes("redis-cli")], from: ls, to: s) { return nil }
        if !value.contains(where: isAlpha) { return nil }
        let info = KeyInfo(cls: .password, provider: nil)
        guard let (conf, _) = evaluate(value, quoted: quoted, info: info, mode: .flag, text: t, keyStart: s) else { return nil }
        out.append(Candidate(start: vs, end: ve, ruleID: "cli-password", family: "password", confidence: conf, tier: 1))
        return ve
    }

    /// `mysql -uroot -pS3cret` (password attached to the flag).
    static func tryAttachedMySQLPassword(_ t: Text, s: Int, e: Int, out: inout [Candidate]) -> Int? {
        let ls = t.lineStart(s)
        guard s >= 2, t.b[s - 2] == 0x20, e - s > 4,
            t.containsAnyCI([bytes("mysql"), bytes("mariadb"), bytes("mysqldump")], from: max(ls, s - 120), to: s)
        else { return nil }
        var ve = s + 1
        while ve < t.n && !ValueLexing.isValueTerminator(t.b[ve]) { ve += 1 }
        let value = t.b[(s + 1)..<ve]
        let info = KeyInfo(cls: .password, provider: nil)
        guard let (conf, _) = evaluate(value, quoted: false, info: info, mode: .flag, text: t, keyStart: s) else { return nil }
        out.append(Candidate(start: s + 1, end: ve, ruleID: "cli-password", family: "password", confidence: conf, tier: 1))
        return ve
    }

    // MARK: Bearer tokens anywhere (headers, logs)

    static func scanBearer(_ t: Text, into out: inout [Candidate]) {
        var from = 0
        let needle = bytes("bearer")
        while let k = t.findCI(needle, from: from, to: t.n) {
            from = k + 6
            guard k == 0 || !isAlnum(t.b[k - 1]) else { continue }
            var j = k + 6
            guard j < t.n, isHSpace(t.b[j]) || t.b[j] == 0x3D || t.b[j] == 0x3A else { continue }
            while j < t.n && (isHSpace(t.b[j]) || t.b[j] == 0x3D || t.b[j] == 0x3A) { j += 1 }
            guard let (vs, ve, quoted) = ValueLexing.extractValue(t, at: j, xml: false), ve - vs >= 16 else { continue }
            let v = t.b[vs..<ve]
            let info = KeyInfo(cls: .auth, provider: nil)
            guard let (conf, _) = evaluate(v, quoted: quoted, info: info, mode: .assign, text: t, keyStart: k) else { continue }
            out.append(Candidate(start: vs, end: ve, ruleID: "bearer-token", family: "bearer", confidence: conf, tier: 1))
            from = ve
        }
    }
}
