import Foundation
import Testing
@testable import Stages

/// The HTTPS stages' pure parts: the nginx.conf edit, the site file's features, the rendered
/// files (golden), the certificate facts.
@Suite struct HTTPSTests {
    let templates = TemplateSource()

    // MARK: ssl_protocols

    @Test func protocolsLineReplacedKeepingIndentAndComment() {
        let conf = "http {\n\tsendfile on;\n\tssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3; # Dropping SSLv3, ref: POODLE\n\tssl_prefer_server_ciphers on;\n}\n"
        let out = HTTPSCertStage.settingProtocols(in: conf)
        #expect(out == "http {\n\tsendfile on;\n\tssl_protocols TLSv1.2 TLSv1.3; # Dropping SSLv3, ref: POODLE\n\tssl_prefer_server_ciphers on;\n}\n")
        // idempotent
        #expect(HTTPSCertStage.settingProtocols(in: out!) == out)
    }

    @Test func commentedProtocolsLineIsLeftAndOneAdded() {
        let conf = "user www-data;\nhttp {\n    # ssl_protocols TLSv1;\n}\n"
        let out = HTTPSCertStage.settingProtocols(in: conf)
        #expect(out == "user www-data;\nhttp {\n\tssl_protocols TLSv1.2 TLSv1.3; # djdeploy: TLS 1.0 and 1.1 off\n    # ssl_protocols TLSv1;\n}\n")
        #expect(HTTPSCertStage.settingProtocols(in: out!) == out)
    }

    @Test func noHTTPBlock() {
        #expect(HTTPSCertStage.settingProtocols(in: "events {}\n") == nil)
    }

    @Test func debianNginxConf() throws {
        // Debian 12's stock file: only the ssl_protocols line changes
        let conf = try String(contentsOfFile: TestPaths.golden + "/https/nginx.conf.debian12", encoding: .utf8)
        let out = try #require(HTTPSCertStage.settingProtocols(in: conf))
        let a = conf.split(separator: "\n", omittingEmptySubsequences: false)
        let b = out.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(a.count == b.count)
        let changed = zip(a, b).filter { $0 != $1 }
        #expect(changed.count == 1)
        #expect(changed.first?.1 == "\tssl_protocols TLSv1.2 TLSv1.3; # Dropping SSLv3, ref: POODLE")
    }

    // MARK: site features

    @Test func versions() {
        #expect(SiteFeatures.versionAtLeast([1, 22, 1], [1, 19, 4]))
        #expect(SiteFeatures.versionAtLeast([1, 19, 4], [1, 19, 4]))
        #expect(!SiteFeatures.versionAtLeast([1, 18, 0], [1, 19, 4]))
        #expect(SiteFeatures.versionAtLeast([2], [1, 19, 4]))
    }

    func site(tls: Bool, recorded: Set<SiteFeature>, adding: Set<SiteFeature> = [], static hasStatic: Bool = true) throws -> String {
        var c = NginxStage.siteContext(sampleLayout, static: hasStatic)
        let s = SiteFeatures.State(recorded: recorded, tls: tls, nginxVersion: [1, 22, 1])
        c.merge(SiteFeatures.context(s, adding: adding, domain: sampleLayout.domain)) { _, n in n }
        return try templates.render("nginx/site.conf", c)
    }

    /// Without TLS and features the HTTPS additions render nothing: the HTTP site is unchanged.
    @Test func plainSiteUnchanged() throws {
        try expectGolden(try site(tls: false, recorded: []), "nginx/site-static.conf")
        try expectGolden(try site(tls: false, recorded: [], static: false), "nginx/site-http.conf")
    }

    @Test func siteGoldens() throws {
        try expectGolden(try site(tls: true, recorded: []), "https/site-tls.conf")
        try expectGolden(try site(tls: true, recorded: [], adding: [.redirect]), "https/site-redirect.conf")
        try expectGolden(try site(tls: true, recorded: [.redirect], adding: [.headers]), "https/site-final.conf")
    }

    /// Features are sticky: an earlier step (adding nothing) renders what a later step recorded,
    /// so re-running it is a noop, not a rollback.
    @Test func earlierStepRendersTheSameFile() throws {
        let final = try site(tls: true, recorded: [.redirect, .headers])
        #expect(final == (try site(tls: true, recorded: [], adding: [.redirect, .headers])))
        #expect(final.contains("# djdeploy site features: headers redirect\n"))
        #expect(final.contains("return 307 https://$host$request_uri;"))
        #expect(final.contains("ssl_reject_handshake on;"))
        #expect(final.contains("add_header Permissions-Policy"))
    }

