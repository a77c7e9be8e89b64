import Foundation
import StepRunner
import WizardCore

/// Stage 5: gunicorn serving the app on port 8000 — the tutorial's dev config, log/pid
/// directories owned by the app user, a daemon with a pidfile (or a systemd unit when systemd
/// runs), started when stopped and HUP'd when the app's code or settings changed.
enum GunicornStage {
    static let id: StageID = "gunicorn"

    static func configContext(_ l: AppLayout, systemd: Bool) -> [String: any Sendable] {
        // dev.py always names the dev paths, whichever profile runs (go-live switches to prod.py)
        ["wsgi_app": l.wsgiApp, "bind": "0.0.0.0:\(l.appPort)", "log_file": l.profile("dev").gunicornLogFile,
         "pid_file": l.profile("dev").gunicornPidFile, "daemon": !systemd]
    }

    static func unitContext(_ l: AppLayout) -> [String: any Sendable] {
        ["profile": l.gunicornProfile, "domain": l.domain, "user": l.user, "group": l.group, "project_dir": l.projectDir,
         "secret_file": l.secretFile, "venv": l.venv, "config_file": l.gunicornConfigRelative]
    }

    static func make(_ env: StageEnvironment) -> StageDefinition {
        let templates = TemplateSource(env)
        return StageDefinition(id: id, title: "Gunicorn", steps: [
            StepKit.filesStep(id: "gunicorn.config", title: "config/gunicorn/dev.py", files: { ctx, l in
                let systemd = try await Facts.hasSystemd(ctx)
                let spec = FileSpec(path: l.gunicornConfig,
                                    content: try templates.renderData("gunicorn/dev.py", configContext(l, systemd: systemd)),
                                    owner: l.user, group: l.group)
                return ([(l.gunicornConfig as NSString).deletingLastPathComponent], [spec])
            }),
            directories(),
            systemdUnit(templates),
            running(id: "gunicorn.running", title: "gunicorn running with the current code and settings"),
        ])
    }

    static func directories() -> StepDefinition {
        @Sendable func wrong(_ ctx: StepContext, _ l: AppLayout) async throws -> [String] {
            var out: [String] = []
            for d in [l.gunicornLogDir, l.gunicornRunDir] {
                guard let f = try await Facts.directory(ctx, d) else { out.append("\(d) missing"); continue }
                if f.owner != l.user || f.group != l.group || f.mode != "755" { out.append("\(d) is \(f.owner):\(f.group) \(f.mode)") }
            }
            return out
        }
        return StepDefinition(
            id: "gunicorn.dirs", title: "/var/log/gunicorn and /var/run/gunicorn owned by the app user", needsRoot: true,
            reads: StepKit.appInputs,
            check: { ctx in
                let l = try await AppLayout.resolve(ctx)
                let w = try await wrong(ctx, l)
                return w.isEmpty ? .satisfied("\(l.gunicornLogDir) and \(l.gunicornRunDir) exist, owned by \(l.user), mode 0755")
                    : .needsChange(w.joined(separator: "; "))
            },
            plan: { ctx in
                let l = try await AppLayout.resolve(ctx)
                return StepPlan(actions: [.command(Command(["install", "-d", "-o", l.user, "-g", l.group, "-m", "0755",
                                                            l.gunicornLogDir, l.gunicornRunDir], asRoot: true))],
                                notes: ["/var/run is a tmpfs: after a reboot this step (re)creates the pid directory"])
            },
            verify: { ctx in
                let l = try await AppLayout.resolve(ctx)
                let w = try await wrong(ctx, l)
                guard w.isEmpty else { throw StepError.verificationFailed(w.joined(separator: "; ")) }
            })
    }

    static func unitPath(_ l: AppLayout) -> String { "/etc/systemd/system/\(l.gunicornUnit).service" }

    /// Only with systemd; otherwise a noop with that reason.
    static func systemdUnit(_ templates: TemplateSource) -> StepDefinition {
        @Sendable func spec(_ l: AppLayout) throws -> FileSpec {
            FileSpec(path: unitPath(l), content: try templates.renderData("gunicorn/gunicorn.service", unitContext(l)),
                     owner: "root", group: "root")
        }
        return StepDefinition(
            id: "gunicorn.unit", title: "systemd unit (when systemd runs)", needsRoot: true, reads: StepKit.appInputs,
            check: { ctx in
                guard try await Facts.hasSystemd(ctx) else {
                    return .satisfied("no systemd on the target (/run/systemd/system is absent): gunicorn runs as a daemon with a pidfile")
                }
                let l = try await AppLayout.resolve(ctx)
                let d = try await StepKit.differing(ctx, [try spec(l)])
                let enabled = try await ctx.succeeds(["systemctl", "is-enabled", "--quiet", l.gunicornUnit], asRoot: false)
                if d.isEmpty && enabled { return .satisfied("\(unitPath(l)) is up to date and enabled") }
                return .needsChange(d.isEmpty ? "\(l.gunicornUnit) is not enabled" : "differs: " + d.joined(separator: ", "))
            },
            plan: { ctx in
                guard try await Facts.hasSystemd(ctx) else { return StepPlan() }
                let l = try await AppLayout.resolve(ctx)
                let s = try spec(l)
                return StepPlan(actions: [
                    .file(try await ctx.fileChange(s.path, content: s.content, mode: s.mode, owner: s.owner, group: s.group, asRoot: true)),
                    .command(Command(["systemctl", "daemon-reload"], asRoot: true)),
                    .command(ServiceControl.enable(name: l.gunicornUnit)),
                ])
            })
    }

