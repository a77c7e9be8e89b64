import Foundation
import StepRunner
import WizardCore

/// Every step of the wizard in export form, built from the same pieces the steps' plans use: the
/// stages' `Command` builders (`AppLayout.asApp/manage/withSecret`, `DjangoStage.venvCommand`,
/// `HTTPSCertStage.certbotCommand`, …), their templates and context functions, their section
/// bodies. What differs is only how a step decides to act: the wizard reads facts over the
/// runner; an export writes the same decision as a guard that runs on the target.
enum StepExports {
    struct Inputs {
        var values: [String: String]
        var sshPort: Int
        func value(_ k: InputKey) -> String? { values[k.rawValue] ?? InputKey.defaults[k] }
    }

    /// The variables an export takes (the inputs the server-side steps read).
    static func variables(_ inputs: Inputs) throws -> [ExportVariable] {
        func need(_ k: InputKey) throws -> String {
            guard let v = inputs.value(k), !v.isEmpty else {
                throw ExportError.unsupported("the input \(k.rawValue) is needed for an export: add it to the answers file")
            }
            return try k.validate(v)
        }
        return [
            ExportVariable(name: "domain", value: try need(.domain), comment: "the site's domain (www. is added)"),
            ExportVariable(name: "email", value: try need(.email), comment: "the ACME account's contact address"),
            ExportVariable(name: "app_user", value: try need(.appUser), comment: "the system user the app runs as"),
            ExportVariable(name: "acme_server", value: inputs.value(.acmeServer) ?? HTTPSProbe.letsEncryptProduction,
                           comment: "the ACME directory certbot asks"),
            ExportVariable(name: "hsts_final_seconds", value: try need(.hstsFinalSeconds),
                           comment: "the final HSTS max-age set at go-live"),
        ]
    }

    static func ref(_ k: String) -> String { ExportRef.of(k) }

    /// The layout with inputs as variable references (home /home/USER, group USER).
    static func layout(_ inputs: Inputs) throws -> AppLayout {
        let source = inputs.value(.appSource) ?? "sample"
        guard source == "sample" else {
            throw ExportError.unsupported("the export covers the tutorial's sample app (app: sample); app_source \(source) is deployed with `djdeploy run`")
        }
        let user = ref("app_user")
        var l = AppLayout(user: user, group: user, home: "/home/" + user, domain: ref("domain"),
                          djangoVersion: inputs.value(.djangoVersion) ?? "3.2")
        if let p = inputs.value(.appPort) {
            guard let port = Int(p), (1024 ... 65535).contains(port) else {
                throw ExportError.unsupported("app_port \(p) is not a port number in 1024…65535")
            }
            l.appPort = port
        }
        return l
    }

    // MARK: facts read on the target

    static let systemd = ExportFact(name: "systemd", test: ["test", "-d", "/run/systemd/system"])
    static func staticRootExists(_ l: AppLayout) -> ExportFact {
        ExportFact(name: "static_root_exists", test: ["test", "-d", l.staticRoot])
    }
    static func certificateExists(_ l: AppLayout) -> ExportFact {
        let p = CertPaths(domain: l.domain)
        return ExportFact(name: "certificate_exists",
                          test: ["sh", "-c", "for p in \"$@\"; do [ -s \"$p\" ] || exit 1; done", "sh"] + p.tlsFiles)
    }
    /// A feature recorded in the site file's features line (sticky, like the wizard's).
    static func siteHas(_ f: SiteFeature, _ l: AppLayout) -> ExportFact {
        ExportFact(name: "site_has_\(f.rawValue)",
                   test: ["grep", "-qE", "^" + SiteFeatures.linePrefix + "(.* )?\(f.rawValue)( |$)", l.nginxSite])
    }
    static let nginxRejectsHandshake = ExportFact(
        name: "nginx_reject_handshake",
        test: ["sh", "-c", "v=$(nginx -v 2>&1 | sed -n 's|^.*nginx/\\([0-9.]*\\).*$|\\1|p'); [ -n \"$v\" ] && " +
               "[ \"$(printf '%s\\n' 1.19.4 \"$v\" | sort -V | head -n 1)\" = 1.19.4 ]"])
    static func gunicornAlive(_ l: AppLayout) -> Command {
        Facts.livePIDCommand(pidFile: l.gunicornPidFile, commandContains: "gunicorn")
    }

