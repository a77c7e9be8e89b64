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

    /// The user's own project (`app_source: path`); nil for the tutorial's sample app.
    var own: OwnProject? = nil

    static let projectDirName = "django-gunicorn-nginx"
    var projectDir: String { own?.projectDir ?? home + "/" + Self.projectDirName }
    var venv: String { home + "/env" }
    var python: String { venv + "/bin/python" }
    var secretFile: String { home + "/.DJANGO_SECRET_KEY" }
    var settingsFile: String { own.map { $0.projectDir + "/" + $0.settingsRelative } ?? projectDir + "/project/settings.py" }
    /// gunicorn's `wsgi_app`.
    var wsgiApp: String { own?.wsgiApp ?? "project.wsgi:application" }
    /// The page the verify steps request: the sample's /myapp/ (must answer 200), or a user
    /// project's root URL (must answer below 400: a redirect to a login page counts).
    var pagePath: String { own == nil ? "/myapp/" : "/" }
    func pageOK(_ status: Int) -> Bool { own == nil ? status == 200 : (200 ..< 400).contains(status) }
    var manage: String { projectDir + "/manage.py" }
    /// The development config file (the gunicorn stage writes it; it stays after go-live).
    var gunicornConfig: String { projectDir + "/config/gunicorn/dev.py" }
    /// Which gunicorn configuration runs: `prod` once go-live has written
    /// config/gunicorn/prod.py (a fact read by `resolve`), else `dev`. The properties below
    /// follow it, so every step that manages the running gunicorn manages the same one.
    var gunicornProfile: String = "dev"
    var gunicornConfigRelative: String { "config/gunicorn/\(gunicornProfile).py" }
    /// A user project gets directories (and a unit name) of its own app user, so that it can
    /// run beside the sample deploy.
    var gunicornLogDir: String { own == nil ? "/var/log/gunicorn" : "/var/log/gunicorn-\(user)" }
    var gunicornRunDir: String { own == nil ? "/var/run/gunicorn" : "/var/run/gunicorn-\(user)" }
    var gunicornPidFile: String { gunicornRunDir + "/\(gunicornProfile).pid" }
    /// dev: one log; prod (the tutorial's prod.py): access.log and error.log.
    var gunicornLogFile: String { gunicornLogDir + (gunicornProfile == "dev" ? "/dev.log" : "/error.log") }
    /// What the running gunicorn was started/reloaded with (hashes only, no secret).
    var gunicornStateFile: String { gunicornRunDir + "/\(gunicornProfile).djdeploy-state" }
    var gunicornUnit: String { own == nil ? "gunicorn-\(gunicornProfile)" : "gunicorn-\(user)-\(gunicornProfile)" }
    var prodGunicornConfig: String { projectDir + "/config/gunicorn/prod.py" }
    /// This layout with the given gunicorn profile.
    func profile(_ p: String) -> AppLayout { var c = self; c.gunicornProfile = p; return c }
    /// Input `app_port` (default 8000): where gunicorn listens on 127.0.0.1/0.0.0.0 and what nginx proxies to.
    var appPort: Int = 8000
    var wwwRoot: String { "/var/www/\(domain)" }
    var staticRoot: String { wwwRoot + "/static" }
    var nginxSite: String { "/etc/nginx/sites-available/\(domain)" }
    var nginxSiteLink: String { "/etc/nginx/sites-enabled/\(domain)" }
    var nginxLoadedState: String { "/var/lib/djdeploy/nginx-\(domain).loaded" }
    var pins: DjangoPins { DjangoPins.forVersion(djangoVersion) }

    static let resolveScript = """
        e=$(getent passwd "$1") || exit 0
        printf 'passwd=%s\\n' "$e"
        g=$(id -gn "$1" 2>/dev/null) && printf 'group=%s\\n' "$g"
        h=$(printf '%s' "$e" | cut -d: -f6)
        if [ -f "$h/$2/config/gunicorn/prod.py" ]; then echo prod=yes; fi
        exit 0
        """

    /// The layout from inputs plus the user's home on the target (`getent passwd`); a user that
    /// does not exist yet gets `/home/USER` (what `useradd --create-home` will make).
    static func resolve(_ ctx: StepContext) async throws -> AppLayout {
        try await resolve(ctx, allowUncloned: false)
    }

    /// `allowUncloned`: for `app_source: git`, a layout even before the clone exists (for the step
    /// that clones); every other step fails with that reason until the clone is there.
    static func resolve(_ ctx: StepContext, allowUncloned: Bool) async throws -> AppLayout {
        let source = ctx.input(.appSource) ?? "sample"
        guard ["sample", "path", "git"].contains(source) else {
            throw StepError.other("app_source \(source) is not supported: use sample, path or git")
        }
        let user = try ctx.require(.appUser)
        let domain = try ctx.require(.domain)
        let version = try ctx.require(.djangoVersion)
        var home = "/home/\(user)"
        var group = user
        // one round trip for the user's facts (every step resolves the layout, so this is paid
        // ~40 times a run): passwd entry, primary group, and whether the sample's prod.py exists
        let r = try await ctx.run(Command(["sh", "-c", resolveScript, "sh", user, projectDirName], asRoot: true), allowFailure: true)
        var userExists = false, sampleProd = false
        for line in r.stdoutText.split(separator: "\n").map(String.init) {
            if line.hasPrefix("passwd=") {
                userExists = true
                let f = line.dropFirst(7).split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                if f.count >= 6, f[5].hasPrefix("/") { home = f[5] }
            } else if line.hasPrefix("group="), line.count > 6 {
                group = String(line.dropFirst(6))
            } else if line == "prod=yes" {
                sampleProd = true
            }
        }
        var layout = AppLayout(user: user, group: group, home: home, domain: domain, djangoVersion: version)
        if let p = ctx.input(.appPort) {
            guard let port = Int(p), (1024 ... 65535).contains(port) else {
                throw StepError.other("app_port \(p) is not a port number in 1024…65535")
            }
            layout.appPort = port
        }
        let requirements = ctx.input(.appRequirements) ?? "requirements.txt"
        if source == "path" {
            let path = try ctx.require(.appPath)
            layout.own = try await OwnProject.discover(ctx, source: path, home: home, requirements: requirements)
        } else if source == "git" {
            let url = try ctx.require(.appGit)
            let dir = home + "/" + OwnProject.repoName(url)
            if try await ctx.succeeds(["test", "-f", dir + "/manage.py"], asRoot: true) {
                var own = try await OwnProject.discover(ctx, source: dir, home: home, requirements: requirements)
                own.gitURL = url
                layout.own = own
            } else if allowUncloned {
                layout.own = OwnProject(source: dir, projectDir: dir, settingsModule: "", settingsRelative: "", wsgiApp: "",
                                        requirements: requirements, gitURL: url)
            } else {
                throw StepError.other("\(url) is not cloned into \(dir) yet (django.own-project clones it), or its root has no manage.py")
            }
        }
        var prod = sampleProd
        if layout.own != nil {
            prod = false
            if userExists { prod = try await ctx.succeeds(["test", "-f", layout.prodGunicornConfig], asRoot: true) }
        }
        if prod { layout.gunicornProfile = "prod" }
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

/// The user's own Django project (`app_source: path`): the directory on the server is copied
/// (`cp -a`) into the app user's home as `~USER/<basename>`, so that the original stays untouched
/// and the app user owns its copy. Everything else is found in the source: `manage.py` at its
/// root, the settings module from manage.py's `DJANGO_SETTINGS_MODULE` default, and the WSGI
/// module `wsgi.py` next to the settings.
struct OwnProject: Sendable, Equatable {
    var source: String
    var projectDir: String
    /// e.g. `ownsite.settings`
    var settingsModule: String
    /// e.g. `ownsite/settings.py`
    var settingsRelative: String
    /// e.g. `ownsite.wsgi:application`
    var wsgiApp: String
    /// relative to the project root
    var requirements: String
    /// `app_source: git`: cloned into `projectDir` (which is then also `source`).
    var gitURL: String? = nil
    var isCloned: Bool { !settingsRelative.isEmpty }

    /// The clone's directory name: the URL's last path component without `.git`.
    static func repoName(_ url: String) -> String {
        var u = url
        while u.hasSuffix("/") { u.removeLast() }
        var name = String(u.split(whereSeparator: { $0 == "/" || $0 == ":" }).last ?? "app")
        if name.hasSuffix(".git") { name.removeLast(4) }
        return name.isEmpty || name == "." || name == ".." ? "app" : name
    }

    var requirementsFile: String { projectDir + "/" + requirements }

    /// `os.environ.setdefault("DJANGO_SETTINGS_MODULE", "x.settings")` (either quote style).
    static func settingsModule(inManagePy text: String) -> String? {
        let re = /DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)['"]/
        return text.firstMatch(of: re).map { String($0.1) }
    }

    static func discover(_ ctx: StepContext, source rawSource: String, home: String, requirements: String) async throws -> OwnProject {
        var src = rawSource
        while src.count > 1, src.hasSuffix("/") { src.removeLast() }
        let name = (src as NSString).lastPathComponent
        guard !name.isEmpty, name != "/", name != ".", name != ".." else {
            throw StepError.other("app_path \(rawSource) does not name a project directory")
        }
        guard let manage = try await ctx.readFile(src + "/manage.py", asRoot: true) else {
            throw StepError.other("\(src)/manage.py does not exist: app_path must be the Django project's root (the directory with manage.py)")
        }
        guard let module = settingsModule(inManagePy: String(decoding: manage, as: UTF8.self)) else {
            throw StepError.other("\(src)/manage.py does not set DJANGO_SETTINGS_MODULE (os.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"…\"))")
        }
        let parts = module.split(separator: ".").map(String.init)
        let settingsRelative = parts.joined(separator: "/") + ".py"
        guard try await ctx.succeeds(["test", "-f", src + "/" + settingsRelative], asRoot: true) else {
            throw StepError.other("the settings module \(module) (\(src)/\(settingsRelative)) does not exist; a settings package (settings/__init__.py) is not supported")
        }
        let package = parts.dropLast()
        guard !package.isEmpty, try await ctx.succeeds(["test", "-f", src + "/" + package.joined(separator: "/") + "/wsgi.py"], asRoot: true) else {
            throw StepError.other("no wsgi.py next to \(settingsRelative) in \(src): cannot find the WSGI module")
        }
        return OwnProject(source: src, projectDir: home + "/" + name, settingsModule: module, settingsRelative: settingsRelative,
                          wsgiApp: package.joined(separator: ".") + ".wsgi:application", requirements: requirements)
    }
}
