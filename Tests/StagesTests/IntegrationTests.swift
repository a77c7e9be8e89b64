import Foundation
import StepRunner
import Testing
import WizardCore
@testable import Stages

/// The loopback sshd fixture (scripts/test starts it). The test runs when its env file exists;
/// with DJDEPLOY_TEST_CI set it must not be skipped.
enum Fixture {
    static var envFile: String {
        ProcessInfo.processInfo.environment["DJDEPLOY_SSHD_ENV"] ?? "/tmp/djdeploy-fixtures/sshd.env"
    }
    static var available: Bool {
        FileManager.default.fileExists(atPath: envFile) || ProcessInfo.processInfo.environment["DJDEPLOY_TEST_CI"] != nil
    }
    static func load() throws -> [String: String] {
        let text = try String(contentsOfFile: envFile, encoding: .utf8)
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            var v = String(line[line.index(after: eq)...])
            if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) }
            out[String(line[..<eq])] = v
        }
        return out
    }
    static func runner() throws -> SystemRunner {
        let e = try load()
        guard let host = e["DJ_SSH_HOST"], let user = e["DJ_SSH_USER"] else { throw StepError.other("bad fixture env \(envFile)") }
        return SystemRunner(target: .ssh(SSHDestination(host: host, port: e["DJ_SSH_PORT"].flatMap(Int.init), user: user,
                                                         identityFile: e["DJ_SSH_KEY"], knownHostsFile: e["DJ_SSH_KNOWN_HOSTS"])))
    }
}

@Suite(.serialized, .enabled(if: Fixture.available, "no sshd fixture (scripts/test starts one)"))
struct StagesIntegrationTests {
    static let domain = "supersecure.test"
    /// A user of its own, so that the test never touches an app user someone else deploys.
    static let appUser = "djstages"
    static let inputs = ["domain": domain, "app_user": appUser, "django_version": "3.2"]
    static let home = "/home/\(appUser)"

    static var managedFiles: [String] {
        let p = home + "/django-gunicorn-nginx"
        return [p + "/project/settings.py", p + "/config/gunicorn/dev.py", home + "/.DJANGO_SECRET_KEY",
                "/etc/nginx/sites-available/\(domain)", "/var/lib/djdeploy/nginx-\(domain).loaded",
                "/var/run/gunicorn/dev.djdeploy-state", "/var/www/\(domain)/static/js/greenlight.js"]
            + DjangoStage.sampleFiles.map { p + "/" + $0 }
    }

    func sh(_ r: SystemRunner, _ script: String, _ args: [String] = []) async throws -> CommandResult {
        try await r.run(Command(["sh", "-c", script, "sh"] + args, asRoot: true))
    }

    /// Removes what the stages create (not the packages), stops gunicorn and nginx.
    func reset(_ r: SystemRunner) async throws {
        let script = """
        # whatever gunicorn a deploy left (dev or prod: the sample deploy of the e2e scripts uses
        # the same port) must go, or this test's gunicorn cannot bind 127.0.0.1:8000
        for f in /var/run/gunicorn/dev.pid /var/run/gunicorn/prod.pid; do
          p=$(cat "$f" 2>/dev/null) && kill -TERM "$p" 2>/dev/null
        done
        # and a gunicorn whose pid file is gone (another test removed /var/run/gunicorn)
        for p in $(ss -ltnpH 'sport = :8000' | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
          grep -q gunicorn "/proc/$p/cmdline" 2>/dev/null && kill -TERM "$p" 2>/dev/null
        done
        for i in $(seq 50); do ss -ltn 'sport = :8000' | grep -q LISTEN || break; sleep 0.1; done
        if [ -f /run/nginx.pid ]; then service nginx stop >/dev/null 2>&1 || true; fi
        id "$1" >/dev/null 2>&1 && userdel -r "$1" 2>/dev/null
        rm -rf "/home/$1" /var/run/gunicorn /var/log/gunicorn "/var/www/$2" \
          "/etc/nginx/sites-available/$2" "/etc/nginx/sites-enabled/$2" "/var/lib/djdeploy/nginx-$2.loaded"
        exit 0
        """
        let res = try await sh(r, script, [Self.appUser, Self.domain])
        #expect(res.succeeded, "reset failed: \(res.stderrText)")
    }

    func stopServices(_ r: SystemRunner) async throws {
        _ = try await sh(r, """
        for f in /var/run/gunicorn/dev.pid /var/run/gunicorn/prod.pid; do
          p=$(cat "$f" 2>/dev/null) && kill -TERM "$p" 2>/dev/null
        done
        if [ -f /run/nginx.pid ]; then service nginx stop >/dev/null 2>&1; fi
        exit 0
        """)
    }

