import Foundation
import StepRunner
import WizardCore

/// Stage 7: static files collected into /var/www/<domain>/static and served by nginx itself;
/// `DEBUG = False`; gunicorn HUP'd so that the settings take effect.
enum StaticFilesStage {
    static let id: StageID = "static-files"
    static let jsPath = "/static/js/greenlight.js"

    static func section(_ l: AppLayout, templates: TemplateSource) throws -> String {
        try templates.render("django/settings-static-files.py", ["static_root": l.staticRoot,
                                                                           // a user's project keeps its own STATICFILES_DIRS
                                                                           "staticfiles_dirs": l.own == nil])
    }

    static func make(_ env: StageEnvironment) -> StageDefinition {
        let templates = TemplateSource(env)
        return StageDefinition(id: id, title: "Static files", steps: [
            root(),
            StepKit.settingsSectionStep(id: "static-files.settings", title: "settings.py: STATIC_ROOT, STATICFILES_DIRS, DEBUG = False",
                                        section: "static-files", templates: templates) { l in
                try section(l, templates: templates)
            },
            collectstatic(),
            GunicornStage.running(id: "static-files.gunicorn", title: "gunicorn reloaded with the new settings (DEBUG off)",
                                  extraVerify: { ctx, l in try await verifyDebugOff(ctx, l) }),
            NginxStage.siteStep(id: "static-files.nginx", title: "nginx: location /static", templates: templates,
                                extraVerify: { ctx, l in try await verifyStatic(ctx, l, templates: templates) }),
        ])
    }

    static func root() -> StepDefinition {
        @Sendable func wrong(_ ctx: StepContext, _ l: AppLayout) async throws -> [String] {
            var out: [String] = []
            for (d, o) in [(l.wwwRoot, "root:root"), (l.staticRoot, "\(l.user):\(l.group)")] {
                guard let f = try await Facts.directory(ctx, d) else { out.append("\(d) missing"); continue }
                if "\(f.owner):\(f.group)" != o || f.mode != "755" { out.append("\(d) is \(f.owner):\(f.group) \(f.mode), want \(o) 755") }
            }
            return out
        }
        return StepDefinition(
            id: "static-files.root", title: "STATIC_ROOT directory", needsRoot: true, reads: StepKit.appInputs,
            check: { ctx in
                let l = try await AppLayout.resolve(ctx)
                let w = try await wrong(ctx, l)
                return w.isEmpty ? .satisfied("\(l.staticRoot) exists, owned by \(l.user), readable by nginx") : .needsChange(w.joined(separator: "; "))
            },
            plan: { ctx in
                let l = try await AppLayout.resolve(ctx)
                return StepPlan(actions: [
                    .command(Command(["install", "-d", "-o", "root", "-g", "root", "-m", "0755", l.wwwRoot], asRoot: true)),
                    .command(Command(["install", "-d", "-o", l.user, "-g", l.group, "-m", "0755", l.staticRoot], asRoot: true)),
                ])
            },
            verify: { ctx in
                let l = try await AppLayout.resolve(ctx)
                let w = try await wrong(ctx, l)
                guard w.isEmpty else { throw StepError.verificationFailed(w.joined(separator: "; ")) }
            })
    }

    /// How many files `collectstatic` would copy (a dry run changes nothing).
    static func pending(_ ctx: StepContext, _ l: AppLayout) async throws -> Int? {
        let r = try await ctx.run(l.manage(["collectstatic", "--noinput", "--dry-run", "-v", "1"]), allowFailure: true)
        guard r.succeeded else { return nil }
        // "N static files copied to '/var/www/…', M unmodified."
        for line in r.stdoutText.split(separator: "\n").reversed() {
            if let m = line.firstMatch(of: /^\s*(\d+) static files? copied/) { return Int(m.1) }
        }
        return nil
    }

