import Foundation
import StepRunner
import WizardCore

/// Stage 4: the Django app on the server — app user, Python, venv, pinned packages, the secret
/// key (generated on the server), the tutorial's sample project, the managed settings block,
/// migrate and check. See docs/stages.md.
enum DjangoStage {
    static let id: StageID = "django"

    /// The sample app's files: template (under templates/sample-app/) → path in the project.
    static let sampleFiles: [String] = [
        "project/urls.py",
        "myapp/__init__.py",
        "myapp/apps.py",
        "myapp/views.py",
        "myapp/urls.py",
        "myapp/migrations/__init__.py",
        "myapp/templates/myapp/home.html",
        "static/js/greenlight.js",
    ]

    static func sampleContext(_ layout: AppLayout) -> [String: any Sendable] {
        ["domain": layout.domain]
    }

    static func djangoSection(_ layout: AppLayout, templates: TemplateSource) throws -> String {
        try templates.render("django/settings-django.py", [
            "secret_file": layout.secretFile,
            "allowed_hosts": pythonList([".\(layout.domain)", "127.0.0.1", "localhost"]),
            "apps": layout.own == nil ? ["myapp"] : [String](),
        ])
    }

    static func make(_ env: StageEnvironment) -> StageDefinition {
        let templates = TemplateSource(env)
        return StageDefinition(id: id, title: "Django app", steps: [
            appUser(),
            ownProject(),
            Apt.step(id: "django.python", title: "Python 3, venv and curl from apt", packages: ["python3", "python3-venv", "curl"]),
            venv(),
            packages(),
            secretKey(),
            sampleOnly(project()),
            sampleOnly(StepKit.filesStep(id: "django.sample-app", title: "The tutorial's sample app (myapp)", files: { _, layout in
                let specs = try sampleFiles.map { rel in
                    FileSpec(path: layout.projectDir + "/" + rel,
                             content: try templates.renderData("sample-app/" + rel, sampleContext(layout)),
                             mode: 0o644, owner: layout.user, group: layout.group)
                }
                let dirs = Set(specs.map { ($0.path as NSString).deletingLastPathComponent }).sorted()
                return (dirs, specs)
            })),
            StepKit.settingsSectionStep(id: "django.settings", title: "settings.py: secret key from the environment, ALLOWED_HOSTS, myapp",
                                        section: "django", templates: templates) { layout in
                try djangoSection(layout, templates: templates)
            },
            migrate(),
            check(),
        ])
    }

    // MARK: steps

    /// A step of the sample app only: for a user's own project it is a noop with that reason.
    static func sampleOnly(_ step: StepDefinition) -> StepDefinition {
        var s = step
        let (check, plan, verify) = (step.check, step.plan, step.verify)
        s.check = { ctx in
            let l = try await AppLayout.resolve(ctx)
            if let own = l.own {
                let how = own.gitURL.map { "\($0) is deployed (cloned to \(own.projectDir))" } ?? "\(own.source) is deployed (copied to \(own.projectDir))"
                return .satisfied("own project: \(how), not the tutorial's sample app")
            }
            return try await check(ctx)
        }
        s.plan = { ctx in
            if try await AppLayout.resolve(ctx).own != nil { return StepPlan() }
            return try await plan(ctx)
        }
        if let verify {
            s.verify = { ctx in
                if try await AppLayout.resolve(ctx).own != nil { return }
                try await verify(ctx)
            }
        }
        return s
    }