    // MARK: running

    /// What the running gunicorn serves: hashes of the project's code/templates/settings and of
    /// the secret key file (a hash only; a new key needs a restart, since the key is in the
    /// environment). Printed by the target; recorded next to the pidfile after start/HUP.
    static let fingerprintScript = """
    set -e
    code=$(cd "$1" && find . -path ./static -prune -o -type f \\( -name '*.py' -o -name '*.html' \\) -print0 \\
      | sort -z | xargs -0 -r sha256sum | sha256sum)
    secret=$(sha256sum < "$2")
    printf 'code=%s secret=%s\\n' "${code%% *}" "${secret%% *}"
    """

    static func fingerprint(_ ctx: StepContext, _ l: AppLayout) async throws -> String {
        try await ctx.run(Command(["sh", "-c", fingerprintScript, "sh", l.projectDir, l.secretFile], asRoot: true)).stdoutText.trimmed
    }

    static func recordCommand(_ l: AppLayout) -> Command {
        let script = fingerprintScript.replacingOccurrences(of: "printf 'code=%s secret=%s\\n'", with: "printf 'code=%s secret=%s\\n' > \"$3\"")
        return Command(["sh", "-c", script, "sh", l.projectDir, l.secretFile, l.gunicornStateFile], asRoot: true)
    }

    static func recorded(_ ctx: StepContext, _ l: AppLayout) async throws -> String? {
        try await ctx.readFile(l.gunicornStateFile, asRoot: true).map { String(decoding: $0, as: UTF8.self).trimmed }
    }

    enum RunState: Sendable { case stopped, current(Int), stale(Int, secretChanged: Bool) }

    static func state(_ ctx: StepContext, _ l: AppLayout, systemd: Bool) async throws -> RunState {
        let pid: Int?
        if systemd {
            let r = try await ctx.run(Command(["systemctl", "show", "-p", "MainPID", "--value", l.gunicornUnit], asRoot: false),
                                      allowFailure: true)
            pid = Int(r.stdoutText.trimmed).flatMap { $0 > 0 ? $0 : nil }
        } else {
            pid = try await Facts.livePID(ctx, pidFile: l.gunicornPidFile, commandContains: "gunicorn")
        }
        guard let pid else { return .stopped }
        let want = try await fingerprint(ctx, l)
        let have = try await recorded(ctx, l)
        if have == want { return .current(pid) }
        let secretChanged = have.map { h in h.split(separator: " ").last != want.split(separator: " ").last } ?? false
        return .stale(pid, secretChanged: secretChanged)
    }

    static func waitForPortCommand(_ l: AppLayout) -> Command {
        Command(["sh", "-c", waitForPortScript, "sh", String(l.appPort), l.gunicornLogFile], asRoot: false, timeout: .seconds(60))
    }

    /// Up to 30 s for gunicorn to answer on port $1 (its log: $2).
    static let waitForPortScript = """
        i=0
        while [ $i -lt 60 ]; do
          curl -s -o /dev/null -m 2 "http://127.0.0.1:$1/" && exit 0
          i=$((i+1)); sleep 0.5
        done
        echo "gunicorn does not answer on port $1 (see $2)" >&2; exit 1
        """

    static func stopCommand(_ l: AppLayout, pid: Int) -> Command {
        Command(["sh", "-c", stopScript, "sh", String(pid)], asRoot: true, timeout: .seconds(60))
    }

    /// The same, for the pid in a pidfile (the export: no pid is known in advance).
    static func stopCommand(pidFile: String) -> Command {
        Command(["sh", "-c", "p=$(cat -- \"$1\" 2>/dev/null) || exit 0\nset -- \"$p\"\n" + stopScript, "sh", pidFile],
                asRoot: true, timeout: .seconds(60))
    }

