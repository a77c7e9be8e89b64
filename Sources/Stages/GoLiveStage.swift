import Foundation
import StepRunner
import WizardCore

/// Stage 11: production. The final firewall (8000 closed), then — only once HTTPS is verified
/// and the operator confirmed it — `DEBUG = False` and the final HSTS max-age, gunicorn switched
/// from the dev config to the tutorial's prod.py (workers = 2 × CPU + 1, bound to 127.0.0.1),
/// the complete nginx file, and a renewal dry run against the final configuration.
enum GoLiveStage {
    static let id: StageID = "go-live"

    static func make(_ env: StageEnvironment) -> StageDefinition {
        let templates = TemplateSource(env)
        return StageDefinition(id: id, title: "Go live", steps: [
            settings(templates),
            StepKit.filesStep(id: "go-live.gunicorn-config", title: "config/gunicorn/prod.py (workers = 2 × CPU + 1, 127.0.0.1:8000)",
                              files: { ctx, l in
                                  let systemd = try await Facts.hasSystemd(ctx)
                                  let spec = FileSpec(path: l.prodGunicornConfig,
                                                      content: try templates.renderData("gunicorn/prod.py", prodContext(l, systemd: systemd)),
                                                      owner: l.user, group: l.group)
                                  return ([(l.prodGunicornConfig as NSString).deletingLastPathComponent], [spec])
                              }),
            gunicorn(templates),
            NginxStage.siteStep(id: "go-live.nginx", title: "nginx: the complete final site file",
                                templates: templates, adding: [.redirect, .headers],
                                extraVerify: { ctx, l in
                                    try await HTTPSProbe.verifyTLS(ctx, l)
                                    try await HTTPSRedirectStage.verifyRedirect(ctx, l)
                                    try await HTTPSProbe.verifyHeaders(ctx, l, django: true, nginx: true)
                                }),
            renewal(),
        ])
    }

    // MARK: settings

    static func settingsBody(_ ctx: StepContext, templates: TemplateSource) throws -> String {
        try templates.render("https/settings-go-live.py", ["hsts_seconds": try ctx.require(.hstsFinalSeconds)])
    }

    static func settings(_ templates: TemplateSource) -> StepDefinition {
        // the section body needs an input, which settingsSectionStep's body closure does not see:
        // build one step per call from the context
        @Sendable func inner(_ ctx: StepContext) throws -> StepDefinition {
            let body = try settingsBody(ctx, templates: templates)
            return StepKit.settingsSectionStep(id: "go-live.settings", title: "", section: "go-live", templates: templates) { _ in body }
        }
        return StepDefinition(
            id: "go-live.settings", title: "settings.py: DEBUG = False, final HSTS max-age (after HTTPS is verified)",
            needsRoot: true, reads: StepKit.appInputs + [.hstsFinalSeconds],
            confirmation: "raise HSTS to its final max-age (hsts_final_seconds, default 30 days): browsers that see it will refuse plain HTTP for the domain and all its subdomains for that long, and it cannot be taken back.",
            check: { ctx in try await inner(ctx).check(ctx) },
            plan: { ctx in
                var p = try await inner(ctx).plan(ctx)
                p.notes.append("first, HTTPS must answer 200 with a verified chain and the 30 s HSTS header; otherwise nothing is changed")
                return p
            },
            apply: { ctx in
                let l = try await AppLayout.resolve(ctx)
                // only after HTTPS is verified
                try await HTTPSProbe.verifyTLS(ctx, l)
                try await HTTPSProbe.verifyHeaders(ctx, l, django: true, nginx: false)
                try await ctx.execute(try await inner(ctx).plan(ctx))
            },
            verify: { ctx in
                try await inner(ctx).verify?(ctx)
                let l = try await AppLayout.resolve(ctx)
                // DEBUG is off as Django sees it, and the deployment checklist passes
                let r = try await ctx.run(l.manage(["shell", "-c", "from django.conf import settings; print('DEBUG', settings.DEBUG)"]))
                guard r.stdoutText.split(separator: "\n").contains("DEBUG False") else {
                    throw StepError.verificationFailed("settings.DEBUG is not False")
                }
                try await ctx.run(l.manage(["check", "--deploy", "--fail-level", "WARNING"]))
            })
    }

    // MARK: gunicorn prod

    static func prodContext(_ l: AppLayout, systemd: Bool) -> [String: any Sendable] {
        let p = l.profile("prod")
        return ["wsgi_app": l.wsgiApp, "bind": "127.0.0.1:\(l.appPort)",
                "access_log": p.gunicornLogDir + "/access.log", "error_log": p.gunicornLogFile,
                "pid_file": p.gunicornPidFile, "daemon": !systemd]
    }

