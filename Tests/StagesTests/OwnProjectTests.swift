import Foundation
import StepRunner
import Testing
import WizardCore
@testable import Stages

/// `app_source: path`: the small Django project in Tests/fixtures/django-own-project (package
/// `ownsite`) is put on the server and deployed by the django → gunicorn → nginx → static-files
/// stages over SSH. Its own app user, domain and gunicorn port (8001), so that it runs beside the
/// sample deploy (user `django`, `supersecure.test`, port 8000) without touching it.
@Suite(.serialized, .enabled(if: Fixture.available, "no sshd fixture (scripts/test starts one)"))
struct OwnProjectTests {
    static let domain = "own.test"
    static let appUser = "ownapp"
    static let source = "/srv/djdeploy-own-project"
    static let port = "8001"
    static let inputs = ["domain": domain, "app_user": appUser, "django_version": "4.2", "app_source": "path",
                         "app_path": source, "app_port": port]
    static let home = "/home/\(appUser)"
    static let copy = home + "/djdeploy-own-project"
    static var fixtureDir: String { TestPaths.root + "/Tests/fixtures/django-own-project" }

    func sh(_ r: SystemRunner, _ script: String, _ args: [String] = []) async throws -> CommandResult {
        try await r.run(Command(["sh", "-c", script, "sh"] + args, asRoot: true))
    }

    /// Stops this test's gunicorn (by its pidfile), removes its site, reloads a running nginx,
    /// removes its app user, directories and the source copy. Nothing of the sample deploy.
    func cleanup(_ r: SystemRunner) async throws {
        let script = """
        p=$(cat "/var/run/gunicorn-$1/dev.pid" 2>/dev/null) && kill -TERM "$p" 2>/dev/null && sleep 1
        rm -f "/etc/nginx/sites-available/$2" "/etc/nginx/sites-enabled/$2" "/var/lib/djdeploy/nginx-$2.loaded"
        if [ -f /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then nginx -t -q && nginx -s reload; fi
        id "$1" >/dev/null 2>&1 && userdel -r "$1" 2>/dev/null
        rm -rf "/home/$1" "/var/run/gunicorn-$1" "/var/log/gunicorn-$1" "/var/www/$2" "$3"
        exit 0
        """
        let res = try await sh(r, script, [Self.appUser, Self.domain, Self.source])
        #expect(res.succeeded, "cleanup failed: \(res.stderrText)")
    }