    // MARK: the plan

    static func plan(answers: Answers, env: StageEnvironment) throws -> ExportPlan {
        var sshPort = 22
        if case .ssh(let d)? = answers.target, let p = d.port { sshPort = p }
        let inputs = Inputs(values: answers.inputs, sshPort: sshPort)
        let vars = try variables(inputs)
        let l = try layout(inputs)
        let templates = TemplateSource(env)
        let deployment = Stages.deployment(env)
        var steps: [ExportStep] = []
        var missing: [StepID] = []
        for stage in deployment.stages {
            for step in stage.steps {
                guard let tasks = try tasks(step.id, l, inputs, templates) else { missing.append(step.id); continue }
                steps.append(ExportStep(stage: stage.id, stageTitle: stage.title, id: step.id, title: step.title,
                                        runsOn: step.runsOn, tasks: tasks))
            }
        }
        guard missing.isEmpty else { throw ExportError.noExport(missing) }
        return ExportPlan(variables: vars, steps: steps, handlers: handlers(l), djangoVersion: l.djangoVersion)
    }

    static func handlers(_ l: AppLayout) -> [ExportHandler: [Command]] {
        // nginx: test first; a reload of a stopped nginx does nothing (serviceStarted starts it)
        let nginx = Command(["sh", "-c", "nginx -t -q && if [ -d /run/systemd/system ]; then systemctl reload nginx; else service nginx reload; fi"],
                            asRoot: true)
        // gunicorn: HUP whichever profile runs (settings and code take effect only after HUP),
        // then wait until it answers again; nothing when none runs (it is started later)
        let gunicorn = Command(["sh", "-c", """
            hupped=0
            if [ -d /run/systemd/system ]; then
              for u in "$2-dev" "$2-prod"; do
                if systemctl is-active --quiet "$u"; then systemctl reload "$u"; hupped=1; fi
              done
            else
              for f in "$1"/*.pid; do
                if [ -s "$f" ] && kill -HUP "$(cat -- "$f")" 2>/dev/null; then hupped=1; fi
              done
            fi
            [ "$hupped" = 1 ] || exit 0
            shift 2

            """ + GunicornStage.waitForPortScript, "sh", l.gunicornRunDir, "gunicorn", String(l.appPort), l.gunicornLogFile],
                               asRoot: true)

        return [.reloadNginx: [nginx], .reloadGunicorn: [gunicorn]]
    }

    /// `nginx -t` on a candidate site file (`%s`), inside a minimal configuration.
    static let validateSite = ["sh", "-c", """
        c=$(mktemp) || exit 1
        printf 'events {}\\nhttp {\\n  include /etc/nginx/mime.types;\\n  include %s;\\n}\\n' "$1" > "$c"
        nginx -t -q -c "$c"; r=$?
        rm -f -- "$c"; exit $r
        """, "sh", "%s"]

    /// A fact that holds when every one of `all` holds and none of `none` does.
    static func both(_ name: String, _ all: [ExportFact], not none: [ExportFact] = []) -> ExportFact {
        let parts = all.map { shellJoin($0.test) } + none.map { "! { " + shellJoin($0.test) + "; }" }
        return ExportFact(name: name, test: ["sh", "-c", parts.joined(separator: " && ")], all: all, none: none)
    }