    /// Stops the dev gunicorn (if it still runs) and runs prod.py: started when stopped, HUP'd when
    /// the code or settings changed since (settings take effect only after HUP).
    static func gunicorn(_ templates: TemplateSource) -> StepDefinition {
        @Sendable func layouts(_ ctx: StepContext) async throws -> (dev: AppLayout, prod: AppLayout, systemd: Bool) {
            let l = try await AppLayout.resolve(ctx)
            return (l.profile("dev"), l.profile("prod"), try await Facts.hasSystemd(ctx))
        }
        @Sendable func devPID(_ ctx: StepContext, _ dev: AppLayout, systemd: Bool) async throws -> Int? {
            if systemd {
                let r = try await ctx.run(Command(["systemctl", "show", "-p", "MainPID", "--value", dev.gunicornUnit], asRoot: false),
                                          allowFailure: true)
                return Int(r.stdoutText.trimmed).flatMap { $0 > 0 ? $0 : nil }
            }
            return try await Facts.livePID(ctx, pidFile: dev.gunicornPidFile, commandContains: "gunicorn")
        }
        @Sendable func plan(_ ctx: StepContext) async throws -> StepPlan {
            let (dev, prod, systemd) = try await layouts(ctx)
            var cmds: [Command] = []
            var actions: [PlannedAction] = []
            if let pid = try await devPID(ctx, dev, systemd: systemd) {
                cmds += systemd ? [Command(["systemctl", "disable", "--now", dev.gunicornUnit], asRoot: true)]
                    : [GunicornStage.stopCommand(dev, pid: pid)]
            }
            if systemd {
                let unit = FileSpec(path: GunicornStage.unitPath(prod),
                                    content: try templates.renderData("gunicorn/gunicorn.service", GunicornStage.unitContext(prod)),
                                    owner: "root", group: "root")
                actions.append(.file(try await ctx.fileChange(unit.path, content: unit.content, mode: 0o644, owner: "root", group: "root", asRoot: true)))
                cmds += [Command(["systemctl", "daemon-reload"], asRoot: true), ServiceControl.enable(name: prod.gunicornUnit)]
            }
            switch try await GunicornStage.state(ctx, prod, systemd: systemd) {
            case .stopped:
                cmds += GunicornStage.startCommands(prod, systemd: systemd)
            case .stale(let pid, let secretChanged):
                if secretChanged {
                    cmds += systemd ? [Command(["systemctl", "restart", prod.gunicornUnit], asRoot: true)]
                        : [GunicornStage.stopCommand(prod, pid: pid)] + GunicornStage.startCommands(prod, systemd: false)
                } else {
                    cmds += systemd ? [Command(["systemctl", "reload", prod.gunicornUnit], asRoot: true)]
                        : [Command(["kill", "-HUP", String(pid)], asRoot: true)]
                }
            case .current(let pid):
                cmds += systemd ? [Command(["systemctl", "restart", prod.gunicornUnit], asRoot: true)]
                    : [GunicornStage.stopCommand(prod, pid: pid)] + GunicornStage.startCommands(prod, systemd: false)
            }
            cmds += [GunicornStage.waitForPortCommand(prod), GunicornStage.recordCommand(prod)]
            return StepPlan(actions: actions + cmds.map { .command($0) },
                            notes: ["the dev gunicorn (config/gunicorn/dev.py, 0.0.0.0:\(dev.appPort)) stops; prod.py listens on 127.0.0.1:\(prod.appPort)"])
        }
        return StepDefinition(
            id: "go-live.gunicorn", title: "gunicorn runs prod.py (the dev server stopped)", needsRoot: true, reads: StepKit.appInputs,
            check: { ctx in
                let (dev, prod, systemd) = try await layouts(ctx)
                if let pid = try await devPID(ctx, dev, systemd: systemd) { return .needsChange("the dev gunicorn (pid \(pid)) still runs") }
                switch try await GunicornStage.state(ctx, prod, systemd: systemd) {
                case .stopped: return .needsChange("gunicorn (prod.py) is not running")
                case .stale(let pid, _): return .needsChange("gunicorn (prod.py, pid \(pid)) runs older code or settings")
                case .current(let pid):
                    guard let r = try await Facts.http(ctx, url: "http://127.0.0.1:\(prod.appPort)\(prod.pagePath)", host: prod.domain), prod.pageOK(r.status) else {
                        return .needsChange("gunicorn (prod.py, pid \(pid)) runs but \(prod.pagePath) does not answer \(prod.own == nil ? "200" : "below 400")")
                    }
                    return .satisfied("gunicorn (prod.py, pid \(pid)) runs the current code and settings on 127.0.0.1:\(prod.appPort)")
                }
            },
            plan: plan,
            verify: { ctx in
                let (dev, prod, systemd) = try await layouts(ctx)
                if let pid = try await devPID(ctx, dev, systemd: systemd) { throw StepError.verificationFailed("the dev gunicorn (pid \(pid)) still runs") }
                guard case .current = try await GunicornStage.state(ctx, prod, systemd: systemd) else {
                    throw StepError.verificationFailed("gunicorn (prod.py) is not running the current code")
                }
                try await GunicornStage.verifyApp(ctx, prod, port: prod.appPort)
                // bound to loopback only
                let r = try await ctx.run(Command(["sh", "-c", "ss -Hltn 'sport = :'\"$1\" 2>/dev/null | awk '{print $4}'", "sh", String(prod.appPort)],
                                                  asRoot: false), allowFailure: true)
                let listeners = r.stdoutText.split(separator: "\n").map { String($0).trimmed }
                if let wide = listeners.first(where: { !$0.hasPrefix("127.0.0.1:") }) {
                    throw StepError.verificationFailed("port \(prod.appPort) listens on \(wide), want 127.0.0.1 only")
                }
            })
    }

