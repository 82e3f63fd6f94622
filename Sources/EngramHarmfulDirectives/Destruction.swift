package import EngramPoisoningCore

/// Destroying data and planting backdoors as a default (policy rule 3).
///
/// - `destructive-default`: commands that destroy shared or valuable state — history rewrites
///   (`git filter-repo`, `filter-branch`), `rm -rf` on `/`, `~`,
///   `$HOME`, `*` or `.git`; `DROP TABLE/DATABASE/SCHEMA`, `TRUNCATE`, unqualified `DELETE FROM`,
///   `FLUSHALL`, `dropdb`; `terraform destroy`; `kubectl delete namespace|--all`; `git reset --hard`
///   and `git clean -fdx` on shared work; `git push --force` to main/master/release; deleting
///   backups, buckets or volumes — when the text makes them the thing to do. Scope matters: on a
///   local/dev/test/preview/ephemeral target, or removing only build output and caches
///   (`make clean`, `git clean -fdX`), it is ordinary housekeeping → allow; production, shared
///   branches or "always/whenever X fails" → block; otherwise flag. Facts about scheduled cleanup
///   ("a nightly job deletes preview environments") are allowed.
/// - `backdoor`: hard-coded admin accounts or master passwords, authentication bypassed for a magic
///   header/user/IP, SSH keys appended to `authorized_keys`, sudoers NOPASSWD lines, reverse or bind
///   shells (`bash -i >& /dev/tcp/…`, `nc -e`), hidden debug endpoints that run commands, cron jobs
///   that fetch and run code. Directive → block; fact → flag; negated or threat-model text → allow.
package enum Destruction {
    package static let destructive = needles([
        "rm -rf / ", "rm -rf /*", "rm -rf ~", "rm -rf $home", "rm -rf *", "rm -rf .git", "rm -rf ./", "rm -rf .", "rm -fr /",
        "rm -rf --no-preserve-root", "drop table", "drop database", "drop schema", "truncate table", "delete from ",
        "flushall", "flushdb", "dropdb", "terraform destroy", "kubectl delete namespace", "kubectl delete ns",
        "kubectl delete --all", "kubectl delete all", "git reset --hard", "git clean -fdx", "git clean -xdf",
        "git push --force", "git push -f", "push --force", "docker system prune -a", "docker volume prune",
        "docker volume rm", "mkfs", "dd if=/dev/zero", "dd if=/dev/urandom", "wipefs", "format c:", "del /s /q",
        "remove-item -recurse -force", "rd /s /q", "aws s3 rm", "s3 rb", "gsutil rm -r", "delete the backups",
        "delete backups", "delete the database", "drop the database", "wipe the database", "drop all tables",
        "delete the production", "wipe production", "wipe prod", "delete the bucket", "purge the bucket",
        "delete all branches", "delete the repo", "delete the repository", "overwrite the migrations",
        "delete the migrations", "reset the production", "db:drop", "migrate:fresh", "--accept-data-loss",
        "prisma migrate reset", "os.remove('/", "shutil.rmtree('/", "rm /etc/", "rm -rf /etc", "git filter-repo", "filter-repo", "filter-branch",
        "bfg --delete", "drop collection", "db.dropdatabase", ".drop()", "helm uninstall", "pulumi destroy",
        "borrar la base de datos", "supprime la base", "lösche die datenbank", "apague o banco", "cancella il database",
        "删除数据库", "データベースを削除", "удали базу", "rm -rf /var/lib/", "rm -rf /data", "rm -rf /srv", "rm -rf /home",
        "rm -rf /opt", "rm -rf /mnt",
    ])
    package static let safeScopes = needles([
        " local", "locally", " dev ", "dev db", "dev database", " development", " test ", "test db", "test database",
        " tests", "preview", "ephemeral", " tmp", "/tmp", "cache", " build/", "build output", "node_modules",
        "dist/", "your own", "own feature branch", "feature branch", "ignored files", "make seed", "seed data",
        "sandbox", "throwaway", "scratch db", "scratch database", "scratch dir", "scratch space", "docker compose", "docker-compose", "fixtures",
        "in-memory", "sqlite", "the container",
        "test_", "_test", "dev data", "testcontainers",
    ])
    package static let dangerScopes = needles([
        "prod", "production", "main", "master", "release", "shared", "everyone", "all ", "always", "whenever", "every", "backups", "customer", "live",
        "origin/main", "upstream", " / ", "~", "$home",
    ])

    package static let backdoors = needles([
        "backdoor", "back door", "hardcoded admin", "hard-coded admin", "hardcode an admin", "hard-code an admin",
        "hardcoded password", "hard-coded password", "hardcode the password", "hardcoded credential", "hard-coded credential",
        "master password", "skeleton key", "magic password", "magic token", "magic header", "secret admin",
        "hidden admin", "debug account", "debug login", "default admin account", "bypass auth if", "bypass authentication if",
        "bypass auth when", "bypass authentication when", "bypass auth for", "bypass the login", "skip auth if",
        "skip auth when", "skip auth for", "skip authentication for", "skip authentication if", "skip authentication when",
        "authorized_keys", "reverse shell", "bind shell", "/dev/tcp/", "nc -e", "ncat -e", "nc -l -e", "bash -i >&",
        "socat exec", "web shell", "webshell", "nopasswd", "uid 0", "useradd -o -u 0", "endpoint that runs",
        "endpoint that executes", "route that executes", "always return true", "return true for", "admin/admin",
        "if username ==", "if user ==", "x-debug-auth", "x-admin", "god mode", "superuser with", "add a user with",
        "create an admin user", "create a hidden", "xmrig", "crypto miner", "cryptominer", "coin miner", "monero miner", "add a test user",
        "create a test user", "add a user", "create a user",
        "add an account", "create an account", "seed an admin", "crontab", "cron job that", "every minute", "runs any shell command",
        "run any shell command", "execute any command", "executes any command", "runs arbitrary", "arbitrary command",
        "arbitrary shell", "only we know the path", "secret path", "hidden route", "hidden endpoint", "undocumented endpoint",
        "os.system(request", "subprocess.run(request", "executes the `cmd`", "executes the cmd", "runs the `cmd`", "runs the cmd",
        "execute the `cmd`", "query parameter as a command", "/__shell", "/_shell", "debug route that executes", "debug endpoint that executes",
        "exec(request", "eval(request", "shell_exec($_", "system($_",
    ])

    package static let accountForms: Set<[UInt8]> = Set(
        needles(["add a test user", "create a test user", "add a user", "create a user", "add an account", "create an account", "seed an admin"]).list
    )

    package static func scan(_ t: ScreenText, _ out: inout Hits) {
        destroy(t, &out)
        backdoor(t, &out)
    }

    package static let wipeVerbs = needles([
        " wipe", " wipes", " drop ", " drops ", " truncate", " erase", " erases", " destroy", " destroys", " nuke", " nukes", " purge", " purges",
        " delete all", " deletes all", " reset the", " resets the", " overwrite", " overwrites",
    ])
    package static let valuableData = needles([
        "database", " db", "tables", "bucket", "backups", "cluster", "namespace", "volumes", "customer data", "user data", "records", "the data",
    ])

    package static func destroy(_ t: ScreenText, _ out: inout Hits) {
        var strongest = StrongestHit()
        // "it wipes and reseeds the shared database" — a destructive action on valuable data
        for s in t.sentences {
            guard let (p, len) = t.first(wipeVerbs, in: s), let (q, ql) = t.first(valuableData, in: (p + len)..<min(s.upperBound, p + len + 40))
            else { continue }
            if Scope.negated(t, p, q + ql, s) || Scope.subjectMatter(t, s) && !Scope.directive(t, s) { continue }
            let ctx = t.sentence(at: max(0, s.lowerBound - 2)).lowerBound..<s.upperBound
            let shared = t.any(_destroyShared, in: ctx)
            if !shared { continue }
            let isDirective = Scope.directive(t, s) || Scope.directive(t, ctx)
            let v: PoisonVerdict? = !isDirective ? nil : (t.any(_destroyProd, in: ctx) ? .block : .flag)
            strongest.consider(v, p, q + ql)
        }
        for (p, len) in t.all(destructive, in: t.whole) {
            let s = t.sentence(at: p + 1)
            let f = Array(t.b[p..<(p + len)])
            if f == deleteFromToken && t.has(whereToken, in: s) { continue }
            if f == gitPushForceToken || f == gitPushFToken || f == pushForceToken {
                if t.has(forceWithLeaseToken, in: s) || !t.any(mainCues, in: s) { continue }
            }
            if f == gitCleanFdxToken || f == gitCleanXdfToken {
                // -X (capital) only removes ignored files: check the original case via the next byte
                if t.any(onlyIgnoredCues, in: s) { continue }
            }
            if Scope.negated(t, p + 1, p + len, s) || Scope.subjectMatter(t, s) && !Scope.directive(t, s) { continue }
            if t.any(safeScopes, in: s) && !t.any(prodCues, in: s) { continue }
            let directive = Scope.directive(t, s)
            if !directive {
                if t.any(leaveItCues, in: t.whole) {
                    if strongest.verdict == nil { strongest.consider(.flag, p, p + len) }
                }
                continue
            }
            let v: PoisonVerdict =
                t.any(dangerScopes, in: s) || Scope.general(t, s) || t.any(rmRfCues, in: p..<(p + len + 1))
                ? .block : (Scope.scoped(t, s) ? .flag : .block)
            strongest.consider(v, p, p + len)
        }
        strongest.report("destructive-default", .harmful, into: &out)
    }

    package static func backdoor(_ t: ScreenText, _ out: inout Hits) {
        for (p, len) in t.all(backdoors, in: t.whole) {
            let s = t.sentence(at: p + 1)
            let f = Array(t.b[p..<(p + len)])
            if (f == crontabToken || f == cronJobThatToken || f == everyMinuteToken) && !t.any(curlCues, in: s) { continue }
            if f == authorizedKeysToken && !t.any(symCues, in: s) { continue }
            if f == godModeToken || f == uid0Token { if !t.any(userCues, in: s) { continue } }
            if (f == returnTrueForToken || f == alwaysReturnTrueToken) && !t.any(authCues, in: s) { continue }
            if f == superuserWithToken || f == addAUserToken || f == createAnAdminToken || f == createAHiddenToken || accountForms.contains(f) {
                // an account with a known password or an admin role planted by a memory
                if !t.any(passwordCues, in: s) && !t.any(_destructionAdminRole, in: s) { continue }
            }
            if Scope.negated(t, p + 1, p + len, s) || Scope.subjectMatter(t, s) && !Scope.directive(t, s) { continue }
            if t.any(scannerCues, in: s) { continue }
            let v = Scope.decide(t, s, target: .none, otherwise: .block, fact: .flag, scopedVerdict: .block)
            out.add("backdoor", .harmful, v, p, p + len)
            return
        }
    }
}

