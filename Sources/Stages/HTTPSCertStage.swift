import Foundation
import StepRunner
import WizardCore

/// Stage 8: a certificate for the domain and www from an ACME server (Let's Encrypt by default),
/// with TLS 1.0/1.1 switched off first. certbot runs as `certonly --nginx`: the nginx plugin
/// answers the HTTP-01 challenges through the running nginx, but certbot edits no file; the TLS
/// server block is djdeploy's own template (rendered once the certificate files exist), so the
/// site file stays djdeploy's and every step that renders it renders the same file.
enum HTTPSCertStage {
    static let id: StageID = "https-cert"
    static let protocolsLine = "ssl_protocols TLSv1.2 TLSv1.3;"
    static let nginxConf = "/etc/nginx/nginx.conf"
    /// A certificate that expires within this many seconds is renewed (certbot's own window).
    static let renewWithin = 30 * 24 * 3600

    static func make(_ env: StageEnvironment) -> StageDefinition {
        let templates = TemplateSource(env)
        return StageDefinition(id: id, title: "HTTPS certificate", steps: [
            tlsProtocols(),
            Apt.step(id: "https-cert.certbot", title: "certbot and its nginx plugin from apt",
                     packages: ["certbot", "python3-certbot-nginx"]),
            certificate(templates: templates),
            NginxStage.siteStep(id: "https-cert.nginx", title: "nginx: TLS server block with the certificate",
                                templates: templates,
                                extraVerify: { ctx, l in try await HTTPSProbe.verifyTLS(ctx, l) }),
        ])
    }

    // MARK: ssl_protocols in nginx.conf