    // MARK: renewal

    /// `certbot renew --dry-run` against the final nginx file (the redirect must not break the
    /// HTTP-01 challenge). Recorded on the server with the hashes it ran against, so that a
    /// re-run is a noop until the site file or the renewal configuration changes.
    static func renewalMarker(_ domain: String) -> String { "/var/lib/djdeploy/certbot-\(domain).renew-dry-run" }

    static func renewal() -> StepDefinition {
        @Sendable func fingerprint(_ ctx: StepContext, _ l: AppLayout) async throws -> String {
            let paths = CertPaths(domain: l.domain)
            let facts = try await Facts.files(ctx, [paths.renewalConf, l.nginxSite])
            return "server=\(HTTPSProbe.acmeServer(ctx)) renewal=\(facts[paths.renewalConf]?.sha256 ?? "-") site=\(facts[l.nginxSite]?.sha256 ?? "-")"
        }
        @Sendable func command(_ ctx: StepContext, _ l: AppLayout) -> Command {
            Command(["certbot", "renew", "--dry-run", "--cert-name", l.domain, "--server", HTTPSProbe.acmeServer(ctx),
                     "--no-random-sleep-on-renew", "-n"], asRoot: true, timeout: .seconds(600))
        }
        return StepDefinition(
            id: "go-live.renewal", title: "certbot renew --dry-run against the final configuration", needsRoot: true,
            reads: [.domain, .acmeServer],
            check: { ctx in
                let l = try await AppLayout.resolve(ctx)
                let want = try await fingerprint(ctx, l)
                let have = try await ctx.readFile(renewalMarker(l.domain), asRoot: true).map { String(decoding: $0, as: UTF8.self).trimmed }
                if have == want { return .satisfied("a renewal dry run passed with the current site file and renewal configuration") }
                return .needsChange(have == nil ? "no renewal dry run yet" : "the site file or the renewal configuration changed since the last dry run")
            },
            plan: { ctx in
                let l = try await AppLayout.resolve(ctx)
                return StepPlan(actions: [.command(command(ctx, l))],
                                notes: ["the dry run asks the ACME server (staging for Let's Encrypt) for a test certificate; nothing is saved",
                                        "no cron or systemd timer is set up by djdeploy: Debian's certbot package installs both"])
            },
            apply: { ctx in
                let l = try await AppLayout.resolve(ctx)
                try await ctx.run(command(ctx, l))
                let fp = try await fingerprint(ctx, l)
                try await ctx.writeFile(renewalMarker(l.domain), contents: Data((fp + "\n").utf8), mode: 0o644, owner: "root", group: "root", asRoot: true)
            },
            verify: { ctx in
                let l = try await AppLayout.resolve(ctx)
                let have = try await ctx.readFile(renewalMarker(l.domain), asRoot: true).map { String(decoding: $0, as: UTF8.self).trimmed }
                guard have == (try await fingerprint(ctx, l)) else { throw StepError.verificationFailed("no passed dry run recorded") }
            })
    }
}
