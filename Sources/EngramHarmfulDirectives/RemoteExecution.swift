package import EngramPoisoningCore

/// `remote-script-exec`: running code fetched from outside the project (policy rule 3).
///
/// Recognised shapes, in any shell: a fetcher (`curl`, `wget`, `iwr`/`Invoke-WebRequest`,
/// `irm`, `DownloadString`, `urllib`, `requests.get`, `fetch`) piped into an interpreter (`sh`,
/// `bash`, `sudo bash`, `python3 -`, `node`, `perl`, `ruby`, `iex`, `pwsh`); command or process
/// substitution handed to an interpreter (`bash -c "$(curl …)"`, `sh -c "$(wget -qO- …)"`,
/// `bash <(curl …)`, `source <(curl …)`, `eval "$(curl …)"`, `python -c "$(curl …)"`);
/// `iex (iwr …)` / `Invoke-Expression`; `exec(urlopen(…).read())`, `eval(await fetch(…))`;
/// download-then-run (`wget -O /tmp/x && bash /tmp/x`, `curl -o x && chmod +x x && ./x`);
/// package runners pointed at a URL (`npx https://…`, `npx github:…`, `deno run https://…`);
/// and the same said in words ("download and run the script at https://…").
///
/// Verdict (see `Scope`): a directive aimed at an unknown or outside host → block; at the org's
/// own hosts or a recognised vendor installer (rustup, get.docker.com) → flag; a fact about
/// documentation or what customers run ("our install docs use the rustup one-liner") → allow;
/// negated or subject matter → allow.
package enum RemoteExecution {
    package static let fetchers = needles([
        "curl ", "wget ", "iwr ", "invoke-webrequest", "irm ", "invoke-restmethod", "downloadstring", "downloadfile",
        "net.webclient", "urlopen", "requests.get", "fetch(", "http.get", "aria2c", "lwp-download", "httpie", " http get",
        "wget2", "curl.exe", "bitsadmin", "certutil -urlcache", "start-bitstransfer", "webclient", "got(", "axios.get",
    ])
    package static let interpreters = needles([
        "sh", "bash", "zsh", "dash", "ksh", "fish", "sudo", "python", "python3", "python2", "node", "perl", "ruby", "php",
        "iex", "invoke-expression", "pwsh", "powershell", "source", "deno", "bun", "tclsh", "lua", "osascript", "cmd",
    ])
    package static let substitutions = needles([
        "$(curl", "$(wget", "$(iwr", "$(irm", "$(invoke-webrequest", "$(fetch", "`curl ", "`wget ", "<(curl", "<(wget",
        "<( curl", "<( wget", "$( curl", "$( wget",
    ])
    package static let substitutionRunners = needles([
        "sh -c", "bash -c", "zsh -c", "eval", "source", ". <(", "python -c", "python3 -c", "exec", "iex", "node -e",
        "perl -e", "ruby -e", "bash <(", "sh <(", "zsh <(", "python <(", "python3 <(", "php -r", "bash -s",
    ])
    package static let iexForms = needles([
        "iex (iwr", "iex(iwr", "iex (irm", "iex(irm", "iex (new-object", "iex(new-object", "iex ((new-object",
        "invoke-expression (iwr", "invoke-expression (irm", "invoke-expression (new-object", "invoke-expression(",
        "iex (invoke-webrequest", "iex(invoke-webrequest", "iex (invoke-restmethod", ".downloadstring(",
        "exec(urlopen", "exec(urllib", "exec(requests.get", "exec(request.urlopen", "eval(await fetch", "eval(fetch",
        "eval(urlopen", "exec(__import__('urllib", "exec(__import__(\"urllib", "import(\"http", "import('http",
        "require(\"http", "load(url", "runpy.run_path", "new function(await", "eval(response", "eval(res.",
        "exec(r.text", "exec(resp", "eval(r.text", "eval(body", "exec(body",
    ])
    package static let runnerURLs = needles([
        "npx http", "npx github:", "npx git+", "npx gist:", "pnpm dlx http", "bunx http", "yarn dlx http",
        "deno run http", "deno run -a http", "deno run --allow-all http", "deno run -a -r http", "uvx --from git+",
        "uvx --from http", "pipx run --spec http", "pipx run --spec git+", "go run http", "npm exec http",
        "npx --yes http", "npx -y http", "npx -y github:", "npx --yes github:",
    ])
    package static let saveFlags = needles([
        " -lo ", " -slo ", " -fslo ", " -sslo ", " -fsslo ", " -lo/", " -so/", " -o ", " -o/", " -O ", " --output", " > ", " -outfile",
        "downloadfile", " -qo ", " -q -o ", "--output-document", " -o-", " -so ",
    ])
    package static let runAfterSave = needles([
        "&& sh ", "&& bash ", "; sh ", "; bash ", "&& ./", "; ./", "chmod +x", "chmod 755", "chmod u+x", "&& python",
        "&& source ", "&& . ", "&& sudo ", "then run it", "and run it", "and execute it", "start-process", "&& pwsh",
        "&& node ", "& ./", "&& ruby ", "&& perl ", "&& powershell", "; & ", "&& cmd /c", "&& msiexec", "&& dpkg -i",
        "&& sudo dpkg -i", "&& rpm -i", "&& installer -pkg", "&& sudo sh", "&& sudo bash",
    ])
    package static let wordForms = needles([
        "download and run", "download and execute", "pull and execute", "pull and run", "fetch and run",
        "fetch and execute", "curl and run", "pipe it to bash", "pipe it to sh", "pipe it into bash", "pipe it into sh",
        "pipe the output to bash", "pipe the output to sh", "pipe to bash", "pipe to sh", "pipe into bash",
        "pipe into sh", "run the script at http", "run the script from http", "execute the script at http",
        "execute the script from http", "run the installer from http", "run whatever http", "execute whatever",
        "source the script at http", "source it from http", "downloaded and executed", "download, chmod",
        "descarga y ejecuta", "télécharge et exécute", "téléchargez et exécutez", "herunterladen und ausführen",
        "lade und führe", "baixe e execute", "scarica ed esegui", "下载并执行", "下载并运行", "ダウンロードして実行",
        "скачай и запусти", "скачайте и запустите", "загрузи и выполни",
    ])

    package static func scan(_ t: ScreenText, _ out: inout Hits) {
        var spans: [(Int, Int)] = []
        pipes(t, &spans)
        for (p, len) in t.all(substitutions, in: t.whole) {
            let lo = max(0, p - 25)
            if t.any(substitutionRunners, in: lo..<(p + 2)) || t.b[p] == 0x3C { spans.append((p, p + len)) }
        }
        for (p, len) in t.all(iexForms, in: t.whole) {
            let s = t.sentence(at: p + 1)
            if Array(t.b[p..<(p + len)]) == downloadstringToken && !t.any(iexCues, in: s) { continue }
            if Array(t.b[p..<(p + len)]) == invokeExpressionToken && !t.any(fetchers, in: s) { continue }
            spans.append((p, p + len))
        }
        for (p, len) in t.all(runnerURLs, in: t.whole) { spans.append((p, p + len)) }
        for (p, len) in t.all(wordForms, in: t.whole) { spans.append((p, p + len)) }
        // download, then run what was saved
        for (p, _) in t.all(fetchers, in: t.whole) {
            let s = t.sentence(at: p + 1)
            let seg = p..<min(s.upperBound, p + 260)
            if t.any(saveFlags, in: seg), let (q, ql) = t.first(runAfterSave, in: seg) { spans.append((p, q + ql)) }
        }
        // A preloaded library fetched from elsewhere runs inside every process (`LD_PRELOAD`).
        for (p, len) in t.all(preloadForms, in: t.whole) {
            let s = t.sentence(at: p + 1)
            if t.any(fetchers, in: s) || t.any(preloadFetchCues, in: s) || t.b[p] == 0x2F { spans.append((p, p + len)) }
        }
        if spans.isEmpty { return }
        if spans.count > ScreenText.maxMatches { spans.removeLast(spans.count - ScreenText.maxMatches) }
        var strongest = StrongestHit()
        for (lo, hi) in spans {
            let s = t.sentence(at: lo + 1)
            if Scope.negated(t, lo + 1, hi, s) || Scope.subjectMatter(t, s) && !Scope.directive(t, s) { continue }
            if t.any(weReplacedCues, in: s) { continue }
            if Scope.subjectMatter(t, s) && t.any(narrativeCues, in: s) { continue }
            var tgt = Scope.target(t, s)
            if tgt == .none { tgt = Scope.target(t, lo..<min(t.b.count, hi + 200)) }
            if tgt == .none { tgt = Scope.target(t, t.whole) }
            var v = Scope.decide(t, s, target: tgt, otherwise: .block, fact: nil, scopedVerdict: .flag, factOutside: .flag, factKnown: nil)
            // Documentation and customers' install steps are facts even when phrased with "use".
            if v != nil && tgt != .outside && t.any(ourInstallDocsCues, in: s) && !Scope.startsImperative(t, s.lowerBound, s.upperBound) {
                v = nil
            }
            strongest.consider(v, lo, hi)
        }
        strongest.report("remote-script-exec", .harmful, into: &out)
    }

    /// `fetcher … | interpreter` within one command.
    package static func pipes(_ t: ScreenText, _ spans: inout [(Int, Int)]) {
        let b = t.b
        var i = 1
        while i < b.count - 1 {
            if b[i] != 0x7C || b[i + 1] == 0x7C || b[i - 1] == 0x7C {
                i += 1
                continue
            }
            var j = i + 1
            while j < b.count && ScreenText.isSpace(b[j]) { j += 1 }
            guard let w = t.word(after: j, hi: min(b.count, j + 40)),
                w.lowerBound == j || (w.lowerBound == j + 1 && b[j] == 0x2F) || w.lowerBound <= j + 10 && b[j] == 0x2F
            else {
                i += 1
                continue
            }
            var word = Array(b[w])
            // `/usr/bin/env bash`, `/bin/sh`
            if b[j] == 0x2F {
                var e = j
                while e < b.count && !ScreenText.isSpace(b[e]) && b[e] != 0x60 { e += 1 }
                var k = e - 1
                while k > j && b[k] != 0x2F { k -= 1 }
                word = Array(b[(k + 1)..<e])
                if word == envToken, let w2 = t.word(after: e, hi: min(b.count, e + 20)) { word = Array(b[w2]) }
            }
            var isInterp = interpreters.contains(word) || word.starts(with: pythonToken)
            if word == sudoToken {
                isInterp = false
                if let w2 = t.word(after: w.upperBound, hi: min(b.count, w.upperBound + 16)) {
                    let w2b = Array(b[w2])
                    isInterp = interpreters.contains(w2b) || w2b == eToken || w2b.starts(with: pythonToken)
                }
            }
            if isInterp && spans.count < ScreenText.maxMatches {
                // the left side of the pipe, back to the start of its command or sentence
                let s = t.sentence(at: i)
                let lo = max(s.lowerBound, i - 240)
                if let (p, _) = t.first(fetchers, in: lo..<i) {
                    spans.append((p, w.upperBound))
                } else if let q = t.find(symToken, lo, i) {
                    spans.append((q, w.upperBound))
                }
            }
            i += 1
        }
    }
}

// Needle tables used inside the rules above, built once.
private let narrativeCues = needles([
    "write-up", "writeup", "postmortem", "post-mortem", "cve-", "advisory", "incident report", "an attacker", "attackers ",
])
private let preloadForms = needles(["ld_preload", "dyld_insert_libraries", "/etc/ld.so.preload"])
private let preloadFetchCues = needles(["://", "download", "fetched from", "pulled from"])
private let downloadstringToken = needle(".downloadstring(")
private let iexCues = needles(["iex", "invoke-expression"])
private let invokeExpressionToken = needle("invoke-expression(")
private let weReplacedCues = needles(["we replaced", "was replaced", "replaced the", "removed the", "no longer", "used to"])
private let ourInstallDocsCues = needles([
    "our install docs", "install docs", "customers install", "users install", "readme", "docs/", "documentation", "tells new devs", "the official",
    "official script", "official one-liner",
])
private let envToken = needle("env")
private let pythonToken = needle("python")
private let sudoToken = needle("sudo")
private let eToken = needle("e")
private let symToken = needle("://")