    /// nginx.conf with every active `ssl_protocols` directive set to TLS 1.2 and 1.3 (indentation
    /// and a trailing comment kept); when there is none, one is added after `http {`. Nothing
    /// else changes. nil when the file has no `http {` line to add it to.
    static func settingProtocols(in text: String) -> String? {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var found = false
        for (i, line) in lines.enumerated() {
            guard let m = line.wholeMatch(of: /([ \t]*)ssl_protocols\b[^;#]*;(.*)/) else { continue }
            found = true
            lines[i] = String(m.1) + protocolsLine + String(m.2)
        }
        if !found {
            guard let i = lines.firstIndex(where: { $0.wholeMatch(of: /[ \t]*http[ \t]*\{[ \t]*(#.*)?/) != nil }) else { return nil }
            lines.insert("\t" + protocolsLine + " # djdeploy: TLS 1.0 and 1.1 off", at: i + 1)
        }
        return lines.joined(separator: "\n")
    }

    static func tlsProtocols() -> StepDefinition {
        @Sendable func desired(_ ctx: StepContext) async throws -> (current: Data, new: Data)? {
            guard let cur = try await ctx.readFile(nginxConf, asRoot: true) else { return nil }
            guard let new = settingProtocols(in: String(decoding: cur, as: UTF8.self)) else {
                throw StepError.other("\(nginxConf) has no `http {` line: add `\(protocolsLine)` to its http block by hand")
            }
            return (cur, Data(new.utf8))
        }
        @Sendable func running(_ ctx: StepContext) async throws -> (running: Bool, systemd: Bool) {
            let systemd = try await Facts.hasSystemd(ctx)
            return (try await ServiceControl.isRunning(ctx, name: "nginx", systemd: systemd, pidFile: NginxStage.pidFile), systemd)
        }
        return StepDefinition(
            id: "https-cert.tls-protocols", title: "nginx.conf: ssl_protocols TLSv1.2 TLSv1.3 (TLS 1.0 and 1.1 off)",
            needsRoot: true,
            check: { ctx in
                guard let d = try await desired(ctx) else { return .needsChange("\(nginxConf) does not exist (nginx is installed by nginx.package)") }
                return d.current == d.new ? .satisfied("\(nginxConf) allows only TLS 1.2 and 1.3")
                    : .needsChange("\(nginxConf) allows older TLS versions")
            },
            plan: { ctx in
                guard let d = try await desired(ctx) else {
                    return StepPlan(notes: ["\(nginxConf) appears when nginx is installed; its `ssl_protocols` line becomes `\(protocolsLine)`"])
                }
                let (isRunning, systemd) = try await running(ctx)
                var actions: [PlannedAction] = [
                    .file(FileChange(path: nginxConf, newContent: d.new, currentContent: d.current, mode: 0o644,
                                     owner: "root", group: "root", asRoot: true)),
                    .command(Command(["nginx", "-t", "-q"], asRoot: true)),
                ]
                if isRunning { actions.append(.command(ServiceControl.startOrReload(name: "nginx", running: true, systemd: systemd))) }
                return StepPlan(actions: actions, notes: ["only the ssl_protocols line changes; a failing `nginx -t` puts the old file back"])
            },
            apply: { ctx in
                guard let d = try await desired(ctx) else { throw StepError.other("\(nginxConf) does not exist: install nginx first") }
                let w = try await ctx.writeFile(nginxConf, contents: d.new, mode: 0o644, owner: "root", group: "root", asRoot: true)
                let test = try await ctx.run(Command(["nginx", "-t", "-q"], asRoot: true), allowFailure: true)
                guard test.succeeded else {
                    if w.changed, let b = w.backupPath { try await ctx.runner.restore(backup: b, to: nginxConf, asRoot: true) }
                    throw StepError.commandFailed(argv: ["nginx", "-t", "-q"], termination: test.termination, stderr: test.stderrText)
                }
                let (isRunning, systemd) = try await running(ctx)
                if isRunning { try await ctx.run(ServiceControl.startOrReload(name: "nginx", running: true, systemd: systemd)) }
            },
            verify: { ctx in
                guard let d = try await desired(ctx), d.current == d.new else {
                    throw StepError.verificationFailed("\(nginxConf) still allows older TLS versions")
                }
                try await ctx.run(Command(["nginx", "-t", "-q"], asRoot: true))
            })
    }

    // MARK: the certificate

    struct CertFacts: Sendable {
        var exists = false
        var fresh = false
        var names: Set<String> = []
        var rsaBits: Int?
        var server: String?
        var notAfter: String?

        func problems(domain: String, server want: String) -> [String] {
            guard exists else { return ["no certificate named \(domain) yet"] }
            var p: [String] = []
            let missing = [domain, "www." + domain].filter { !names.contains($0) }
            if !missing.isEmpty { p.append("the certificate does not cover \(missing.joined(separator: ", "))") }
            if !fresh { p.append("the certificate expires within 30 days (\(notAfter ?? "?"))") }
            if rsaBits != 4096 { p.append("the key is not RSA 4096") }
            if server != want { p.append("the certificate comes from \(server ?? "an unknown ACME server"), not \(want)") }
            return p
        }
    }

    static func certFacts(_ ctx: StepContext, domain: String) async throws -> CertFacts {
        let paths = CertPaths(domain: domain)
        let script = """
        c=$1; conf=$2
        [ -s "$c" ] && [ -s "$3" ] && [ -s "$4" ] || { echo absent; exit 0; }
        if openssl x509 -in "$c" -noout -checkend "$5" >/dev/null; then echo fresh=yes; else echo fresh=no; fi
        openssl x509 -in "$c" -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr ',' '\\n' | sed -n 's/^ *DNS://p' | sed 's/^/name=/'
        openssl x509 -in "$c" -noout -text | grep -q 'Public Key Algorithm: rsaEncryption' && \\
          openssl x509 -in "$c" -noout -text | sed -n 's/^ *Public-Key: (\\([0-9]*\\) bit)$/rsabits=\\1/p'
        openssl x509 -in "$c" -noout -enddate | sed 's/^notAfter=/notafter=/'
        [ -f "$conf" ] && sed -n 's/^server *= *\\(.*\\)$/server=\\1/p' "$conf"
        exit 0
        """
        let r = try await ctx.run(Command(["sh", "-c", script, "sh", paths.cert, paths.renewalConf, paths.fullchain, paths.privkey,
                                           String(renewWithin)], asRoot: true))
        var f = CertFacts()
        for raw in r.stdoutText.split(separator: "\n") {
            let line = String(raw)
            if line == "absent" { return CertFacts() }
            f.exists = true
            if line == "fresh=yes" { f.fresh = true }
            if line.hasPrefix("name=") { f.names.insert(String(line.dropFirst(5)).trimmed) }
            if line.hasPrefix("rsabits=") { f.rsaBits = Int(line.dropFirst(8)) }
            if line.hasPrefix("notafter=") { f.notAfter = String(line.dropFirst(9)) }
            if line.hasPrefix("server=") { f.server = String(line.dropFirst(7)).trimmed }
        }
        return f
    }

    static func certbotCommand(domain: String, email: String, server: String, force: Bool) -> Command {
        var argv = ["certbot", "certonly", "--nginx", "--key-type", "rsa", "--rsa-key-size", "4096",
                    "--cert-name", domain, "-d", domain, "-d", "www." + domain,
                    "-m", email, "--agree-tos", "--no-eff-email", "-n", "--server", server]
        if force { argv.append("--force-renewal") }
        return Command(argv, asRoot: true, timeout: .seconds(600))
    }

    /// Before asking the ACME server (Let's Encrypt allows 5 failed validations per host name
    /// per hour): both names resolve to the server IP at the resolver, port 80 of the server is
    /// reachable from here, and nginx answers for the domain on port 80.
    static func preflight(_ ctx: StepContext, domain: String) async throws -> [String] {
        let ip = try ctx.require(.serverIP)
        var problems: [String] = []
        let (host, port) = DNSStage.resolver(ctx)
        for lookup in try DNSStage.lookups(ctx) where !lookup.matches(ip) {
            problems.append("\(lookup.name) resolves to \(lookup.shown) at \(host):\(port), not \(ip)")
        }
        let probe = PortProbe.probe(host: ip, port: 80)
        if probe != .open { problems.append("port 80 of \(ip) is \(probe.rawValue) from this machine (the firewall must let it through from anywhere)") }
        if try await Facts.http(ctx, url: "http://127.0.0.1/.well-known/acme-challenge/djdeploy-preflight", host: domain) == nil {
            problems.append("nginx does not answer on port 80 of the server for \(domain)")
        }
        // certbot talks to the ACME server from the server: its directory must answer there
        let server = HTTPSProbe.acmeServer(ctx)
        let dir = try await ctx.run(Command(["curl", "-sS", "-m", "15", "-o", "/dev/null", "-w", "%{http_code}", server], asRoot: false),
                                    allowFailure: true)
        let code = dir.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        if !dir.succeeded || code != "200" {
            var why = "HTTP " + code
            if !dir.succeeded {
                let lines = dir.stderrText.split(separator: "\n")
                why = lines.isEmpty ? "no answer" : String(lines[lines.count - 1])
            }
            problems.append("the ACME server \(server) does not answer from the server (\(why))")
        }
        return problems
    }

    static func certificate(templates: TemplateSource) -> StepDefinition {
        @Sendable func plan(_ ctx: StepContext) async throws -> StepPlan {
            let domain = try ctx.require(.domain)
            let email = try ctx.require(.email)
            let server = HTTPSProbe.acmeServer(ctx)
            let f = try await certFacts(ctx, domain: domain)
            return StepPlan(actions: [.command(certbotCommand(domain: domain, email: email, server: server, force: f.exists))],
                            notes: ["preflight first: \(domain) and www.\(domain) must resolve to the server IP and port 80 must answer; otherwise certbot is not run",
                                    "certonly: certbot edits no nginx file; djdeploy's site file gets the TLS server block in the next step"])
        }
        return StepDefinition(
            id: "https-cert.certificate", title: "Certificate for the domain and www (certbot certonly --nginx, RSA 4096)",
            needsRoot: true, reads: [.domain, .email, .acmeServer, .serverIP, .dnsResolver],
            confirmation: "request a certificate from the ACME server (acme_server; by default Let's Encrypt production, which allows only 5 failed validations per host name per hour). The preflight (DNS and port 80) runs first.",
            check: { ctx in
                let domain = try ctx.require(.domain)
                let server = HTTPSProbe.acmeServer(ctx)
                let f = try await certFacts(ctx, domain: domain)
                let p = f.problems(domain: domain, server: server)
                if p.isEmpty {
                    return .satisfied("the certificate for \(domain) and www.\(domain) (RSA 4096, from \(server)) is valid until \(f.notAfter ?? "?")")
                }
                return .needsChange(p.joined(separator: "; "))
            },
            plan: plan,
            apply: { ctx in
                let domain = try ctx.require(.domain)
                let problems = try await preflight(ctx, domain: domain)
                guard problems.isEmpty else {
                    throw StepError.other("preflight failed, certbot was not run: " + problems.joined(separator: "; "))
                }
                ctx.log("preflight: both names resolve to the server IP, port 80 answers")
                // certbot's nginx plugin refuses to work while `nginx -t` fails, e.g. when the
                // certificate the site's TLS block names is gone: the site file, rendered from the
                // facts (no certificate, no TLS block), is put back in order first.
                if !(try await ctx.succeeds(["nginx", "-t", "-q"], asRoot: true)) {
                    ctx.log("nginx -t fails: the site file is rendered again from the facts on the server before certbot runs")
                    try await NginxStage.renderAndApply(ctx, templates: templates)
                }
                try await ctx.execute(try await plan(ctx))
            },
            verify: { ctx in
                let domain = try ctx.require(.domain)
                let f = try await certFacts(ctx, domain: domain)
                let p = f.problems(domain: domain, server: HTTPSProbe.acmeServer(ctx))
                guard p.isEmpty else { throw StepError.verificationFailed(p.joined(separator: "; ")) }
                for file in [CertPaths.nginxOptions, CertPaths.dhparams] where !(try await Facts.exists(ctx, file)) {
                    throw StepError.verificationFailed("certbot did not create \(file)")
                }
            })
    }
}
