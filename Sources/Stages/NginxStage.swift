import Foundation
import StepRunner
import WizardCore

/// Stage 6: nginx in front of gunicorn — installed without starting the stock site, the site
/// file from a template + its symlink, Debian's default site disabled, `server_tokens off`,
/// `nginx -t` before start-or-reload; a failing test puts the previous files back and leaves the
/// running nginx on its old configuration.
enum NginxStage {
    static let id: StageID = "nginx"
    static let pidFile = "/run/nginx.pid"
    static let defaultSiteLink = "/etc/nginx/sites-enabled/default"

    static func make(_ env: StageEnvironment) -> StageDefinition {
        let templates = TemplateSource(env)
        return StageDefinition(id: id, title: "Nginx", steps: [
            Apt.step(id: "nginx.package", title: "nginx from apt (not started with the stock site)", packages: ["nginx"],
                     preventServiceStart: true),
            siteStep(id: "nginx.site", title: "Site file, symlink, default site off, nginx -t, start or reload",
                     templates: templates),
        ])
    }

    /// The site file's features come from facts, so that every step that renders it (nginx.site,
    /// static-files.nginx) wants the same file: `location /static` once STATIC_ROOT exists.
    /// The HTTPS stages' features (TLS server block, redirect, headers) come from facts too, and
    /// a step may add one (`adding`): see `SiteFeatures`.
    static func siteContent(_ ctx: StepContext, _ l: AppLayout, templates: TemplateSource,
                            adding: Set<SiteFeature> = []) async throws -> Data {
        let hasStatic = try await ctx.succeeds(["test", "-d", l.staticRoot], asRoot: true)
        var context = siteContext(l, static: hasStatic)
        context.merge(try await SiteFeatures.context(ctx, l, adding: adding)) { _, new in new }
        return try templates.renderData("nginx/site.conf", context)
    }

    static func siteContext(_ l: AppLayout, static hasStatic: Bool) -> [String: any Sendable] {
        ["domain": l.domain, "app_port": String(l.appPort), "static": hasStatic, "static_root": l.staticRoot,
         // a user's project may share nginx with another djdeploy site: `server_tokens off` at the
         // top of two site files is a duplicate directive, so it goes into its server blocks
         "tokens_in_server": l.own != nil]
    }

    struct SiteFacts: Sendable {
        var problems: [String]
        var running: Bool
        var systemd: Bool
        var content: Data
    }

    static func facts(_ ctx: StepContext, _ l: AppLayout, templates: TemplateSource,
                      adding: Set<SiteFeature> = []) async throws -> SiteFacts {
        let content = try await siteContent(ctx, l, templates: templates, adding: adding)
        var problems = try await StepKit.differing(ctx, [FileSpec(path: l.nginxSite, content: content, owner: "root", group: "root")])
        if try await Facts.symlinkTarget(ctx, l.nginxSiteLink) != l.nginxSite { problems.append("\(l.nginxSiteLink) is not a symlink to \(l.nginxSite)") }
        if try await ctx.succeeds(["sh", "-c", "[ -e \"$1\" ] || [ -L \"$1\" ]", "sh", defaultSiteLink], asRoot: true) {
            problems.append("the default site is enabled")
        }
        let systemd = try await Facts.hasSystemd(ctx)
        let running = try await ServiceControl.isRunning(ctx, name: "nginx", systemd: systemd, pidFile: pidFile)
        if !running { problems.append("nginx is not running") }
        let loaded = try await ctx.readFile(l.nginxLoadedState, asRoot: true).map { String(decoding: $0, as: UTF8.self).trimmed }
        if running, problems.isEmpty, loaded != SHA256.hex(content) { problems.append("nginx has not loaded the current site file") }
        return SiteFacts(problems: problems, running: running, systemd: systemd, content: content)
    }

    static func recordLoadedCommand(_ l: AppLayout, sha: String) -> Command {
        Command(["sh", "-c", "mkdir -p -- \"$(dirname -- \"$1\")\" && printf '%s\\n' \"$2\" > \"$1\"", "sh", l.nginxLoadedState, sha],
                asRoot: true)
    }

    static func siteStep(id: StepID, title: String, templates: TemplateSource, adding: Set<SiteFeature> = [],
                         extraVerify: (@Sendable (StepContext, AppLayout) async throws -> Void)? = nil) -> StepDefinition {
        @Sendable func plan(_ ctx: StepContext) async throws -> (AppLayout, SiteFacts, StepPlan) {
            let l = try await AppLayout.resolve(ctx)
            let f = try await facts(ctx, l, templates: templates, adding: adding)
            return (l, f, try await sitePlan(ctx, l, f))
        }
        return StepDefinition(
            id: id, title: title, needsRoot: true, reads: [.domain, .appUser, .djangoVersion],
            check: { ctx in
                let l = try await AppLayout.resolve(ctx)
                let f = try await facts(ctx, l, templates: templates, adding: adding)
                if f.problems.isEmpty {
                    return .satisfied("\(l.nginxSite) is current (sha256 \(SHA256.hex(f.content).prefix(12))…), enabled, loaded by the running nginx")
                }
                return .needsChange(f.problems.joined(separator: "; "))
            },
            plan: { ctx in try await plan(ctx).2 },
            apply: { ctx in
                let (l, f, p) = try await plan(ctx)
                try await applyWithRollback(ctx, l, f, p)
            },
            verify: { ctx in
                let l = try await AppLayout.resolve(ctx)
                try await verifySite(ctx, l)
                try await extraVerify?(ctx, l)
            })
    }

