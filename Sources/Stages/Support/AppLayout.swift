import Foundation
import StepRunner
import WizardCore

/// Package pins per Django LTS. django-csp < 4 reads `CSP_*` settings; django-csp >= 4 reads only
/// the `CONTENT_SECURITY_POLICY` dict (and silently ignores `CSP_*`), so the form rendered must
/// match the pin.
public struct DjangoPins: Sendable, Equatable {
    public enum CSPForm: String, Sendable { case legacySettings, dict }

    public var django: String
    public var gunicorn: String
    public var djangoCSP: String
    public var cspForm: CSPForm

    public static func forVersion(_ v: String) -> DjangoPins {
        switch v {
        // the tutorial's versions
        case "3.2": return DjangoPins(django: "3.2.*", gunicorn: "20.1.*", djangoCSP: "3.8.*", cspForm: .legacySettings)
        // gunicorn 23 (request-smuggling fixes of 22.0/23.0); django-csp 3.8 still supports 4.2
        case "4.2": return DjangoPins(django: "4.2.*", gunicorn: "23.0.*", djangoCSP: "3.8.*", cspForm: .legacySettings)
        default: return DjangoPins(django: "5.2.*", gunicorn: "23.0.*", djangoCSP: "4.0.*", cspForm: .dict)
        }
    }

    /// `name==spec` requirement strings, in install order. gunicorn 20.1 imports `pkg_resources`,
    /// which recent setuptools releases no longer ship: a reinstall (e.g. after an interrupted
    /// install) would otherwise pull a setuptools that breaks it.
    public var requirements: [String] {
        ["django==\(django)", "gunicorn==\(gunicorn)", "django-csp==\(djangoCSP)"]
            + (gunicorn.hasPrefix("20.") ? ["setuptools<70"] : [])
    }

    /// (distribution name as pip reports it, lower-case) → pin
    var byDistribution: [(String, String)] {
        [("django", django), ("gunicorn", gunicorn), ("django-csp", djangoCSP)]
    }

    /// Whether an installed version matches a `X.Y.*` (or exact) pin.
    static func matches(_ version: String, _ pin: String) -> Bool {
        if pin.hasSuffix(".*") {
            let prefix = String(pin.dropLast(2))
            return version == prefix || version.hasPrefix(prefix + ".")
        }
        return version == pin
    }

    /// The rendered CSP settings (for the security-headers stage) in the form this pin reads.
    public func cspSettings(styleSources: [String], templates: TemplateSource) throws -> String {
        switch cspForm {
        case .legacySettings:
            let items = styleSources.map { pythonString($0) }.joined(separator: ", ") + (styleSources.count == 1 ? "," : "")
            return try templates.render("django/csp-legacy.py", ["style_src": items])
        case .dict:
            let items = styleSources.map { $0 == "'self'" ? "SELF" : pythonString($0) }.joined(separator: ", ")
            return try templates.render("django/csp-dict.py", ["style_src": items])
        }
    }
}

/// Where the app lives on the server. Deploying as a dedicated system user (`app_user`, default
/// `django`, no login shell, no sudo) rather than the SSH login user: the process that parses
/// requests cannot touch the sudoer's files or keys.
struct AppLayout: Sendable, Equatable {
    var user: String
    var group: String
    var home: String
    var domain: String
    var djangoVersion: String