    /// `app_source: path`: the project directory on the server is copied once (`cp -a`) into the
    /// app user's home and given to the app user; the original is never changed. Later changes to
    /// the original are not copied again (remove the copy to take a new one).
    /// `app_source: git`: git from apt, then `git clone URL ~USER/<repo>` as the app user (once;
    /// not pulled again). Sample: a noop.
    static func ownProject() -> StepDefinition {
        StepDefinition(
            id: "django.own-project", title: "Own project copied (or cloned) into the app user's home", needsRoot: true,
            reads: StepKit.appInputs + [.appGit, .appRequirements],
            check: { ctx in
                let l = try await AppLayout.resolve(ctx, allowUncloned: true)
                guard let own = l.own else { return .satisfied("sample app: the project is created by django.project") }
                guard try await ctx.succeeds(["test", "-f", own.projectDir + "/manage.py"], asRoot: true) else {
                    return .needsChange("\(own.projectDir) does not hold \(own.gitURL.map { "a clone of \($0)" } ?? "a copy of \(own.source)") yet")
                }
                let r = try await ctx.run(Command(["find", own.projectDir, "!", "-user", l.user, "-print", "-quit"], asRoot: true))
                if !r.stdoutText.trimmed.isEmpty { return .needsChange("\(r.stdoutText.trimmed) is not owned by \(l.user)") }
                return .satisfied("\(own.projectDir) holds the project (settings \(own.settingsModule), WSGI \(own.wsgiApp)), owned by \(l.user)")
            },
            plan: { ctx in
                let l = try await AppLayout.resolve(ctx, allowUncloned: true)
                guard let own = l.own else { return StepPlan() }
                var actions: [PlannedAction] = []
                var notes: [String] = []
                let exists = try await ctx.succeeds(["test", "-e", own.projectDir], asRoot: true)
                if let url = own.gitURL {
                    if !exists {
                        actions += try await Apt.plan(ctx, ["git", "ca-certificates"]).actions
                        actions.append(.command(l.asApp(["git", "clone", "--", url, own.projectDir], timeout: .seconds(600))))
                    }
                    notes.append("cloned once as \(l.user) (a private repository needs credentials the app user has); not pulled again")
                } else {
                    if !exists { actions.append(.command(Command(["cp", "-a", "--", own.source, own.projectDir], asRoot: true))) }
                    notes.append("\(own.source) itself is not changed; settings go into the managed block of the copy's \(own.settingsRelative)")
                }
                actions.append(.command(Command(["chown", "-R", "\(l.user):\(l.group)", "--", own.projectDir], asRoot: true)))
                return StepPlan(actions: actions, notes: notes)
            },
            verify: { ctx in
                // discovery must succeed now (manage.py, settings, wsgi.py)
                let l = try await AppLayout.resolve(ctx)
                guard let own = l.own else { return }
                for rel in ["manage.py", own.settingsRelative] {
                    guard try await ctx.run(l.asApp(["test", "-r", own.projectDir + "/" + rel]), allowFailure: true).succeeded else {
                        throw StepError.verificationFailed("\(l.user) cannot read \(own.projectDir)/\(rel)")
                    }
                }
            })
    }

    /// A system user with its own group, no login shell, home /home/USER (mode 0750).
    static func createUserCommands(_ user: String) -> [Command] {
        [Command(["useradd", "--system", "--create-home", "--home-dir", "/home/\(user)",
                  "--shell", "/usr/sbin/nologin", "--user-group", user], asRoot: true),
         Command(["chmod", "0750", "/home/\(user)"], asRoot: true)]
    }

    static func appUser() -> StepDefinition {
        StepDefinition(
            id: "django.app-user", title: "App user (system user, no login shell)", needsRoot: true, reads: [.appUser],
            check: { ctx in
                let user = try ctx.require(.appUser)
                let r = try await ctx.run(Command(["getent", "passwd", user], asRoot: false), allowFailure: true)
                guard r.succeeded else { return .needsChange("user \(user) does not exist") }
                let f = r.stdoutText.trimmed.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                guard f.count >= 6, try await ctx.succeeds(["test", "-d", f[5]], asRoot: true) else {
                    return .needsChange("user \(user) has no home directory")
                }
                return .satisfied("user \(user) exists (home \(f[5]))")
            },
            plan: { ctx in
                let user = try ctx.require(.appUser)
                let r = try await ctx.run(Command(["getent", "passwd", user], asRoot: false), allowFailure: true)
                if r.succeeded {
                    let f = r.stdoutText.trimmed.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                    let home = f.count >= 6 ? f[5] : "/home/\(user)"
                    return StepPlan(actions: [.command(Command(["install", "-d", "-o", user, "-g", user, "-m", "0750", home], asRoot: true))])
                }
                return StepPlan(actions: createUserCommands(user).map { .command($0) })
            },
            verify: { ctx in
                let user = try ctx.require(.appUser)
                guard try await ctx.succeeds(["id", "-u", user], asRoot: false) else {
                    throw StepError.verificationFailed("user \(user) does not exist")
                }
            })
    }