    /// The fixture, file by file, to `source` on the server (owned by root: the app user gets a copy).
    func upload(_ r: SystemRunner, to dest: String = OwnProjectTests.source) async throws {
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: Self.fixtureDir) else { throw StepError.other("no fixture at \(Self.fixtureDir)") }
        var files: [String] = []
        for case let rel as String in walker {
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: Self.fixtureDir + "/" + rel, isDirectory: &isDir), !isDir.boolValue,
               !rel.hasSuffix(".pyc"), !rel.contains("__pycache__"), !rel.hasSuffix("db.sqlite3") { files.append(rel) }
        }
        #expect(files.contains("manage.py") && files.contains("ownsite/wsgi.py"))
        for rel in files.sorted() {
            let path = dest + "/" + rel
            _ = try await sh(r, "mkdir -p -- \"$(dirname -- \"$1\")\"", [path])
            let data = try Data(contentsOf: URL(fileURLWithPath: Self.fixtureDir + "/" + rel))
            _ = try await r.writeFile(path, contents: data, mode: rel == "manage.py" ? 0o755 : 0o644, owner: "root", group: "root",
                                      asRoot: true)
        }
    }

    func runtime(_ r: SystemRunner, _ deployment: Deployment, log: Locked<[String]>) -> WizardRuntime {
        WizardRuntime(deployment: deployment, state: WizardState(deployment: deployment, profile: "own-project-test", inputs: Self.inputs),
                      store: nil, runner: r, events: { e in
                          switch e {
                          case .stepFinished(let rec):
                              log.withValue { $0.append("\(rec.id): \(rec.status) \(rec.noopReason ?? rec.error ?? "")") }
                          case .stepOutput(let id, let line): log.withValue { $0.append("  [\(id)] \(line)") }
                          default: break
                          }
                      })
    }

    func curl(_ r: SystemRunner, _ url: String) async throws -> (status: String, headers: String, body: String) {
        let res = try await r.run(Command(["curl", "-sS", "-m", "5", "-D", "-", "-H", "Host: \(Self.domain)", url]))
        let parts = res.stdoutText.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n\n")
        let head = parts.first ?? ""
        let status = head.split(separator: "\n").first.map { String($0.split(separator: " ").dropFirst().first ?? "") } ?? ""
        return (status, head.lowercased(), parts.dropFirst().joined(separator: "\n\n"))
    }

    @Test func findsSettingsModule() {
        #expect(OwnProject.settingsModule(inManagePy: "os.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"ownsite.settings\")") == "ownsite.settings")
        #expect(OwnProject.settingsModule(inManagePy: "os.environ.setdefault('DJANGO_SETTINGS_MODULE','a.b.prod')") == "a.b.prod")
        #expect(OwnProject.settingsModule(inManagePy: "import sys") == nil)
    }

    @Test(.timeLimit(.minutes(15)))
    func deploysOwnProjectThenNoop() async throws {
        let r = try Fixture.runner()
        defer { Task { await r.shutdown() } }
        try await cleanup(r)
        try await upload(r)
        let sourceBefore = try await sh(r, "cd \"$1\" && find . -type f -print0 | sort -z | xargs -0 sha256sum", [Self.source]).stdoutText

        let env = StageEnvironment()
        let deployment = Deployment(stages: [DjangoStage.make(env), GunicornStage.make(env), NginxStage.make(env),
                                             StaticFilesStage.make(env)])
        #expect(deployment.definitionErrors.isEmpty)

        // 1. from scratch
        let log1 = Locked<[String]>([])
        let rt1 = runtime(r, deployment, log: log1)
        let res1 = await rt1.run()
        let state1 = await rt1.state
        let failed = state1.allSteps.filter { $0.status != .succeeded }
        #expect(res1 == .finished(.completed) && failed.isEmpty,
                "first run: \(failed.map { "\($0.id): \($0.error ?? "")" })\n\(log1.value.suffix(80).joined(separator: "\n"))")
        guard failed.isEmpty else {
            // DJDEPLOY_KEEP_OWN_PROJECT=1 leaves the failed deploy in place for a look
            if ProcessInfo.processInfo.environment["DJDEPLOY_KEEP_OWN_PROJECT"] == nil { try await cleanup(r) }
            return
        }
        // the sample-app steps are noops with the reason
        for id in ["django.project", "django.sample-app"] {
            #expect(state1.step(StepID(id))?.noopReason?.hasPrefix("own project:") == true, "\(id): \(String(describing: state1.step(StepID(id))))")
        }

        // what a visitor sees, through nginx
        let page = try await curl(r, "http://127.0.0.1/")
        #expect(page.status == "200", "\(page)")
        #expect(page.headers.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.contains("server: nginx"))
        #expect(page.body.contains("own project works"))
        let css = try await curl(r, "http://127.0.0.1/static/ownsite/own.css")
        #expect(css.status == "200", "\(css)")
        #expect(css.body.contains("#123456"))
        #expect(!css.headers.contains("x-frame-options"), "the CSS must come from nginx, not Django")
        // gunicorn of this project listens on its own port
        let direct = try await curl(r, "http://127.0.0.1:\(Self.port)/")
        #expect(direct.body.contains("own project works"))
        // the project's Django pin (4.2.*) is installed; settings went into the copy's managed block
        let django = try await sh(r, "\"$1\"/env/bin/python -c 'import django; print(django.get_version())'", [Self.home])
        #expect(django.stdoutText.hasPrefix("4.2."), "\(django.stdoutText)")
        let settings = try await sh(r, "cat \"$1\"/ownsite/settings.py", [Self.copy]).stdoutText
        #expect(settings.contains("# BEGIN djdeploy managed block"))
        #expect(settings.contains("STATIC_ROOT = \"/var/www/\(Self.domain)/static\""))
        #expect(!settings.contains("STATICFILES_DIRS"))
        // the original is untouched
        let sourceAfter = try await sh(r, "cd \"$1\" && find . -type f -print0 | sort -z | xargs -0 sha256sum", [Self.source]).stdoutText
        #expect(sourceAfter == sourceBefore)

        // 2. again: every step a noop
        let log2 = Locked<[String]>([])
        let rt2 = runtime(r, deployment, log: log2)
        let res2 = await rt2.run()
        #expect(res2 == .finished(.completed))
        let changed = await rt2.state.allSteps.filter { $0.status != .succeeded || $0.noopReason == nil }
        #expect(changed.isEmpty, "second run changed: \(changed.map { "\($0.id): \($0.status) \($0.error ?? "")" })\n\(log2.value.suffix(60).joined(separator: "\n"))")

        try await cleanup(r)
        #expect(!(try await sh(r, "test -e \"$1\"", ["/etc/nginx/sites-enabled/\(Self.domain)"]).succeeded))
    }

    /// `app_source: git`: the fixture as a git repository on the server (a bare repo under /srv,
    /// owned by the app user `owngit`, cloned by path), deployed by the django and gunicorn stages on
    /// port 8002; a second run is all noops.
    @Test(.timeLimit(.minutes(15)))
    func deploysFromGitThenNoop() async throws {
        let r = try Fixture.runner()
        defer { Task { await r.shutdown() } }
        let user = "owngit", domain = "owngit.test", repo = "/srv/djdeploy-own-git/ownsite.git"
        @Sendable func clean() async throws {
            _ = try await sh(r, """
            p=$(cat "/var/run/gunicorn-$1/dev.pid" 2>/dev/null) && kill -TERM "$p" 2>/dev/null && sleep 1
            id "$1" >/dev/null 2>&1 && userdel -r "$1" 2>/dev/null
            rm -rf "/home/$1" "/var/run/gunicorn-$1" "/var/log/gunicorn-$1" /srv/djdeploy-own-git "$2"
            exit 0
            """, [user, Self.source + "-git-src"])
        }
        try await clean()
        // the fixture into a git repository (git from apt when missing)
        let src = Self.source + "-git-src"
        try await upload(r, to: src)
        let made = try await sh(r, """
        set -e
        command -v git >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q git >/dev/null
        cd "$1"
        git init -q -b main . && git add -A
        git -c user.name=djdeploy -c user.email=test@example.invalid commit -q -m fixture
        mkdir -p "$(dirname "$2")" && git clone -q --bare "$1" "$2"
        chmod -R a+rX "$(dirname "$2")"
        # git refuses to read a local repository owned by another user (safe.directory): the
        # app user is made here and owns the repository (a real app_git is an https/ssh URL)
        useradd --system --create-home --home-dir "/home/$3" --shell /usr/sbin/nologin --user-group "$3"
        chown -R "$3:$3" "$(dirname "$2")"
        """, [src, repo, user])
        #expect(made.succeeded, "\(made.stderrText)")

        let env = StageEnvironment()
        let deployment = Deployment(stages: [DjangoStage.make(env), GunicornStage.make(env)])
        let inputs = ["domain": domain, "app_user": user, "django_version": "4.2", "app_source": "git", "app_git": repo,
                      "app_port": "8002"]
        func rt(_ log: Locked<[String]>) -> WizardRuntime {
            WizardRuntime(deployment: deployment, state: WizardState(deployment: deployment, profile: "own-git-test", inputs: inputs),
                          store: nil, runner: r, events: { e in
                              if case .stepFinished(let rec) = e {
                                  log.withValue { $0.append("\(rec.id): \(rec.status) \(rec.noopReason ?? rec.error ?? "")") }
                              }
                          })
        }
        let log1 = Locked<[String]>([])
        let rt1 = rt(log1)
        let res1 = await rt1.run()
        #expect(res1 == .finished(.completed), "\(log1.value.joined(separator: "\n"))")
        let page = try await sh(r, "curl -sS -m 5 -H 'Host: \(domain)' http://127.0.0.1:8002/")
        #expect(page.stdoutText.contains("own project works"), "\(page.stdoutText) \(page.stderrText)")
        let origin = try await sh(r, "runuser -u \"$2\" -- git -C \"$1\" remote get-url origin", ["/home/\(user)/ownsite", user])
        #expect(origin.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == repo)

        let log2 = Locked<[String]>([])
        let rt2 = rt(log2)
        #expect(await rt2.run() == .finished(.completed))
        let changed = await rt2.state.allSteps.filter { $0.status != .succeeded || $0.noopReason == nil }
        #expect(changed.isEmpty, "second run changed: \(log2.value.joined(separator: "\n"))")
        try await clean()
    }
}