    /// TERM the master ($1) and wait until it is gone (a zombie counts as gone).
    static let stopScript = """
        kill -TERM "$1" 2>/dev/null || exit 0
        i=0
        while [ $i -lt 100 ]; do
          kill -0 "$1" 2>/dev/null || exit 0
          grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null && exit 0
          i=$((i+1)); sleep 0.2
        done
        echo "gunicorn (pid $1) did not stop" >&2; exit 1
        """

    static func startCommands(_ l: AppLayout, systemd: Bool) -> [Command] {
        if systemd { return [Command(["systemctl", "start", l.gunicornUnit], asRoot: true, timeout: .seconds(60))] }
        return [l.withSecret([l.venv + "/bin/gunicorn", "-c", l.gunicornConfigRelative], timeout: .seconds(60))]
    }

    /// Checks that the app answers 200 through gunicorn, with the domain as Host.
    static func verifyApp(_ ctx: StepContext, _ l: AppLayout, port: Int? = nil) async throws {
        let p = port.map { ":\($0)" } ?? ""
        var last: Facts.HTTPResponse?
        for _ in 0 ..< 20 {
            last = try await Facts.http(ctx, url: "http://127.0.0.1\(p)\(l.pagePath)", host: l.domain)
            if let s = last?.status, l.pageOK(s) { return }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw StepError.verificationFailed("GET http://127.0.0.1\(p)\(l.pagePath) (Host: \(l.domain)) answered \(last.map { String($0.status) } ?? "nothing"), want \(l.own == nil ? "200" : "200…399")")
    }

    /// Start when stopped; HUP when the code or settings changed since the last start/HUP
    /// (settings take effect only after HUP); restart when the secret key changed.
    /// Used by the gunicorn stage and again by static-files (after DEBUG = False).
    static func running(id: StepID, title: String,
                        extraVerify: (@Sendable (StepContext, AppLayout) async throws -> Void)? = nil) -> StepDefinition {
        StepDefinition(
            id: id, title: title, needsRoot: true, reads: StepKit.appInputs,
            check: { ctx in
                let l = try await AppLayout.resolve(ctx)
                let systemd = try await Facts.hasSystemd(ctx)
                switch try await state(ctx, l, systemd: systemd) {
                case .stopped: return .needsChange("gunicorn is not running")
                case .stale(let pid, let s):
                    return .needsChange("gunicorn (pid \(pid)) runs older " + (s ? "secret key" : "code or settings"))
                case .current(let pid):
                    guard let r = try await Facts.http(ctx, url: "http://127.0.0.1:\(l.appPort)\(l.pagePath)", host: l.domain),
                          l.pageOK(r.status) else {
                        return .needsChange("gunicorn (pid \(pid)) runs but \(l.pagePath) does not answer \(l.own == nil ? "200" : "below 400")")
                    }
                    return .satisfied("gunicorn (pid \(pid)) runs the current code and settings; \(l.pagePath) answers \(r.status)")
                }
            },
            plan: { ctx in
                let l = try await AppLayout.resolve(ctx)
                let systemd = try await Facts.hasSystemd(ctx)
                var cmds: [Command] = []
                switch try await state(ctx, l, systemd: systemd) {
                case .stopped:
                    cmds = startCommands(l, systemd: systemd)
                case .stale(let pid, let secretChanged):
                    if secretChanged {
                        cmds = systemd ? [Command(["systemctl", "restart", l.gunicornUnit], asRoot: true)]
                            : [stopCommand(l, pid: pid)] + startCommands(l, systemd: false)
                    } else {
                        cmds = systemd ? [Command(["systemctl", "reload", l.gunicornUnit], asRoot: true)]
                            : [Command(["kill", "-HUP", String(pid)], asRoot: true)]
                    }
                case .current(let pid):
                    // running and current but not answering: restart
                    cmds = systemd ? [Command(["systemctl", "restart", l.gunicornUnit], asRoot: true)]
                        : [stopCommand(l, pid: pid)] + startCommands(l, systemd: false)
                }
                cmds.append(waitForPortCommand(l))
                cmds.append(recordCommand(l))
                return StepPlan(actions: cmds.map { .command($0) })
            },
            verify: { ctx in
                let l = try await AppLayout.resolve(ctx)
                // Our own gunicorn must be the one running: another program on the port would
                // answer the HTTP check while ours exited at once (address already in use).
                let systemd = try await Facts.hasSystemd(ctx)
                if case .stopped = try await state(ctx, l, systemd: systemd) {
                    throw StepError.verificationFailed("gunicorn exited right after it started: is port \(l.appPort) taken by another program? (`ss -ltnp 'sport = :\(l.appPort)'`; see \(l.gunicornLogDir))")
                }
                try await verifyApp(ctx, l, port: l.appPort)
                try await extraVerify?(ctx, l)
            })
    }
}