    /// Written into the venv once `python3 -m venv` has completed.
    static let venvMarker = ".djdeploy-venv-complete"

    /// `python3 -m venv` as the app user, then the completion marker. --clear: a half-made venv
    /// (interrupted) is rebuilt rather than trusted.
    static func venvCommand(_ l: AppLayout) -> Command {
        let script = "python3 -m venv --clear \"$1\" && touch \"$1/\(venvMarker)\""
        return l.asApp(["sh", "-c", script, "sh", l.venv], timeout: .seconds(300))
    }

    static func venv() -> StepDefinition {
        StepDefinition(
            id: "django.venv", title: "Virtual environment", needsRoot: true, reads: StepKit.appInputs,
            check: { ctx in
                let l = try await AppLayout.resolve(ctx)
                // A `python -m venv` killed half-way leaves a python with a partial pip, which no
                // import test reliably catches: the venv counts only with the marker written after
                // venv creation completed.
                let marker = l.venv + "/" + venvMarker
                if try await ctx.succeeds(["test", "-e", marker], asRoot: true),
                   try await ctx.succeeds(l.asApp([l.python, "-c", "import sys, venv, pip; sys.exit(sys.prefix == sys.base_prefix)"]).argv, asRoot: true) {
                    return .satisfied("\(l.venv) is a complete virtual environment (with pip)")
                }
                return .needsChange("\(l.venv) is missing, broken or was not completed")
            },
            plan: { ctx in
                return StepPlan(actions: [.command(venvCommand(try await AppLayout.resolve(ctx)))])
            },
            verify: { ctx in
                let l = try await AppLayout.resolve(ctx)
                guard try await ctx.succeeds(["test", "-x", l.python], asRoot: true) else {
                    throw StepError.verificationFailed("\(l.python) is not executable")
                }
            })
    }

    /// Installed versions of the pinned distributions (`pip list --format=freeze`).
    static func installed(_ ctx: StepContext, _ l: AppLayout) async throws -> [String: String] {
        // what `pip list --format=freeze` prints, without importing pip (≈ 10× faster: this check
        // runs on every re-run)
        let script = "import importlib.metadata as m\nfor d in m.distributions():\n    print(f\"{d.metadata['Name']}=={d.version}\")"
        let r = try await ctx.run(l.asApp([l.python, "-B", "-c", script]), allowFailure: true)
        var out: [String: String] = [:]
        guard r.succeeded else { return out }
        for line in r.stdoutText.split(separator: "\n") {
            let p = line.split(separator: "=", omittingEmptySubsequences: true)
            if p.count == 2 { out[p[0].lowercased().replacingOccurrences(of: "_", with: "-")] = String(p[1]) }
        }
        return out
    }

    /// A user's project keeps its own Django (from its requirements file): only gunicorn and
    /// django-csp are pinned by djdeploy.
    static func pinned(_ l: AppLayout) -> [(String, String)] {
        l.own == nil ? l.pins.byDistribution : l.pins.byDistribution.filter { $0.0 != "django" }
    }

    static func pinRequirements(_ l: AppLayout) -> [String] {
        l.own == nil ? l.pins.requirements : l.pins.requirements.filter { !$0.hasPrefix("django==") }
    }

    /// Where the hash of the installed requirements file is recorded (own project).
    static func requirementsMarker(_ l: AppLayout) -> String { l.venv + "/.djdeploy-requirements.sha256" }