    /// The site file as the wizard renders it, from the same facts read on the target: static
    /// when STATIC_ROOT exists, the TLS block when the certificate exists, and the sticky
    /// redirect/headers features recorded in the file (or added by this step).
    static func siteTasks(_ l: AppLayout, adding: Set<SiteFeature>, templates: TemplateSource) throws -> [ExportTask] {
        var context: [String: ExportValue] = [:]
        for (k, v) in NginxStage.siteContext(l, static: false) {
            if let s = v as? String { context[k] = .text(s) } else if let b = v as? Bool { context[k] = .flag(b) }
        }
        let cert = certificateExists(l)
        context["static"] = .fact(staticRootExists(l))
        context["tls"] = .fact(cert)
        context["cert_dir"] = .text(CertPaths(domain: l.domain).liveDir)
        context["permissions_policy"] = .text(SiteFeatures.permissionsPolicy)
        context["reject_handshake"] = .fact(nginxRejectsHandshake)
        // recorded (sticky) or added here; effective only with the certificate
        var recorded: [SiteFeature: ExportFact?] = [:]
        for f in SiteFeature.allCases {
            recorded[f] = adding.contains(f) ? .some(nil) : .some(siteHas(f, l))
            if let fact = recorded[f] ?? nil {
                context[f.rawValue] = .fact(both("\(f.rawValue)_on", [cert, fact]))
            } else {
                context[f.rawValue] = .fact(cert)
            }
        }
        // the features line: one of its possible texts, chosen by the recorded facts
        var content = try ExportContent.template("nginx/site.conf", context, templates: templates)
        if case .tree(let name, var nodes, var values) = content {
            let all = SiteFeature.allCases.sorted()
            var replacement: [TemplateNode] = []
            for mask in 1 ..< (1 << all.count) {
                let on = all.enumerated().filter { mask & (1 << $0.offset) != 0 }.map(\.element)
                let off = all.filter { !on.contains($0) }
                // a combination this step rules out (it adds a feature that is off) never renders
                if off.contains(where: adding.contains) { continue }
                let needOn = on.compactMap { recorded[$0] ?? nil }, needOff = off.compactMap { recorded[$0] ?? nil }
                let key = "features_" + on.map(\.rawValue).joined(separator: "_")
                values[key] = needOn.isEmpty && needOff.isEmpty ? .flag(true) : .fact(both(key, needOn, not: needOff))
                replacement.append(.section(name: key, inverted: false, body: [
                    .line([.text(SiteFeatures.linePrefix + on.map(\.rawValue).joined(separator: " "))]),
                ]))
            }
            nodes = nodes.flatMap { n -> [TemplateNode] in
                if case .section("features_line", false, _) = n { return replacement }
                return [n]
            }
            values["features_line"] = nil
            content = .tree(name: name, nodes: nodes, values: values)
        }
        return [
            .file(path: l.nginxSite, content: content, mode: 0o644, owner: "root", group: "root",
                  validate: validateSite, notify: [.reloadNginx]),
            .symlink(path: l.nginxSiteLink, target: l.nginxSite, notify: [.reloadNginx]),
            .absent(path: NginxStage.defaultSiteLink, notify: [.reloadNginx]),
            .serviceStarted("nginx"),
        ]
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    static func tasks(_ id: StepID, _ l: AppLayout, _ inputs: Inputs, _ templates: TemplateSource) throws -> [ExportTask]? {
        let serverIP = inputs.value(.serverIP) ?? "SERVER_IP"
        let cidr = inputs.value(.operatorCIDR)
        func firewall(_ phase: FirewallPhase) -> [ExportTask] {
            let rules = FirewallRules.desired(phase, operatorCIDR: cidr, serverIP: serverIP, sshPort: inputs.sshPort)
            return [.note("operator side (cloud firewall, provider \(inputs.value(.firewallProvider) ?? "manual")): the inbound rules must be exactly:\n"
                          + FirewallRules.table(rules).joined(separator: "\n"))]
        }
        let gunicornDir = (l.gunicornConfig as NSString).deletingLastPathComponent
        let prod = l.profile("prod"), dev = l.profile("dev")
        switch id.rawValue {
        case "firewall.dev": return firewall(.dev)
        case "nginx.firewall": return firewall(.nginx)
        case "https-cert.firewall": return firewall(.https)
        case "go-live.firewall": return firewall(.golive)
        case "static-ip.address":
            return [.note("operator side: the server keeps the address \(serverIP) (a static IP reserved with the cloud provider)")]
        case "dns.a-records":
            return [.note("operator side: A records \(ref("domain")) and www.\(ref("domain")) → \(serverIP) (check: dig +short A \(ref("domain")))")]
        case "django.app-user":
            return [.systemUser(name: l.user, home: l.home)]
        case "django.own-project":
            return [.note("sample app: the project is created by django.project (nothing to copy)")]
        case "django.python":
            return [.packages(["python3", "python3-venv", "curl"], preventServiceStart: false)]
        case "django.venv":
            return [.commands(title: "python3 -m venv \(l.venv)", [DjangoStage.venvCommand(l)],
                              creates: l.venv + "/" + DjangoStage.venvMarker)]
        case "django.packages":
            return [.pip(venv: l.venv, requirements: DjangoStage.pinRequirements(l), user: l.user)]
        case "django.secret-key":
            return [.commands(title: "generate SECRET_KEY on the server (0600, never printed)", [DjangoStage.generateSecretCommand(l)],
                              creates: l.secretFile)]
        case "django.project":
            return [.commands(title: "django-admin startproject", DjangoStage.startProjectCommands(l), creates: l.projectDir + "/project/wsgi.py"),
                    .commands(title: "remove startproject's hard-coded SECRET_KEY", [DjangoStage.stripSecretCommand(l)],
                              onlyIf: Command(["grep", "-q", "^SECRET_KEY = ", l.settingsFile], asRoot: true))]
        case "django.sample-app":
            let files = try DjangoStage.sampleFiles.map { rel -> ExportTask in
                .file(path: l.projectDir + "/" + rel,
                      content: .text(try templates.render("sample-app/" + rel, DjangoStage.sampleContext(l))),
                      mode: 0o644, owner: l.user, group: l.group, notify: [.reloadGunicorn])
            }
            let dirs = Set(DjangoStage.sampleFiles.map { ((l.projectDir + "/" + $0) as NSString).deletingLastPathComponent }).sorted()
            return [.directories(dirs, owner: l.user, group: l.group, mode: 0o755)] + files
        case "django.settings":
            return [.block(path: l.settingsFile, name: "django", body: try DjangoStage.djangoSection(l, templates: templates),
                           notify: [.reloadGunicorn])]
        case "django.migrate":
            return [.commands(title: "manage.py migrate", [l.manage(["migrate", "--noinput"])],
                              unless: l.manage(["migrate", "--check", "--noinput"]))]
        case "django.check":
            // changes nothing: run again only to show Django's report when the check fails
            return [.commands(title: "manage.py check", [l.manage(["check"])], unless: l.manage(["check"]))]
        case "gunicorn.config":
            var ctx: [String: ExportValue] = [:]
            for (k, v) in GunicornStage.configContext(l, systemd: false) { if let s = v as? String { ctx[k] = .text(s) } }
            ctx["daemon"] = .fact(ExportFact(name: "no_systemd", test: ["sh", "-c", "[ ! -d /run/systemd/system ]"]))
            return [.directories([gunicornDir], owner: l.user, group: l.group, mode: 0o755),
                    .file(path: l.gunicornConfig, content: try .template("gunicorn/dev.py", ctx, templates: templates),
                          mode: 0o644, owner: l.user, group: l.group, notify: [.reloadGunicorn])]
        case "gunicorn.dirs":
            return [.directories([l.gunicornLogDir, l.gunicornRunDir], owner: l.user, group: l.group, mode: 0o755)]
        case "gunicorn.unit":
            return [try unitTasks(dev, templates: templates)]
        case "gunicorn.running":
            return runningTasks(dev)
        case "nginx.package":
            return [.packages(["nginx"], preventServiceStart: true)]
        case "nginx.site":
            return try siteTasks(l, adding: [], templates: templates)
        case "static-files.root":
            return [.directories([l.wwwRoot], owner: "root", group: "root", mode: 0o755),
                    .directories([l.staticRoot], owner: l.user, group: l.group, mode: 0o755)]
        case "static-files.settings":
            return [.block(path: l.settingsFile, name: "static-files", body: try StaticFilesStage.section(l, templates: templates),
                           notify: [.reloadGunicorn])]
        case "static-files.collectstatic":
            // skipped when a dry run has nothing to copy (the wizard's check, StaticFilesStage.pending)
            let dryRun = l.manage(["collectstatic", "--noinput", "--dry-run", "-v", "1"])
            let nothingToCopy = Command(["sh", "-c", "o=$(\"$@\") || exit 1; printf '%s\\n' \"$o\" | grep -Eq '^[[:space:]]*0 static files? copied'",
                                         "sh"] + dryRun.argv, asRoot: true)
            return [.commands(title: "manage.py collectstatic", [l.manage(["collectstatic", "--noinput"])], unless: nothingToCopy)]
        case "static-files.gunicorn", "security-headers.gunicorn":
            return [.flushHandlers]
        case "static-files.nginx":
            return try siteTasks(l, adding: [], templates: templates)
        case "https-cert.tls-protocols":
            return [.replaceLines(path: HTTPSCertStage.nginxConf, regex: "^([ \\t]*)ssl_protocols\\b[^;#\\n]*;",
                                  replacement: "\\1" + HTTPSCertStage.protocolsLine, notify: [.reloadNginx])]
        case "https-cert.certbot":
            return [.packages(["certbot", "python3-certbot-nginx"], preventServiceStart: false)]
        case "https-cert.certificate":
            return [.flushHandlers,
                    .commands(title: "certbot certonly --nginx (RSA 4096) for the domain and www",
                              [HTTPSCertStage.certbotCommand(domain: l.domain, email: ref("email"), server: ref("acme_server"), force: false)],
                              creates: CertPaths(domain: l.domain).fullchain)]
        case "https-cert.nginx":
            return try siteTasks(l, adding: [], templates: templates)
        case "https-redirect.nginx":
            return try siteTasks(l, adding: [.redirect], templates: templates)
        case "security-headers.settings":
            return [.block(path: l.settingsFile, name: "security-headers", body: try SecurityHeadersStage.section(l, templates: templates),
                           notify: [.reloadGunicorn])]
        case "security-headers.nginx":
            return try siteTasks(l, adding: [.redirect, .headers], templates: templates)
        case "go-live.settings":
            let body = try templates.render("https/settings-go-live.py", ["hsts_seconds": ref("hsts_final_seconds")])
            return [.block(path: l.settingsFile, name: "go-live", body: ManagedBlock.normalize(body), notify: [.reloadGunicorn])]
        case "go-live.gunicorn-config":
            var ctx: [String: ExportValue] = [:]
            for (k, v) in GoLiveStage.prodContext(l, systemd: false) { if let s = v as? String { ctx[k] = .text(s) } }
            ctx["daemon"] = .fact(ExportFact(name: "no_systemd", test: ["sh", "-c", "[ ! -d /run/systemd/system ]"]))
            return [.directories([gunicornDir], owner: l.user, group: l.group, mode: 0o755),
                    .file(path: l.prodGunicornConfig, content: try .template("gunicorn/prod.py", ctx, templates: templates),
                          mode: 0o644, owner: l.user, group: l.group, notify: [.reloadGunicorn])]
        case "go-live.gunicorn":
            return [.flushHandlers,
                    .when(systemd, negate: true, [
                        .commands(title: "stop the dev gunicorn", [GunicornStage.stopCommand(pidFile: dev.gunicornPidFile)],
                                  onlyIf: gunicornAlive(dev)),
                    ]),
                    .when(systemd, [
                        .commands(title: "stop and disable the dev unit", [Command(["systemctl", "disable", "--now", dev.gunicornUnit], asRoot: true)],
                                  onlyIf: Command(["systemctl", "is-enabled", "--quiet", dev.gunicornUnit], asRoot: true)),
                    ]),
                    try unitTasks(prod, templates: templates)] + runningTasks(prod)
        case "go-live.nginx":
            return try siteTasks(l, adding: [.redirect, .headers], templates: templates)
        case "go-live.renewal":
            let marker = "/var/lib/djdeploy/export-renew-dry-run-" + l.domain
            return [.flushHandlers,
                    .commands(title: "certbot renew --dry-run against the final configuration (once)", [
                        Command(["certbot", "renew", "--dry-run", "--cert-name", l.domain, "--server", ref("acme_server"),
                                 "--no-random-sleep-on-renew", "-n"], asRoot: true),
                        Command(["sh", "-c", "mkdir -p -- \"$(dirname -- \"$1\")\" && date -u > \"$1\"", "sh", marker], asRoot: true),
                    ], creates: marker)]
        case "verify.report":
            return [.note("grade the live site from your machine: djdeploy verify --answers ANSWERS.yaml (A+ expected)")]
        default:
            return nil
        }
    }

    /// The systemd unit for a profile, only where systemd runs.
    static func unitTasks(_ l: AppLayout, templates: TemplateSource) throws -> ExportTask {
        var ctx: [String: any Sendable] = [:]
        for (k, v) in GunicornStage.unitContext(l) { ctx[k] = v }
        let content = try templates.render("gunicorn/gunicorn.service", ctx)
        return .when(systemd, [
            .file(path: GunicornStage.unitPath(l), content: .text(content), mode: 0o644, owner: "root", group: "root"),
            .commands(title: "systemctl daemon-reload and enable \(l.gunicornUnit)",
                      [Command(["systemctl", "daemon-reload"], asRoot: true), ServiceControl.enable(name: l.gunicornUnit)],
                      unless: Command(["systemctl", "is-enabled", "--quiet", l.gunicornUnit], asRoot: true)),
        ])
    }

    /// gunicorn started when it does not run (as a daemon with a pidfile, or its systemd unit);
    /// pending HUPs first.
    /// The dev profile's steps skip once go-live has written prod.py (like the wizard, whose
    /// layout then names the prod profile).
    static func runningTasks(_ l: AppLayout) -> [ExportTask] {
        func unless(_ alive: Command) -> Command {
            guard l.gunicornProfile == "dev" else { return alive }
            return Command(["sh", "-c", "f=$1; shift; [ -f \"$f\" ] || \"$@\"", "sh", l.prodGunicornConfig] + alive.argv, asRoot: true)
        }
        return [.flushHandlers,
                .when(systemd, negate: true, [
                    .commands(title: "start gunicorn (\(l.gunicornConfigRelative))",
                              GunicornStage.startCommands(l, systemd: false) + [GunicornStage.waitForPortCommand(l)],
                              unless: unless(gunicornAlive(l))),
                ]),
                .when(systemd, [
                    .commands(title: "start \(l.gunicornUnit)", GunicornStage.startCommands(l, systemd: true) + [GunicornStage.waitForPortCommand(l)],
                              unless: unless(Command(["systemctl", "is-active", "--quiet", l.gunicornUnit], asRoot: true))),
                ])]
    }
}

/// argv as one shell command line (for composing a test inside `sh -c`).
func shellJoin(_ argv: [String]) -> String {
    argv.map { (try? ShellQuote.quote($0)) ?? displayQuote($0) }.joined(separator: " ")
}