    static func collectstatic() -> StepDefinition {
        StepDefinition(
            id: "static-files.collectstatic", title: "manage.py collectstatic", needsRoot: true, reads: StepKit.appInputs,
            check: { ctx in
                let l = try await AppLayout.resolve(ctx)
                let collected = l.own == nil ? ["test", "-f", l.staticRoot + "/js/greenlight.js"]
                    : ["sh", "-c", "[ -n \"$(find \"$1\" -type f -print -quit 2>/dev/null)\" ]", "sh", l.staticRoot]
                guard try await ctx.succeeds(collected, asRoot: true) else {
                    return .needsChange("\(l.staticRoot) has not been collected yet")
                }
                switch try await pending(ctx, l) {
                case 0?: return .satisfied("every static file is already in \(l.staticRoot)")
                case let n?: return .needsChange("\(n) static file\(n == 1 ? "" : "s") to copy")
                case nil: return .needsChange("collectstatic --dry-run did not report (settings not ready?)")
                }
            },
            plan: { ctx in
                let l = try await AppLayout.resolve(ctx)
                return StepPlan(actions: [.command(l.manage(["collectstatic", "--noinput"]))])
            },
            verify: { ctx in
                let l = try await AppLayout.resolve(ctx)
                guard try await pending(ctx, l) == 0 else { throw StepError.verificationFailed("collectstatic still has files to copy") }
            })
    }

    /// The file (relative to STATIC_ROOT) that the static verify requests for a user's project.
    static func collectedFile(_ ctx: StepContext, _ l: AppLayout) async throws -> String {
        let script = """
        cd "$1" || exit 1
        find . -type f -size +0 -printf '%s %P\\n' | LC_ALL=C sort -k1,1n -k2 | head -n 1 | cut -d' ' -f2-
        """
        let r = try await ctx.run(Command(["sh", "-c", script, "sh", l.staticRoot], asRoot: true), allowFailure: true)
        let rel = r.stdoutText.trimmed
        guard r.succeeded, !rel.isEmpty else { throw StepError.verificationFailed("\(l.staticRoot) holds no collected file") }
        return rel
    }

    /// DEBUG is off in the running app: an unknown URL gets a plain 404, not the debug page.
    static func verifyDebugOff(_ ctx: StepContext, _ l: AppLayout) async throws {
        guard let r = try await Facts.http(ctx, url: "http://127.0.0.1:\(l.appPort)/djdeploy-probe-404/", host: l.domain) else {
            throw StepError.verificationFailed("gunicorn does not answer")
        }
        if r.status != 404 || r.body.contains("DEBUG = True") || r.body.contains("URLconf") {
            throw StepError.verificationFailed("an unknown URL answered \(r.status) with Django's debug page: DEBUG is still on in the running app")
        }
    }

    /// greenlight.js is served by nginx from STATIC_ROOT: 200, the same bytes as the template,
    /// `Server: nginx`, and none of the headers Django's middleware adds.
    static func verifyStatic(_ ctx: StepContext, _ l: AppLayout, templates: TemplateSource) async throws {
        let jsPath: String, want: String
        if l.own == nil {
            jsPath = Self.jsPath
            want = SHA256.hex(try templates.renderData("sample-app/static/js/greenlight.js", DjangoStage.sampleContext(l)))
        } else {
            // own project: a file collectstatic produced — the smallest non-empty one under
            // STATIC_ROOT (ties by name): the probe keeps only the last 200 lines of output, so a
            // large file (admin's base.css) would push the response headers out of it
            let rel = try await collectedFile(ctx, l)
            jsPath = "/static/" + rel
            guard let data = try await ctx.readFile(l.staticRoot + "/" + rel, asRoot: true) else {
                throw StepError.verificationFailed("\(l.staticRoot)/\(rel) vanished")
            }
            want = SHA256.hex(data)
        }
        // a reload is asynchronous (new workers take over): poll for a while
        var last: Facts.HTTPResponse?
        for _ in 0 ..< 20 {
            last = try await Facts.http(ctx, url: "http://127.0.0.1\(jsPath)", host: l.domain)
            if let r = last, r.status == 200, r.headers["x-frame-options"] == nil { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        guard let r = last else { throw StepError.verificationFailed("nginx does not answer") }
        guard r.status == 200 else { throw StepError.verificationFailed("GET \(jsPath) answered \(r.status), want 200") }
        guard r.bodySHA256 == want else { throw StepError.verificationFailed("GET \(jsPath) returned other bytes than \(l.own == nil ? "greenlight.js" : "STATIC_ROOT holds")") }
        guard r.headers["server"] == "nginx" else { throw StepError.verificationFailed("GET \(jsPath): Server is not nginx") }
        let django = ["x-frame-options", "x-content-type-options", "referrer-policy", "cross-origin-opener-policy", "vary"]
            .filter { r.headers[$0] != nil }
        guard django.isEmpty else {
            throw StepError.verificationFailed("GET \(jsPath) carries Django's headers (\(django.joined(separator: ", "))): not served by nginx itself")
        }
    }
}