    /// Without a certificate the redirect cannot be served: the recorded features stay in the
    /// file but the site is plain HTTP.
    @Test func noCertificateNoRedirect() throws {
        let s = try site(tls: false, recorded: [.redirect, .headers])
        #expect(!s.contains("return 307"))
        #expect(!s.contains("listen 443"))
        #expect(s.contains("# djdeploy site features: headers redirect\n"))
    }

    @Test func oldNginxHasNoRejectHandshake() throws {
        var c = NginxStage.siteContext(sampleLayout, static: true)
        c.merge(SiteFeatures.context(.init(recorded: [.redirect], tls: true, nginxVersion: [1, 18, 0]), adding: [],
                                     domain: sampleLayout.domain)) { _, n in n }
        let s = try templates.render("nginx/site.conf", c)
        #expect(!s.contains("ssl_reject_handshake"))
        #expect(s.contains("return 444;"))
    }

    // MARK: settings, gunicorn

    @Test func settingsSections() throws {
        try expectGolden(try SecurityHeadersStage.section(sampleLayout, templates: templates), "https/section-security-headers-3.2.py")
        var l52 = sampleLayout
        l52.djangoVersion = "5.2"
        try expectGolden(try SecurityHeadersStage.section(l52, templates: templates), "https/section-security-headers-5.2.py")
        try expectGolden(try templates.render("https/settings-go-live.py", ["hsts_seconds": "2592000"]), "https/section-go-live.py")
        let s = try SecurityHeadersStage.section(sampleLayout, templates: templates)
        #expect(!s.contains("unsafe-inline"))
        #expect(s.contains("SECURE_HSTS_SECONDS = 30\n"))
    }

    @Test func prodConfig() throws {
        try expectGolden(try templates.render("gunicorn/prod.py", GoLiveStage.prodContext(sampleLayout, systemd: false)), "https/prod.py")
        let p = sampleLayout.profile("prod")
        #expect(p.gunicornPidFile == "/var/run/gunicorn/prod.pid")
        #expect(p.gunicornConfigRelative == "config/gunicorn/prod.py")
        // dev.py keeps naming the dev paths whichever profile runs
        #expect(try templates.render("gunicorn/dev.py", GunicornStage.configContext(p, systemd: false))
                == (try templates.render("gunicorn/dev.py", GunicornStage.configContext(sampleLayout, systemd: false))))
    }

    // MARK: certificate facts

    @Test func certProblems() {
        var f = HTTPSCertStage.CertFacts(exists: true, fresh: true, names: ["a.test", "www.a.test"], rsaBits: 4096,
                                         server: "https://acme/dir", notAfter: "x")
        #expect(f.problems(domain: "a.test", server: "https://acme/dir").isEmpty)
        #expect(f.problems(domain: "a.test", server: "https://other/dir").count == 1)
        f.names = ["a.test"]
        f.fresh = false
        f.rsaBits = 2048
        #expect(f.problems(domain: "a.test", server: "https://acme/dir").count == 3)
        #expect(HTTPSCertStage.CertFacts().problems(domain: "a.test", server: "s") == ["no certificate named a.test yet"])
    }

    @Test func certbotArgv() {
        let c = HTTPSCertStage.certbotCommand(domain: "a.test", email: "m@a.test", server: "https://acme/dir", force: false)
        #expect(c.argv.joined(separator: " ") == "certbot certonly --nginx --key-type rsa --rsa-key-size 4096 --cert-name a.test -d a.test -d www.a.test -m m@a.test --agree-tos --no-eff-email -n --server https://acme/dir")
        #expect(c.asRoot)
    }

    @Test func registered() {
        let ids = Stages.deployment().stages.map(\.id.rawValue)
        let ours = ids.filter { ["static-files", "https-cert", "https-redirect", "security-headers", "go-live"].contains($0) }
        #expect(ours == ["static-files", "https-cert", "https-redirect", "security-headers", "go-live"])
        let d = Stages.deployment()
        #expect(d.definitionErrors.isEmpty)
        #expect(d.step("go-live.settings")?.confirmation != nil)
        #expect(d.step("https-cert.certificate")?.confirmation != nil)
        #expect(d.step("https-cert.firewall") != nil && d.step("go-live.firewall") != nil)
    }
}
