/// Where a URL or host in a risky sentence points: outside the organisation (unknown domains, public IPs,
/// paste and webhook services), the organisation's own hosts, or a recognised vendor (`Scope`).
package enum Target: Int, Comparable {
    case none = 0
    case vendor, org, outside
    package static func < (a: Target, b: Target) -> Bool { a.rawValue < b.rawValue }
}

extension Scope {
    // MARK: targets

    package static let outsideWords = needles(["attacker", "evil", "malicious", "exfil", "c2.", "phish", "hacker", "pwn", "steal"])
    package static let orgHostWords = needles([
        ".corp.", "corp.", ".internal", "internal.", ".intranet", "intranet.", ".local/", ".local:", ".local ", "localhost", ".lan/", ".svc",
        ".home.arpa", "intra.", "127.0.0.1", ".cluster.local",
    ])
    package static let orgLeadWords = needles([
        " our ", " internal ", " in-house ", " company ", " self-hosted ", " the team's ", " org's ", " our own ", " corporate ", "our ",
    ])
    package static let vendorLeadWords = needles([" vendor's ", " vendor ", " partner's ", " upstream "])
    package static let vendorHosts = needles([
        "github.com", "githubusercontent.com", "gitlab.com", "bitbucket.org", "sh.rustup.rs", "rustup.rs",
        "get.docker.com", "docker.com", "brew.sh", "nodesource.com", "get.helm.sh", "bun.sh", "deno.land",
        "astral.sh", "python-poetry.org", "pyenv.run", "sdkman.io", "nixos.org", "pypi.org", "pythonhosted.org",
        "npmjs.org", "npmjs.com", "crates.io", "golang.org", "go.dev", "python.org", "nodejs.org",
        "rust-lang.org", "kubernetes.io", "hashicorp.com", "docker.io", "ghcr.io", "quay.io", "shields.io",
        "codecov.io", "sentry.io", "swift.org", "apple.com", "microsoft.com", "google.com", "googleapis.com",
        "amazonaws.com", "cloudflare.com", "npmmirror.com", "maven.org", "gradle.org", "rubygems.org",
        "nuget.org", "packagist.org", "anaconda.org", "conda.io", "sh.rustup", "get.pnpm.io", "nvm-sh",
        "ohmyz.sh", "tailscale.com", "cli.github.com", "aka.ms", "dot.net", "get.k3s.io", "k3s.io",
    ])
    package static let outsideServices = needles([
        "pastebin", "webhook.site", "requestbin", "ngrok", "transfer.sh", "discord.com/api/webhooks",
        "discordapp.com/api/webhooks", "t.me/", "api.telegram.org", "hastebin", "ghostbin", "paste.ee", "0x0.st",
        "termbin", "file.io", "pipedream", "interact.sh", "oast.", "burpcollaborator", "requestcatcher", "beeceptor",
        "dpaste", "rentry", "gist.github.com", "hookbin", "mocky.io", "ix.io", "sprunge",
    ])

    /// The strongest target among URLs, IPs and named services inside `r`.
    package static func target(_ t: ScreenText, _ r: Range<Int>) -> Target {
        var best = Target.none
        let b = t.b
        // URLs
        var from = r.lowerBound
        let sep = schemeToken
        while let q = t.find(sep, from, r.upperBound) {
            var e = q + 3
            while e < r.upperBound && !isHostEnd(b[e]) { e += 1 }
            let host = (q + 3)..<e
            best = max(best, classify(t, host: host, lead: q, sentence: r))
            from = e
        }
        if best == .outside { return best }
        if t.any(outsideServices, in: r) { return .outside }
        // bare host names without a scheme (`registry.example.net/forks/api`, `git.example.org:2222`)
        var h = r.lowerBound
        while h < r.upperBound {
            let c = b[h]
            if (c >= 0x61 && c <= 0x7A) && (h == 0 || hostLead(b[h - 1])) {
                var e = h
                var dots = 0
                var lastDot = -1
                while e < r.upperBound && (ScreenText.isAlnum(b[e]) || b[e] == 0x2D || b[e] == 0x2E) {
                    if b[e] == 0x2E {
                        dots += 1
                        lastDot = e
                    }
                    e += 1
                }
                if dots >= 1 && lastDot > h && lastDot < e - 2 && e < b.count
                    && (b[e] == 0x2F || (b[e] == 0x3A && e + 1 < b.count && b[e + 1] >= 0x30 && b[e + 1] <= 0x39))
                {
                    let tld = Array(b[(lastDot + 1)..<e])
                    if tld.allSatisfy({ $0 >= 0x61 && $0 <= 0x7A }) && !fileExtensions.contains(tld) {
                        best = max(best, classify(t, host: h..<e, lead: h, sentence: r))
                        if best == .outside { return best }
                    }
                }
                h = max(e, h + 1)
                continue
            }
            h += 1
        }
        // bare IPv4 addresses
        var i = r.lowerBound
        while i < r.upperBound {
            if b[i] >= 0x30 && b[i] <= 0x39 && (i == 0 || !(ScreenText.isAlnum(b[i - 1]) || b[i - 1] == 0x2E || b[i - 1] == 0x2F)) {
                var e = i
                var dots = 0
                while e < r.upperBound && ((b[e] >= 0x30 && b[e] <= 0x39) || b[e] == 0x2E) {
                    if b[e] == 0x2E { dots += 1 }
                    e += 1
                }
                if dots == 3 && b[e - 1] != 0x2E && (e >= b.count || !ScreenText.isAlnum(b[e])) {
                    best = max(best, classify(t, host: i..<e, lead: i, sentence: r))
                }
                i = e + 1
                continue
            }
            i += 1
        }
        return best
    }

