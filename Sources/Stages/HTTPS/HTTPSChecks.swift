import Foundation
import StepRunner
import WizardCore

/// Observations of the HTTPS site made on the server with curl and openssl, connecting to
/// 127.0.0.1 with the domain as SNI and Host (`--resolve`), so that they work before and
/// regardless of public DNS.
enum HTTPSProbe {
    /// `nginx -s reload` returns before the new workers answer: an observation made right after
    /// a reload is retried for a few seconds before it counts as failed.
    static func settled(attempts: Int = 12, _ body: () async throws -> Void) async throws {
        var n = 0
        while true {
            do { return try await body() } catch let e as StepError {
                guard case .verificationFailed = e, n < attempts - 1 else { throw e }
                n += 1
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    static let letsEncryptProduction = "https://acme-v02.api.letsencrypt.org/directory"
    static let letsEncryptStaging = "https://acme-staging-v02.api.letsencrypt.org/directory"

    static func acmeServer(_ ctx: StepContext) -> String { ctx.input(.acmeServer) ?? letsEncryptProduction }

    /// GET https://NAME{path} (NAME: the domain unless given). The certificate is not checked here
    /// (`-k`); `verifyChain` does that.
    static func get(_ ctx: StepContext, _ l: AppLayout, path: String, name: String? = nil) async throws -> Facts.HTTPResponse? {
        let n = name ?? l.domain
        return try await Facts.http(ctx, url: "https://\(n)\(path)", host: nil, curlArgs: ["-k", "--resolve", "\(n):443:127.0.0.1"])
    }

    /// A TLS handshake with one protocol version; true when it succeeds.
    static func handshake(_ ctx: StepContext, _ l: AppLayout, version: String, serverName: String? = nil) async throws -> Bool {
        // SECLEVEL=0: OpenSSL 3 clients otherwise refuse to offer TLS 1.0/1.1 themselves, and a
        // failure would say nothing about the server
        var argv = ["openssl", "s_client", "-connect", "127.0.0.1:443", "-servername", serverName ?? l.domain, "-\(version)"]
        if version == "tls1_1" || version == "tls1" { argv += ["-cipher", "DEFAULT:@SECLEVEL=0"] }
        let script = "\"$@\" </dev/null >/dev/null 2>&1"
        return try await ctx.run(Command(["timeout", "10", "sh", "-c", script, "sh"] + argv, asRoot: false), allowFailure: true).succeeded
    }

    /// The certificate chain nginx serves for both names verifies. Against the system trust
    /// store when it can (Let's Encrypt production); otherwise (staging, pebble or another CA
    /// whose root is not in the store) the served leaf must be the lineage's certificate and
    /// verify, with the host name, against the lineage's issuer chain.
    static func verifyChain(_ ctx: StepContext, _ l: AppLayout) async throws -> String {
        let paths = CertPaths(domain: l.domain)
        var notes: [String] = []
        for name in [l.domain, "www." + l.domain] {
            let full = try await ctx.run(Command(["curl", "-sS", "-o", "/dev/null", "-m", "10", "--resolve", "\(name):443:127.0.0.1",
                                                  "https://\(name)/"], asRoot: false), allowFailure: true)
            if full.succeeded { notes.append("\(name): verified against the system trust store"); continue }
            if acmeServer(ctx) == letsEncryptProduction {
                throw StepError.verificationFailed("https://\(name)/ does not verify against the system trust store: \(full.stderrText.trimmed)")
            }
            // served leaf == lineage cert, and it verifies up to the issuing intermediate
            let script = """
            set -e
            t=$(mktemp); trap 'rm -f "$t"' EXIT
            timeout 10 openssl s_client -connect 127.0.0.1:443 -servername "$1" </dev/null 2>/dev/null \\
              | openssl x509 -outform PEM > "$t"
            a=$(openssl x509 -in "$t" -noout -fingerprint -sha256)
            b=$(openssl x509 -in "$2" -noout -fingerprint -sha256)
            [ "$a" = "$b" ] || { echo "nginx serves another certificate than $2" >&2; exit 3; }
            openssl verify -partial_chain -verify_hostname "$1" -CAfile "$3" "$t"
            """
            let r = try await ctx.run(Command(["sh", "-c", script, "sh", name, paths.cert, paths.chain], asRoot: true), allowFailure: true)
            guard r.succeeded else {
                throw StepError.verificationFailed("the certificate served for \(name) does not verify: \((r.stderrText + " " + r.stdoutText).trimmed)")
            }
            notes.append("\(name): served certificate is the lineage's and verifies up to its issuer (the ACME server's root is not in the system trust store)")
        }
        return notes.joined(separator: "; ")
    }

    /// HTTPS answers 200 for /myapp/ with `Server: nginx`, the chain verifies, TLS 1.2 and 1.3
    /// are accepted and TLS 1.1 is refused.
    static func verifyTLS(_ ctx: StepContext, _ l: AppLayout) async throws {
        var last: Facts.HTTPResponse?
        for _ in 0 ..< 10 {
            last = try await get(ctx, l, path: l.pagePath)
            if let s = last?.status, l.pageOK(s) { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        guard let r = last, l.pageOK(r.status) else {
            throw StepError.verificationFailed("GET https://\(l.domain)\(l.pagePath) answered \(last.map { String($0.status) } ?? "nothing"), want 200")
        }
        guard r.headers["server"] == "nginx" else {
            throw StepError.verificationFailed("HTTPS: the Server header is \(r.headers["server"] ?? "absent"), want \"nginx\"")
        }
        ctx.log(try await verifyChain(ctx, l))
        for v in ["tls1_2", "tls1_3"] where !(try await handshake(ctx, l, version: v)) {
            throw StepError.verificationFailed("a \(v == "tls1_2" ? "TLS 1.2" : "TLS 1.3") handshake with nginx fails")
        }
        if try await handshake(ctx, l, version: "tls1_1") {
            throw StepError.verificationFailed("nginx accepts TLS 1.1 (ssl_protocols should be TLSv1.2 TLSv1.3)")
        }
        ctx.log("https://\(l.domain)\(l.pagePath) answers \(r.status); TLS 1.2 and 1.3 accepted, TLS 1.1 refused")
    }

    /// The security headers on a real HTTPS answer. `django`: the ones Django sets;
    /// `nginx`: Permissions-Policy. HSTS must carry includeSubDomains and preload and a
    /// max-age of at least `minHSTS`.
    static func verifyHeaders(_ ctx: StepContext, _ l: AppLayout, django: Bool, nginx: Bool, minHSTS: Int = 1) async throws {
        try await settled { try await headersOnce(ctx, l, django: django, nginx: nginx, minHSTS: minHSTS) }
    }

    static func headersOnce(_ ctx: StepContext, _ l: AppLayout, django: Bool, nginx: Bool, minHSTS: Int) async throws {
        guard let r = try await get(ctx, l, path: l.pagePath), l.pageOK(r.status) else {
            throw StepError.verificationFailed("GET https://\(l.domain)\(l.pagePath) did not answer \(l.own == nil ? "200" : "below 400")")
        }
        var problems: [String] = []
        func want(_ name: String, _ ok: (String) -> Bool, _ what: String) {
            guard let v = r.headers[name] else { problems.append("\(name) is missing"); return }
            if !ok(v) { problems.append("\(name) is \"\(v)\", want \(what)") }
        }
        if django {
            want("strict-transport-security", { v in
                let age = v.firstMatch(of: /max-age=(\d+)/).flatMap { Int($0.1) } ?? 0
                return age >= minHSTS && v.contains("includeSubDomains") && v.contains("preload")
            }, "max-age ≥ \(minHSTS); includeSubDomains; preload")
            want("content-security-policy", { v in v.contains("default-src 'self'") && !v.contains("unsafe-inline") },
                 "default-src 'self' and no 'unsafe-inline'")
            want("referrer-policy", { $0 == "strict-origin-when-cross-origin" }, "strict-origin-when-cross-origin")
            want("x-content-type-options", { $0 == "nosniff" }, "nosniff")
            want("x-frame-options", { $0 == "DENY" }, "DENY")
        }
        if nginx {
            want("permissions-policy", { $0 == SiteFeatures.permissionsPolicy }, "\"\(SiteFeatures.permissionsPolicy)\"")
        }
        guard problems.isEmpty else { throw StepError.verificationFailed("HTTPS answer headers: " + problems.joined(separator: "; ")) }
        ctx.log("https://\(l.domain)\(l.pagePath) carries " + (django ? "HSTS, CSP, Referrer-Policy, X-Content-Type-Options, X-Frame-Options" : "")
                + (django && nginx ? " and " : "") + (nginx ? "Permissions-Policy" : ""))
    }
}