    /// The site file, its symlink, no default site, `nginx -t`, start or reload, record what is loaded.
    static func sitePlan(_ ctx: StepContext, _ l: AppLayout, _ f: SiteFacts) async throws -> StepPlan {
        StepPlan(actions: [
            .file(try await ctx.fileChange(l.nginxSite, content: f.content, mode: 0o644, owner: "root", group: "root", asRoot: true)),
            .command(Command(["ln", "-sfn", l.nginxSite, l.nginxSiteLink], asRoot: true)),
            .command(Command(["rm", "-f", defaultSiteLink], asRoot: true)),
            .command(Command(["nginx", "-t", "-q"], asRoot: true)),
            .command(ServiceControl.startOrReload(name: "nginx", running: f.running, systemd: f.systemd)),
            .command(recordLoadedCommand(l, sha: SHA256.hex(f.content))),
        ], notes: ["when `nginx -t` fails, the previous site file, symlink and default site are put back and nginx is not reloaded"])
    }

    /// Renders the site file again from the facts on the server and applies it (with rollback).
    static func renderAndApply(_ ctx: StepContext, templates: TemplateSource) async throws {
        let l = try await AppLayout.resolve(ctx)
        let f = try await facts(ctx, l, templates: templates)
        try await applyWithRollback(ctx, l, f, try await sitePlan(ctx, l, f))
    }

    /// Writes the site, enables it, disables the default site, tests; on a failed test puts
    /// everything back as it was (nginx keeps serving its old configuration) and fails.
    static func applyWithRollback(_ ctx: StepContext, _ l: AppLayout, _ f: SiteFacts, _ p: StepPlan) async throws {
        let oldLink = try await Facts.symlinkTarget(ctx, l.nginxSiteLink)
        let oldDefault = try await Facts.symlinkTarget(ctx, defaultSiteLink)
        let hadDefaultFile = oldDefault == nil ? try await Facts.exists(ctx, defaultSiteLink) : false
        guard !hadDefaultFile else {
            throw StepError.other("\(defaultSiteLink) is a regular file, not a symlink: move it away by hand (djdeploy only removes the symlink)")
        }
        let w = try await ctx.writeFile(l.nginxSite, contents: f.content, mode: 0o644, owner: "root", group: "root", asRoot: true)
        try await ctx.run(Command(["ln", "-sfn", l.nginxSite, l.nginxSiteLink], asRoot: true))
        try await ctx.run(Command(["rm", "-f", defaultSiteLink], asRoot: true))
        let test = try await ctx.run(Command(["nginx", "-t", "-q"], asRoot: true), allowFailure: true)
        guard test.succeeded else {
            ctx.log("nginx -t failed: restoring the previous configuration; nginx is not reloaded")
            if w.changed {
                if let b = w.backupPath {
                    try await ctx.runner.restore(backup: b, to: l.nginxSite, asRoot: true)
                } else {
                    try await ctx.run(Command(["rm", "-f", l.nginxSite], asRoot: true))
                }
            }
            if let oldLink {
                try await ctx.run(Command(["ln", "-sfn", oldLink, l.nginxSiteLink], asRoot: true))
            } else {
                try await ctx.run(Command(["rm", "-f", l.nginxSiteLink], asRoot: true))
            }
            if let oldDefault { try await ctx.run(Command(["ln", "-sfn", oldDefault, defaultSiteLink], asRoot: true)) }
            let err = (test.stderrText + "\n" + test.stdoutText).split(separator: "\n").suffix(5).joined(separator: "\n")
            throw StepError.commandFailed(argv: ["nginx", "-t", "-q"], termination: test.termination, stderr: err)
        }
        for c in p.commands.dropFirst(3) { try await ctx.run(c) }
    }

    /// GET /myapp/ through nginx → 200 with `Server: nginx` (no version: server_tokens off).
    static func verifySite(_ ctx: StepContext, _ l: AppLayout) async throws {
        var last: Facts.HTTPResponse?
        for _ in 0 ..< 20 {
            last = try await Facts.http(ctx, url: "http://127.0.0.1\(l.pagePath)", host: l.domain)
            // after https-redirect, port 80 answers 307: check the same page over HTTPS
            if let r = last, r.status == 307, r.headers["location"] == "https://\(l.domain)\(l.pagePath)" {
                last = try await HTTPSProbe.get(ctx, l, path: l.pagePath)
            }
            if let s = last?.status, l.pageOK(s) { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        guard let r = last, l.pageOK(r.status) else {
            throw StepError.verificationFailed("GET http://127.0.0.1\(l.pagePath) (Host: \(l.domain)) answered \(last.map { String($0.status) } ?? "nothing"), want \(l.own == nil ? "200" : "200…399")")
        }
        guard r.headers["server"] == "nginx" else {
            throw StepError.verificationFailed("the Server header is \(r.headers["server"].map { "\"\($0)\"" } ?? "absent"), want \"nginx\" (server_tokens off)")
        }
    }
}