    static let projectDirName = "django-gunicorn-nginx"
    var projectDir: String { home + "/" + Self.projectDirName }
    var venv: String { home + "/env" }
    var python: String { venv + "/bin/python" }
    var secretFile: String { home + "/.DJANGO_SECRET_KEY" }
    var settingsFile: String { projectDir + "/project/settings.py" }
    var manage: String { projectDir + "/manage.py" }
    /// The development config file (the gunicorn stage writes it; it stays after go-live).
    var gunicornConfig: String { projectDir + "/config/gunicorn/dev.py" }
    /// Which gunicorn configuration runs: `prod` once go-live has written
    /// config/gunicorn/prod.py (a fact read by `resolve`), else `dev`. The properties below
    /// follow it, so every step that manages the running gunicorn manages the same one.
    var gunicornProfile: String = "dev"
    var gunicornConfigRelative: String { "config/gunicorn/\(gunicornProfile).py" }
    var gunicornLogDir: String { "/var/log/gunicorn" }
    var gunicornRunDir: String { "/var/run/gunicorn" }
    var gunicornPidFile: String { gunicornRunDir + "/\(gunicornProfile).pid" }
    /// dev: one log; prod (the tutorial's prod.py): access.log and error.log.
    var gunicornLogFile: String { gunicornLogDir + (gunicornProfile == "dev" ? "/dev.log" : "/error.log") }
    /// What the running gunicorn was started/reloaded with (hashes only, no secret).
    var gunicornStateFile: String { gunicornRunDir + "/\(gunicornProfile).djdeploy-state" }
    var gunicornUnit: String { "gunicorn-\(gunicornProfile)" }
    var prodGunicornConfig: String { projectDir + "/config/gunicorn/prod.py" }
    /// This layout with the given gunicorn profile.
    func profile(_ p: String) -> AppLayout { var c = self; c.gunicornProfile = p; return c }
    var appPort: Int { 8000 }
    var wwwRoot: String { "/var/www/\(domain)" }
    var staticRoot: String { wwwRoot + "/static" }
    var nginxSite: String { "/etc/nginx/sites-available/\(domain)" }
    var nginxSiteLink: String { "/etc/nginx/sites-enabled/\(domain)" }
    var nginxLoadedState: String { "/var/lib/djdeploy/nginx-\(domain).loaded" }
    var pins: DjangoPins { DjangoPins.forVersion(djangoVersion) }

    /// The layout from inputs plus the user's home on the target (`getent passwd`); a user that
    /// does not exist yet gets `/home/USER` (what `useradd --create-home` will make).
    static func resolve(_ ctx: StepContext) async throws -> AppLayout {
        // TODO(app_source): the user's own project (path on the server, or git URL +
        // requirements.txt, finding the WSGI module) is not written yet; refuse rather than
        // deploy the sample app in its place.
        let source = ctx.input(.appSource) ?? "sample"
        guard source == "sample" else {
            throw StepError.other("app_source \(source) is not supported yet: only the tutorial's sample app (app_source: sample) can be deployed by this version")
        }
        let user = try ctx.require(.appUser)
        let domain = try ctx.require(.domain)
        let version = try ctx.require(.djangoVersion)
        var home = "/home/\(user)"
        var group = user
        let r = try await ctx.run(Command(["getent", "passwd", user], asRoot: false), allowFailure: true)
        if r.succeeded {
            let f = r.stdoutText.trimmed.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            if f.count >= 6, f[5].hasPrefix("/") { home = f[5] }
            let g = try await ctx.run(Command(["id", "-gn", user], asRoot: false), allowFailure: true)
            if g.succeeded, !g.stdoutText.trimmed.isEmpty { group = g.stdoutText.trimmed }
        }
        var layout = AppLayout(user: user, group: group, home: home, domain: domain, djangoVersion: version)
        if r.succeeded, try await ctx.succeeds(["test", "-f", layout.prodGunicornConfig], asRoot: true) {
            layout.gunicornProfile = "prod"
        }
        return layout
    }

    // MARK: commands as the app user

    /// `argv` as the app user (root → `runuser`), in `directory`.
    func asApp(_ argv: [String], in directory: String? = nil, timeout: Duration? = nil) -> Command {
        Command(["runuser", "-u", user, "--", "env", "-C", directory ?? home] + argv, asRoot: true, timeout: timeout)
    }

    /// `argv` as the app user in the project directory with the secret key loaded from
    /// `.DJANGO_SECRET_KEY` on the server (the key never leaves the server).
    func withSecret(_ argv: [String], timeout: Duration? = nil) -> Command {
        let script = "set -a; . \"$1\"; set +a; cd \"$2\" || exit 1; shift 2; exec \"$@\""
        return Command(["runuser", "-u", user, "--", "sh", "-c", script, "sh", secretFile, projectDir] + argv,
                       asRoot: true, timeout: timeout)
    }

    /// `manage.py ARGS` with the venv's python and the secret key.
    func manage(_ args: [String], timeout: Duration? = .seconds(300)) -> Command {
        withSecret([python, "manage.py"] + args, timeout: timeout)
    }
}