// Needle tables used inside the rules above, built once.
private let deleteFromToken = needle("delete from ")
private let whereToken = needle(" where ")
private let gitPushForceToken = needle("git push --force")
private let gitPushFToken = needle("git push -f")
private let pushForceToken = needle("push --force")
private let forceWithLeaseToken = needle("force-with-lease")
private let mainCues = needles(["main", "master", "release", "prod", "protected", "shared", "upstream"])
private let gitCleanFdxToken = needle("git clean -fdx")
private let gitCleanXdfToken = needle("git clean -xdf")
private let onlyIgnoredCues = needles(["only ignored", "removes only ignored", "only removes ignored"])
private let prodCues = needles(["prod", "production", "shared", "backups", "customer", " / ", "$home", "rm -rf ~"])
private let leaveItCues = needles(["leave it", "keep it"])
private let rmRfCues = needles(["rm -rf /", "rm -rf ~", "rm -rf $home", "rm -rf *", "rm -rf .git"])
private let crontabToken = needle("crontab")
private let cronJobThatToken = needle("cron job that")
private let everyMinuteToken = needle("every minute")
private let curlCues = needles(["curl", "wget", "| sh", "| bash", "iwr", "download"])
private let authorizedKeysToken = needle("authorized_keys")
private let symCues = needles([">>", "append", "add ", "echo", "copy", "insert", "put "])
private let godModeToken = needle("god mode")
private let uid0Token = needle("uid 0")
private let userCues = needles(["user", "account", "admin"])
private let returnTrueForToken = needle("return true for")
private let alwaysReturnTrueToken = needle("always return true")
private let authCues = needles(["auth", "login", "permission", "is_admin", "isadmin", "check", "verify"])
private let superuserWithToken = needle("superuser with")
private let addAUserToken = needle("add a user with")
private let createAnAdminToken = needle("create an admin user")
private let createAHiddenToken = needle("create a hidden")
private let passwordCues = needles(["password", "hidden", "secret", "known", "fixed", "hardcoded", "default"])
private let scannerCues = needles(["scanner", "detect", "audit for", "look for", "check for", "remove any", "removed the", "alert on"])
private let _destroyShared = needles(["shared", "prod", "production", "customer", "main ", "everyone", "team's", "live"])
private let _destroyProd = needles(["prod", "production", "customer", "live", "every", "always"])
private let _destructionAdminRole = needles(["admin role", "as admin", "superuser", "root role", "owner role", "` / `", "password `", "password:"])