    /// Own project: the requirements file's hash differs from the one recorded after the last
    /// install (or the file is missing). Empty for the sample.
    static func requirementsProblems(_ ctx: StepContext, _ l: AppLayout) async throws -> [String] {
        guard let own = l.own else { return [] }
        guard let req = try await ctx.readFile(own.requirementsFile, asRoot: true) else {
            return ["\(own.requirementsFile) does not exist (input app_requirements)"]
        }
        let have = try await ctx.readFile(requirementsMarker(l), asRoot: true).map { String(decoding: $0, as: UTF8.self).trimmed }
        return have == SHA256.hex(req) ? [] : ["\(own.requirements) is not installed in its current version"]
    }

    static func pinProblems(_ installed: [String: String], _ l: AppLayout) -> [String] {
        pinned(l).compactMap { name, pin in
            guard let v = installed[name] else { return "\(name) not installed (want \(pin))" }
            return DjangoPins.matches(v, pin) ? nil : "\(name) \(v) (want \(pin))"
        }
    }

    static func packages() -> StepDefinition {
        StepDefinition(
            id: "django.packages", title: "Django, gunicorn and django-csp (pinned) in the venv", needsRoot: true,
            reads: StepKit.appInputs,
            check: { ctx in
                let l = try await AppLayout.resolve(ctx)
                let have = try await installed(ctx, l)
                let problems = pinProblems(have, l) + (try await brokenInstall(ctx, l)) + (try await requirementsProblems(ctx, l))
                if problems.isEmpty {
                    return .satisfied(pinned(l).map { "\($0.0) \(have[$0.0] ?? "?")" }.joined(separator: ", ") + " match the pins"
                                      + (l.own.map { "; \($0.requirements) installed (Django \(have["django"] ?? "?"))" } ?? ""))
                }
                return .needsChange(problems.joined(separator: "; "))
            },
            plan: { ctx in
                let l = try await AppLayout.resolve(ctx)
                // An install killed half-way can leave the metadata without the files: then pip
                // would call the pins satisfied, so the packages are reinstalled. (A venv where
                // none of them is installed yet gets a plain install.)
                let have = try await installed(ctx, l)
                let anyInstalled = pinned(l).contains { have[$0.0] != nil }
                var reinstall = false
                if anyInstalled { reinstall = try await !brokenInstall(ctx, l).isEmpty }
                // own project: its requirements and the pins in one resolver run (its Django pin wins)
                let req = l.own.map { ["-r", $0.requirementsFile] } ?? []
                var actions: [PlannedAction] = [.command(l.asApp([l.python, "-m", "pip", "install", "--disable-pip-version-check",
                                                                  "--no-input", "-q"] + (reinstall ? ["--force-reinstall"] : [])
                                                                  + req + pinRequirements(l), in: l.own?.projectDir, timeout: .seconds(900)))]
                if let own = l.own {
                    let script = "set -e; h=$(sha256sum < \"$1\"); printf '%s\\n' \"${h%% *}\" > \"$2\""
                    actions.append(.command(l.asApp(["sh", "-c", script, "sh", own.requirementsFile, requirementsMarker(l)])))
                }
                return StepPlan(actions: actions)
            },
            verify: { ctx in
                let l = try await AppLayout.resolve(ctx)
                let problems = pinProblems(try await installed(ctx, l), l) + (try await brokenInstall(ctx, l))
                    + (try await requirementsProblems(ctx, l))
                guard problems.isEmpty else { throw StepError.verificationFailed(problems.joined(separator: "; ")) }
            })
    }

