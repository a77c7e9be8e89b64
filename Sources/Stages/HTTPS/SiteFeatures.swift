import Foundation
import StepRunner
import WizardCore

/// What the HTTPS stages add to the one nginx site file. The site file is rendered by several
/// steps (nginx.site, static-files.nginx, https-cert.nginx, https-redirect.nginx, …); each must
/// want the same file, or re-running an earlier step after a later one would roll the later one
/// back. So the file's features come from facts on the server:
/// - `tls`: the certificate lineage and certbot's nginx TLS options exist (a TLS server block
///   naming missing files would fail `nginx -t`);
/// - `redirect`, `headers`: sticky. The step that introduces one records it in the site file
///   itself (`# djdeploy site features: …`); every later render keeps what is recorded there.
///   They take effect only with `tls`.
enum SiteFeature: String, CaseIterable, Sendable, Comparable {
    /// Port 80 answers 307 to https; unknown host names get no answer (444, TLS handshake refused).
    case redirect
    /// nginx adds Permissions-Policy to HTTPS answers (Django has no setting for it).
    case headers

    static func < (a: SiteFeature, b: SiteFeature) -> Bool { a.rawValue < b.rawValue }
}

/// Where certbot keeps the certificate for a domain (the lineage is named after the domain:
/// `--cert-name DOMAIN`).
struct CertPaths: Sendable {
    var domain: String
    var liveDir: String { "/etc/letsencrypt/live/\(domain)" }
    var fullchain: String { liveDir + "/fullchain.pem" }
    var privkey: String { liveDir + "/privkey.pem" }
    var cert: String { liveDir + "/cert.pem" }
    var chain: String { liveDir + "/chain.pem" }
    var renewalConf: String { "/etc/letsencrypt/renewal/\(domain).conf" }
    static let nginxOptions = "/etc/letsencrypt/options-ssl-nginx.conf"
    static let dhparams = "/etc/letsencrypt/ssl-dhparams.pem"
    /// Every file the TLS server block names.
    var tlsFiles: [String] { [fullchain, privkey, Self.nginxOptions, Self.dhparams] }
}

enum SiteFeatures {
    static let linePrefix = "# djdeploy site features: "
    static let permissionsPolicy =
        "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"
    /// `ssl_reject_handshake` appeared in nginx 1.19.4.
    static let rejectHandshakeSince = [1, 19, 4]

    struct State: Sendable, Equatable {
        var recorded: Set<SiteFeature>
        var tls: Bool
        var nginxVersion: [Int]?
    }

    /// One command: the features recorded in the site file, whether the TLS files exist, and
    /// nginx's version.
    static func state(_ ctx: StepContext, _ l: AppLayout) async throws -> State {
        let script = """
        site=$1; shift
        f=$(sed -n 's/^# djdeploy site features: //p' "$site" 2>/dev/null | head -n 1)
        printf 'features=%s\\n' "$f"
        t=yes; for p in "$@"; do [ -s "$p" ] || t=no; done
        printf 'tls=%s\\n' "$t"
        v=$(nginx -v 2>&1 | sed -n 's|^.*nginx/\\([0-9.]*\\).*$|\\1|p')
        printf 'nginx=%s\\n' "$v"
        """
        let paths = CertPaths(domain: l.domain)
        let r = try await ctx.run(Command(["sh", "-c", script, "sh", l.nginxSite] + paths.tlsFiles, asRoot: true))
        var s = State(recorded: [], tls: false, nginxVersion: nil)
        for line in r.stdoutText.split(separator: "\n") {
            if line.hasPrefix("features=") {
                s.recorded = Set(line.dropFirst("features=".count).split(separator: " ").compactMap { SiteFeature(rawValue: String($0)) })
            } else if line == "tls=yes" {
                s.tls = true
            } else if line.hasPrefix("nginx=") {
                let v = line.dropFirst("nginx=".count).split(separator: ".").compactMap { Int($0) }
                s.nginxVersion = v.isEmpty ? nil : v
            }
        }
        return s
    }

    static func versionAtLeast(_ v: [Int], _ min: [Int]) -> Bool {
        for i in 0 ..< max(v.count, min.count) {
            let a = i < v.count ? v[i] : 0, b = i < min.count ? min[i] : 0
            if a != b { return a > b }
        }
        return true
    }

    /// The template values for a state plus the features a step adds.
    static func context(_ s: State, adding: Set<SiteFeature>, domain: String) -> [String: any Sendable] {
        let features = s.recorded.union(adding)
        var c: [String: any Sendable] = [
            "tls": s.tls,
            "redirect": s.tls && features.contains(.redirect),
            "headers": s.tls && features.contains(.headers),
            "reject_handshake": s.nginxVersion.map { versionAtLeast($0, rejectHandshakeSince) } ?? false,
            "cert_dir": CertPaths(domain: domain).liveDir,
            "permissions_policy": permissionsPolicy,
        ]
        // no line at all until a feature is recorded: the plain HTTP site stays as it was
        if !features.isEmpty { c["features_line"] = features.sorted().map(\.rawValue).joined(separator: " ") }
        return c
    }

    static func context(_ ctx: StepContext, _ l: AppLayout, adding: Set<SiteFeature>) async throws -> [String: any Sendable] {
        context(try await state(ctx, l), adding: adding, domain: l.domain)
    }
}