    package static let fileExtensions: Set<[UInt8]> = Set(
        needles([
            "py", "sh", "js", "ts", "md", "json", "yaml", "yml", "txt", "go", "rs", "swift", "rb", "java", "kt", "toml", "lock", "cfg", "ini", "conf",
            "env", "xml", "html", "css", "svg", "png", "gz", "tgz", "zip", "whl", "so", "tsx", "jsx", "proto", "sql", "csv", "log", "pem", "key",
            "crt", "tf", "hcl", "dockerfile", "example", "local", "test",
        ]).list
    )

    @inline(__always) package static func hostLead(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x3D || c == 0x40 || c == 0x60 || c == 0x22 || c == 0x27 || c == 0x28 || c == 0x0A || c == 0x09 || c == 0x3C
    }

    @inline(__always) package static func isHostEnd(_ c: UInt8) -> Bool {
        c == 0x2F || c == 0x3A || c == 0x20 || c == 0x60 || c == 0x22 || c == 0x27 || c == 0x29 || c == 0x3F
            || c == 0x0A || c == 0x3E || c == 0x3C || c == 0x5D || c == 0x7D || c == 0x23 || c == 0x2C || c == 0x09
    }

    package static func classify(_ t: ScreenText, host: Range<Int>, lead: Int, sentence: Range<Int>) -> Target {
        if host.isEmpty { return .none }
        let hr = host.lowerBound..<(host.upperBound + 1)
        if t.any(outsideWords, in: hr) { return .outside }
        if let ip = ipv4(t, host) {
            if ip.0 == 10 || ip.0 == 127 || (ip.0 == 192 && ip.1 == 168) || (ip.0 == 172 && ip.1 >= 16 && ip.1 <= 31) { return .org }
            return .outside
        }
        // Work on a padded copy of the host so that ".local/"-style needles see the end.
        let hostBytes = Array(t.b[host]) + [0x2F]
        let h = ScreenText(hostBytes)
        if h.any(orgHostWords, in: h.whole) { return .org }
        let leadLo = max(sentence.lowerBound, lead - 45)
        if leadLo < lead && t.any(orgLeadWords, in: leadLo..<lead) { return .org }
        if h.any(vendorHosts, in: h.whole) { return .vendor }
        if leadLo < lead && t.any(vendorLeadWords, in: leadLo..<lead) { return .vendor }
        return .outside
    }

    package static func ipv4(_ t: ScreenText, _ host: Range<Int>) -> (Int, Int)? {
        var parts: [Int] = []
        var cur = -1
        for i in host {
            let c = t.b[i]
            if c >= 0x30 && c <= 0x39 {
                cur = (cur < 0 ? 0 : cur) * 10 + Int(c - 0x30)
                if cur > 255 { return nil }
            } else if c == 0x2E {
                if cur < 0 { return nil }
                parts.append(cur)
                cur = -1
            } else {
                return nil
            }
        }
        if cur >= 0 { parts.append(cur) }
        return parts.count == 4 ? (parts[0], parts[1]) : nil
    }
}

private let schemeToken = needle("://")