    /// What a complete install has beyond its metadata: the console scripts and importable
    /// modules. Empty when the install is whole.
    /// (`python -B`: this check runs as root and must not leave root-owned `.pyc` files in the
    /// app user's venv, which a later pip run as the app user could not replace.)
    static func brokenInstall(_ ctx: StepContext, _ l: AppLayout) async throws -> [String] {
        let script = "for b in django-admin gunicorn; do [ -x \"$1/bin/$b\" ] || echo \"$1/bin/$b is missing\"; done; " +
            "\"$1/bin/python\" -B -c 'import django, gunicorn.app.wsgiapp, csp' 2>/dev/null || echo 'django, gunicorn (with its dependencies) or csp cannot be imported'"
        let r = try await ctx.run(["sh", "-c", script, "sh", l.venv], asRoot: true, allowFailure: true)
        return r.stdoutText.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    /// The secret key file is checked on the server (shape, mode, owner) without reading the key.
    static func secretFacts(_ ctx: StepContext, _ l: AppLayout) async throws -> (exists: Bool, valid: Bool, modeOwner: String) {
        let script = """
        [ -f "$1" ] || { echo absent; exit 0; }
        if grep -qxE "export SECRET_KEY='[0-9a-f]{80}'" "$1" && [ "$(wc -l < "$1")" -eq 1 ]; then v=valid; else v=invalid; fi
        echo "$v $(stat -c '%a %U %G' -- "$1")"
        """
        let r = try await ctx.run(Command(["sh", "-c", script, "sh", l.secretFile], asRoot: true))
        let f = r.stdoutText.trimmed.split(separator: " ").map(String.init)
        if f.first == "absent" || f.isEmpty { return (false, false, "") }
        return (true, f[0] == "valid", f.dropFirst().joined(separator: " "))
    }

    /// Generates the key on the server, as the app user with umask 077; the key is never printed.
    static func generateSecretCommand(_ l: AppLayout) -> Command {
        let script = """
        set -eu
        umask 077
        f=$1; t="$f.tmp.$$"
        k=$(python3 -c 'import secrets; print(secrets.token_hex(40))')
        printf "export SECRET_KEY='%s'\\n" "$k" > "$t"
        mv -f -- "$t" "$f"
        """
        return l.asApp(["sh", "-c", script, "sh", l.secretFile])
    }

    static func secretKey() -> StepDefinition {
        StepDefinition(
            id: "django.secret-key", title: "SECRET_KEY generated on the server (.DJANGO_SECRET_KEY, 0600)", needsRoot: true,
            reads: StepKit.appInputs,
            check: { ctx in
                let l = try await AppLayout.resolve(ctx)
                let f = try await secretFacts(ctx, l)
                let want = "600 \(l.user) \(l.group)"
                if f.exists, f.valid, f.modeOwner == want { return .satisfied("\(l.secretFile) holds a key (mode 0600, owner \(l.user))") }
                if !f.exists { return .needsChange("\(l.secretFile) does not exist") }
                if !f.valid { return .needsChange("\(l.secretFile) does not hold a key in the expected form") }
                return .needsChange("\(l.secretFile) has mode/owner \(f.modeOwner), want \(want)")
            },
            plan: { ctx in
                let l = try await AppLayout.resolve(ctx)
                let f = try await secretFacts(ctx, l)
                if f.exists, f.valid {
                    // keep the key (a new one would log everybody out); fix mode and owner
                    return StepPlan(actions: [
                        .command(Command(["chown", "\(l.user):\(l.group)", l.secretFile], asRoot: true)),
                        .command(Command(["chmod", "0600", l.secretFile], asRoot: true)),
                    ])
                }
                return StepPlan(actions: [.command(generateSecretCommand(l))],
                                notes: ["the key is generated on the server and never leaves it"])
            },
            verify: { ctx in
                let l = try await AppLayout.resolve(ctx)
                let f = try await secretFacts(ctx, l)
                guard f.exists, f.valid, f.modeOwner == "600 \(l.user) \(l.group)" else {
                    throw StepError.verificationFailed("\(l.secretFile) is not a 0600 key file owned by \(l.user)")
                }
            })
    }

    static let stripSecretScript = """
    import re, sys
    p = sys.argv[1]
    s = open(p).read()
    s = re.sub(r"^SECRET_KEY = .*$", "# SECRET_KEY is read from the environment (see the djdeploy managed block below).", s, count=1, flags=re.M)
    open(p, "w").write(s)
    """

    /// `startproject` refuses to write over files it made before: a run killed half-way leaves
    /// a partial project, which is removed first (only startproject's own output).
    static func startProjectCommands(_ l: AppLayout) -> [Command] {
        let script = """
        cd "$1" || exit 1
        if [ -f manage.py ] && [ -f project/settings.py ] && [ -f project/wsgi.py ]; then exit 0; fi
        rm -rf manage.py project
        exec "$2" startproject project "$1"
        """
        return [l.asApp(["mkdir", "-p", l.projectDir]),
                l.asApp(["sh", "-c", script, "sh", l.projectDir, l.venv + "/bin/django-admin"], timeout: .seconds(120))]
    }

    /// The generated settings carry a hard-coded insecure key: that line becomes a comment.
    static func stripSecretCommand(_ l: AppLayout) -> Command {
        l.asApp([l.python, "-c", stripSecretScript, l.settingsFile])
    }

    static func project() -> StepDefinition {
        StepDefinition(
            id: "django.project", title: "Django project (startproject)", needsRoot: true, reads: StepKit.appInputs,
            check: { ctx in
                let l = try await AppLayout.resolve(ctx)
                for p in [l.manage, l.settingsFile, l.projectDir + "/project/wsgi.py"] {
                    if !(try await ctx.succeeds(["test", "-f", p], asRoot: true)) { return .needsChange("\(p) does not exist") }
                }
                if try await ctx.succeeds(["grep", "-q", "^SECRET_KEY = ", l.settingsFile], asRoot: true) {
                    return .needsChange("settings.py still has startproject's hard-coded SECRET_KEY")
                }
                return .satisfied("the project exists in \(l.projectDir)")
            },
            plan: { ctx in
                let l = try await AppLayout.resolve(ctx)
                return StepPlan(actions: (startProjectCommands(l) + [stripSecretCommand(l)]).map { .command($0) })
            },
            verify: { ctx in
                let l = try await AppLayout.resolve(ctx)
                guard try await ctx.succeeds(["test", "-f", l.manage], asRoot: true) else {
                    throw StepError.verificationFailed("\(l.manage) was not created")
                }
                let hasKey = try await ctx.succeeds(["grep", "-q", "^SECRET_KEY = ", l.settingsFile], asRoot: true)
                if hasKey { throw StepError.verificationFailed("settings.py still has a hard-coded SECRET_KEY") }
            })
    }

    static func migrate() -> StepDefinition {
        StepDefinition(
            id: "django.migrate", title: "manage.py migrate", needsRoot: true, reads: StepKit.appInputs,
            check: { ctx in
                let l = try await AppLayout.resolve(ctx)
                // opening a missing SQLite database would create it: look first (sample only; a
                // user's project may use another database)
                let dbExists = try await ctx.succeeds(["test", "-f", l.projectDir + "/db.sqlite3"], asRoot: true)
                guard l.own != nil || dbExists else {
                    return .needsChange("no database yet")
                }
                let r = try await ctx.run(l.manage(["migrate", "--check", "--noinput"]), allowFailure: true)
                return r.succeeded ? .satisfied("no unapplied migrations") : .needsChange("unapplied migrations")
            },
            plan: { ctx in
                let l = try await AppLayout.resolve(ctx)
                return StepPlan(actions: [.command(l.manage(["migrate", "--noinput"]))])
            },
            verify: { ctx in
                let l = try await AppLayout.resolve(ctx)
                let r = try await ctx.run(l.manage(["migrate", "--check", "--noinput"]), allowFailure: true)
                guard r.succeeded else { throw StepError.verificationFailed("migrate --check still reports unapplied migrations") }
            })
    }

    static func check() -> StepDefinition {
        StepDefinition(
            id: "django.check", title: "manage.py check", needsRoot: true, reads: StepKit.appInputs,
            check: { ctx in
                let l = try await AppLayout.resolve(ctx)
                let r = try await ctx.run(l.manage(["check"]), allowFailure: true)
                return r.succeeded ? .satisfied("manage.py check: no issues")
                    : .needsChange("manage.py check reports problems: " + r.stderrText.split(separator: "\n").suffix(3).joined(separator: " / "))
            },
            plan: { ctx in
                let l = try await AppLayout.resolve(ctx)
                return StepPlan(actions: [.command(l.manage(["check"]))],
                                notes: ["`manage.py check` changes nothing; it fails the step when Django reports a problem"])
            },
            verify: { ctx in
                let l = try await AppLayout.resolve(ctx)
                try await ctx.run(l.manage(["check"]))
            })
    }
}