    func hashes(_ r: SystemRunner) async throws -> [String: String] {
        var out: [String: String] = [:]
        for p in Self.managedFiles { out[p] = try await r.sha256(of: p, asRoot: true) ?? "absent" }
        return out
    }

    func runtime(_ r: SystemRunner, _ deployment: Deployment, log: Locked<[String]>) -> WizardRuntime {
        WizardRuntime(deployment: deployment, state: WizardState(deployment: deployment, profile: "stages-test", inputs: Self.inputs),
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
        let text = res.stdoutText
        let parts = text.components(separatedBy: "\n\n")
        let head = parts.first ?? ""
        let status = head.split(separator: "\n").first.map { String($0.split(separator: " ").dropFirst().first ?? "") } ?? ""
        return (status, head.lowercased(), parts.dropFirst().joined(separator: "\n\n"))
    }

    @Test(.timeLimit(.minutes(10)))
    func fromScratchThenNoop() async throws {
        let r = try Fixture.runner()
        defer { Task { await r.shutdown() } }
        try await reset(r)

        // this engineer's stages only (the firewall/DNS stages have tests of their own)
        let env = StageEnvironment()
        let deployment = Deployment(stages: [DjangoStage.make(env), GunicornStage.make(env), NginxStage.make(env),
                                             StaticFilesStage.make(env)])
        let registered = Stages.deployment().stages.map(\.id)
        for id in deployment.stages.map(\.id) { #expect(registered.contains(id)) }
        #expect(deployment.definitionErrors.isEmpty)

        // 0. plan on a fresh server: every command and diff, and nothing changes
        let rt0 = runtime(r, deployment, log: Locked([]))
        let plan0 = await rt0.plan()
        #expect(plan0.allSatisfy { $0.error == nil }, "\(plan0.compactMap { p in p.error.map { "\(p.step): \($0)" } })")
        let rendered = plan0.compactMap { $0.plan?.rendered() }.joined(separator: "\n")
        #expect(rendered.contains("useradd --system"))
        #expect(rendered.contains("+++ b/etc/nginx/sites-available/\(Self.domain)"))
        #expect(rendered.contains("# BEGIN djdeploy managed block"))
        #expect(!(try await sh(r, "test -e \"$1\"", [Self.home]).succeeded), "plan must not create the app user")

        // 1. from scratch
        let log1 = Locked<[String]>([])
        let rt1 = runtime(r, deployment, log: log1)
        let res1 = await rt1.run()
        let state1 = await rt1.state
        let failed = state1.allSteps.filter { $0.status != .succeeded }
        #expect(res1 == .finished(.completed) && failed.isEmpty,
                "first run: \(failed.map { "\($0.id): \($0.error ?? "")" })\n\(log1.value.suffix(80).joined(separator: "\n"))")
        guard failed.isEmpty else { try await stopServices(r); return }
        #expect(state1.allSteps.contains { $0.noopReason == nil }, "a fresh deployment must change something")

        // what a visitor sees
        let page = try await curl(r, "http://127.0.0.1/myapp/")
        #expect(page.status == "200")
        #expect(page.headers.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.contains("server: nginx"))
        #expect(page.body.contains("Now this is some sweet HTML!"))
        let js = try await curl(r, "http://127.0.0.1/static/js/greenlight.js")
        #expect(js.status == "200")
        #expect(js.body.contains("function enlarge()"))
        #expect(!js.headers.contains("x-frame-options"), "the JS must come from nginx, not Django")
        // the secret key stays on the server: 0600, owned by the app user, nowhere in the log
        let key = try await sh(r, "stat -c '%a %U' \"$1\"", [Self.home + "/.DJANGO_SECRET_KEY"])
        #expect(key.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "600 \(Self.appUser)")
        #expect(!log1.value.contains { $0.contains("export SECRET_KEY=") })

        let before = try await hashes(r)
        #expect(!before.values.contains("absent"), "\(before.filter { $0.value == "absent" }.keys)")

        // 2. again: every step a noop, no file changed
        let log2 = Locked<[String]>([])
        let rt2 = runtime(r, deployment, log: log2)
        let res2 = await rt2.run()
        #expect(res2 == .finished(.completed))
        let state2 = await rt2.state
        let changed = state2.allSteps.filter { $0.status != .succeeded || $0.noopReason == nil }
        #expect(changed.isEmpty, "second run changed: \(changed.map { "\($0.id): \($0.status) \($0.error ?? "")" })\n\(log2.value.suffix(60).joined(separator: "\n"))")
        #expect(try await hashes(r) == before)

        // 3. plan: nothing to do
        let rt3 = runtime(r, deployment, log: Locked([]))
        let entries = await rt3.plan()
        #expect(entries.count == deployment.stages.flatMap(\.steps).count)
        for e in entries {
            if case .satisfied? = e.check {} else {
                Issue.record("plan for \(e.step): \(String(describing: e.check)) \(e.error ?? "") \(e.plan?.rendered() ?? "")")
            }
        }

        // 4. a broken site template: nginx -t fails, the old site file is put back, nginx keeps serving
        try await brokenTemplateRollsBack(r, before: before)
        #expect(try await hashes(r) == before)

        try await stopServices(r)
    }

    func brokenTemplateRollsBack(_ r: SystemRunner, before: [String: String]) async throws {
        let dir = NSTemporaryDirectory() + "djdeploy-broken-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (rel, text) in EmbeddedAssets.files {
            let path = dir + "/" + rel
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let site = dir + "/templates/nginx/site.conf.mustache"
        try (try String(contentsOfFile: site, encoding: .utf8) + "\nthis_is_not_an_nginx_directive on;\n")
            .write(toFile: site, atomically: true, encoding: .utf8)
        let pidBefore = try await sh(r, "cat /run/nginx.pid").stdoutText

        let step = NginxStage.siteStep(id: "nginx.site", title: "broken", templates: TemplateSource(assetsDirectory: dir))
        let deployment = Deployment(stages: [StageDefinition(id: "nginx", title: "Nginx", steps: [step])])
        let rt = runtime(r, deployment, log: Locked([]))
        let res = await rt.run()
        #expect(res == .finished(.failed("nginx.site")))
        let rec = await rt.state.step("nginx.site")
        #expect(rec?.status == .failed)
        #expect(rec?.error?.contains("nginx") == true, "\(rec?.error ?? "")")
        // the previous file is back, nginx was not reloaded and still serves the app and the JS
        let site1 = try await r.sha256(of: "/etc/nginx/sites-available/\(Self.domain)", asRoot: true)
        #expect(site1 == before["/etc/nginx/sites-available/\(Self.domain)"])
        #expect(try await sh(r, "cat /run/nginx.pid").stdoutText == pidBefore)
        #expect(try await sh(r, "nginx -t -q").succeeded)
        #expect(try await curl(r, "http://127.0.0.1/myapp/").status == "200")
        #expect(try await curl(r, "http://127.0.0.1/static/js/greenlight.js").status == "200")
    }
}

/// apt: only missing packages, update at most once, and the temporary policy-rc.d removed again.
/// Uses `tree` (tiny, no daemon), which the test removes first when it is installed.
@Suite(.serialized, .enabled(if: Fixture.available, "no sshd fixture (scripts/test starts one)"))
struct AptIntegrationTests {
    @Test(.timeLimit(.minutes(5)))
    func installsOnlyWhatIsMissing() async throws {
        let r = try Fixture.runner()
        defer { Task { await r.shutdown() } }
        _ = try await r.run(Command(["sh", "-c", "dpkg-query -W -f='${Status}' tree 2>/dev/null | grep -q 'ok installed' && apt-get remove -y -q tree >/dev/null; exit 0"], asRoot: true))
        let hadPolicy = try await r.run(Command(["test", "-e", "/usr/sbin/policy-rc.d"])).succeeded
        let step = Apt.step(id: "test.tree", title: "tree", packages: ["tree", "curl"], preventServiceStart: true)
        let deployment = Deployment(stages: [StageDefinition(id: "test", title: "Test", steps: [step])])

        let rt = WizardRuntime(deployment: deployment, state: WizardState(deployment: deployment, profile: "apt-test"), store: nil, runner: r)
        let plan = await rt.plan()
        let rendered = plan.first?.plan?.rendered() ?? ""
        #expect(rendered.contains("install --no-install-recommends"))
        #expect(rendered.contains("tree"))
        #expect(!rendered.contains(" curl"), "installed packages are never named (that would upgrade them)")
        #expect(await rt.run() == .finished(.completed))
        #expect(await rt.state.step("test.tree")?.noopReason == nil)
        #expect(try await r.run(Command(["test", "-e", "/usr/sbin/policy-rc.d"])).succeeded == hadPolicy)

        let rt2 = WizardRuntime(deployment: deployment, state: WizardState(deployment: deployment, profile: "apt-test"), store: nil, runner: r)
        #expect(await rt2.run() == .finished(.completed))
        #expect(await rt2.state.step("test.tree")?.noopReason?.contains("installed") == true)
        _ = try await r.run(Command(["apt-get", "remove", "-y", "-q", "tree"], asRoot: true))
    }
}
