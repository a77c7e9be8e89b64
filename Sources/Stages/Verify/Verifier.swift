import Foundation
import StepRunner
import WizardCore

/// What to verify and how to reach it.
public struct VerifyOptions: Sendable {
    public var domain: String
    /// The server's public address: every request goes there (curl `--resolve`, openssl
    /// `-connect`), so the checks do not depend on /etc/hosts or on DNS.
    public var serverIP: String
    /// Verify the certificate chain against this PEM file (nil: the system trust store).
    public var caFile: String?
    /// The ACME directory for the renewal dry-run (`--server`); nil: certbot's default.
    public var acmeServer: String?
    /// The go-live HSTS value, to show the ramp state.
    public var hstsFinalSeconds: Int?
    public var httpPort = 80
    public var httpsPort = 443
    /// Gunicorn's port, which must be closed from the outside after go-live.
    public var appPort = 8000
    /// A page of the app whose headers are graded.
    public var pagePath = "/myapp/"
    /// A static file to fetch (the sample's JS); nil: the first .js file under STATIC_ROOT on the
    /// server.
    public var staticPath: String? = "/static/js/greenlight.js"
    /// Run `certbot renew --dry-run` on the server (slow: up to a minute).
    public var checkRenewal = true
    /// Run the checks that need the server (nginx, Django, renewal).
    public var serverChecks = true
    /// `nginx -c FILE` for `nginx -t`/`-T` (tests with a scratch nginx); nil: the default.
    public var nginxConfigFile: String?
    /// With no CA file: anchor the chain check at the top certificate the server sends
    /// (`-partial_chain`) instead of the system store. For test/staging ACME servers, whose
    /// roots no trust store has; the check says so in what it saw.
    public var trustServedChain = false

    public init(domain: String, serverIP: String, caFile: String? = nil, acmeServer: String? = nil,
                hstsFinalSeconds: Int? = nil) {
        self.domain = domain
        self.serverIP = serverIP
        self.caFile = caFile
        self.acmeServer = acmeServer
        self.hstsFinalSeconds = hstsFinalSeconds
    }

    /// From the deployment's inputs (domain, server_ip, acme_server, hsts_final_seconds,
    /// app_source).
    public init(inputs: [String: String], caFile: String? = nil) throws {
        func get(_ k: InputKey) -> String? { inputs[k.rawValue] ?? InputKey.defaults[k] }
        guard let domain = get(.domain) else { throw StepError.missingInput(.domain) }
        guard let ip = get(.serverIP) else { throw StepError.missingInput(.serverIP) }
        self.init(domain: domain, serverIP: ip, caFile: caFile, acmeServer: get(.acmeServer),
                  hstsFinalSeconds: get(.hstsFinalSeconds).flatMap { Int($0) })
        if get(.appSource) != "sample" {
            pagePath = "/"
            staticPath = nil
        }
    }

    var wwwDomain: String { "www." + domain }
    var ipForURL: String { serverIP.contains(":") ? "[\(serverIP)]" : serverIP }
    var isLoopback: Bool { serverIP.hasPrefix("127.") || serverIP == "::1" }
}

/// Runs every check and grades the result. Operator-side commands (curl, openssl) run through
/// `local`; server-side ones (nginx, manage.py, certbot) through `server`'s runner.
public struct Verifier: Sendable {
    public var options: VerifyOptions
    public var local: any CommandRunning
    /// The server, with the deployment's inputs (for the app layout). nil: no server checks.
    public var server: StepContext?
    public var log: @Sendable (String) -> Void

    public init(options: VerifyOptions, local: any CommandRunning, server: StepContext?,
                log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.options = options
        self.local = local
        self.server = server
        self.log = log
    }

    // MARK: running commands

    struct Output: Sendable {
        var termination: Termination
        var stdout: String
        var stderr: String
        var exitCode: Int32? { if case .exited(let c) = termination { return c } else { return nil } }
        var succeeded: Bool { termination == .exited(0) }
        var all: String { stdout + (stdout.isEmpty || stderr.isEmpty ? "" : "\n") + stderr }
    }

    /// Runs a command collecting every line (not only the runner's bounded tail).
    static func exec(_ runner: any CommandRunning, _ command: Command) async throws -> Output {
        let out = Locked<[String]>([]), err = Locked<[String]>([])
        let r: CommandResult
        do {
            r = try await runner.run(command) { line in
                if line.stream == .stdout { out.withValue { $0.append(line.text) } } else { err.withValue { $0.append(line.text) } }
            }
        } catch RunnerError.cannotStart(let program, let reason) {
            // a missing tool is a finding (like exit 127 over SSH), not a crash of the report
            return Output(termination: .exited(127), stdout: "", stderr: "\(program): \(reason)")
        }
        return Output(termination: r.termination, stdout: out.value.joined(separator: "\n"),
                      stderr: err.value.joined(separator: "\n"))
    }

    func local(_ argv: [String], timeout: Int = 20) async throws -> Output {
        try await Self.exec(local, Command(argv, timeout: .seconds(timeout), label: "verify"))
    }

    func onServer(_ command: Command) async throws -> Output {
        guard let server else { throw StepError.other("no server runner") }
        var c = command
        if c.label == nil { c.label = "verify" }
        if c.timeout == nil { c.timeout = .seconds(120) }
        return try await Self.exec(server.runner, c)
    }

    // MARK: HTTP

    struct HTTPResult: Sendable {
        var curlExit: Int32?
        var error: String
        var status: Int
        var headers: [String: [String]]
        var body: String
        var insecure = false
        var header: (String) -> String? { { name in self.headers[name.lowercased()]?.first } }
    }

    /// Parses `curl -D -` output: the last response's status and headers (lower-cased names).
    static func parseHeaders(_ text: String) -> (status: Int, headers: [String: [String]]) {
        var status = 0
        var headers: [String: [String]] = [:]
        // "\r\n" is one Character in Swift: normalize before splitting
        let text = text.replacingOccurrences(of: "\r\n", with: "\n")
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.hasSuffix("\r") ? String(raw.dropLast()) : String(raw)
            if line.hasPrefix("HTTP/") {
                status = Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
                headers = [:]
            } else if let colon = line.firstIndex(of: ":"), status != 0 {
                let name = line[..<colon].lowercased().trimmingCharacters(in: .whitespaces)
                headers[name, default: []].append(line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }
        }
        return (status, headers)
    }

    /// One request with curl on the operator's machine. `host`: the name in the URL, resolved to
    /// the server IP with `--resolve`; nil: the URL uses the IP itself. `withBody`: keep the body.
    func curl(scheme: String, host: String?, path: String, extraHeaders: [String] = [], withBody: Bool = false,
              insecure: Bool = false) async throws -> HTTPResult {
        let port = scheme == "https" ? options.httpsPort : options.httpPort
        let defaultPort = scheme == "https" ? 443 : 80
        var argv = ["curl", "-sS", "--max-time", "10", "-D", "-", "-o", withBody ? "-" : "/dev/null"]
        if let host { argv += ["--resolve", "\(host):\(port):\(options.serverIP)"] }
        if scheme == "https" {
            if insecure { argv.append("-k") } else if let ca = options.caFile { argv += ["--cacert", ca] }
        }
        for h in extraHeaders { argv += ["-H", h] }
        let authority = (host ?? options.ipForURL) + (port == defaultPort ? "" : ":\(port)")
        argv.append("\(scheme)://\(authority)\(path)")
        let o = try await local(argv)
        // headers end at the first empty line after the last status line
        var headerText = o.stdout
        var body = ""
        if withBody {
            var blocks: [String] = []
            var rest = Substring(o.stdout.replacingOccurrences(of: "\r\n", with: "\n"))
            while rest.hasPrefix("HTTP/"), let end = rest.range(of: "\n\n") {
                blocks.append(String(rest[..<end.lowerBound]))
                rest = rest[end.upperBound...]
            }
            headerText = blocks.joined(separator: "\n")
            body = String(rest)
        }
        let (status, headers) = Self.parseHeaders(headerText)
        return HTTPResult(curlExit: o.exitCode, error: o.stderr.trimmed, status: status, headers: headers, body: body,
                          insecure: insecure)
    }

    /// Human text for a curl failure.
    static func describe(_ r: HTTPResult) -> String {
        if r.curlExit == 0 { return "HTTP \(r.status)" }
        return r.error.isEmpty ? "curl exit \(r.curlExit.map(String.init) ?? "?")" : r.error
    }

    func httpChecks() async throws -> [VerifyCheck] {
        var out: [VerifyCheck] = []
        let query = "djdeploy-verify=1"
        let path = options.pagePath + (options.pagePath.contains("?") ? "&" : "?") + query
        for host in [options.domain, options.wwwDomain] {
            let r = try await curl(scheme: "http", host: host, path: path)
            let want = "https://\(host)\(path)"
            let location = r.header("location") ?? ""
            let normalized = location.replacingOccurrences(of: "https://\(host):443/", with: "https://\(host)/")
            var c = VerifyCheck(id: "http.redirect." + (host == options.domain ? "apex" : "www"), category: .http,
                                title: "http://\(host)/ redirects to HTTPS", expected: "307 (or 301/308) → \(want)",
                                seen: Self.describe(r), result: .fail,
                                fix: "the https-redirect stage: `return 307 https://$host$request_uri;` in the port-80 server of \(options.domain)")
            if r.curlExit == 0 {
                c.seen = "\(r.status)" + (location.isEmpty ? " (no Location)" : " → \(location)")
                if [301, 307, 308].contains(r.status), normalized == want { c.result = .pass }
                else if [301, 302, 303, 307, 308].contains(r.status), normalized.hasPrefix("https://") {
                    c.result = .fail
                    c.fix = normalized == want ? "use 307 (or 301/308): \(r.status) lets clients change the method"
                        : "the redirect must keep host, path and query: `return 307 https://$host$request_uri;`"
                }
            }
            out.append(c)
        }
        // an unknown Host on port 80: the connection is closed without an answer (444)
        let r = try await curl(scheme: "http", host: nil, path: "/", extraHeaders: ["Host: djdeploy-unknown-host.invalid"])
        var c = VerifyCheck(id: "http.unknown-host", category: .http, title: "unknown Host on port 80 is dropped",
                            expected: "connection closed without a response (nginx 444; curl: empty reply)",
                            seen: Self.describe(r), result: .fail,
                            fix: "add `server { listen 80 default_server; return 444; }` (the https-redirect stage)")
        if r.curlExit == 52 { c.result = .pass; c.seen = "connection closed, no response (curl: empty reply)" }
        else if r.curlExit == 0 { c.seen = "answered HTTP \(r.status)" + (r.header("location").map { " → \($0)" } ?? "") }
        out.append(c)
        return out
    }

    // MARK: headers

    func headerChecks() async throws -> (checks: [VerifyCheck], response: HTTPResult?) {
        var r = try await curl(scheme: "https", host: options.domain, path: options.pagePath)
        var note = ""
        if r.curlExit == 60 || r.curlExit == 35 || r.curlExit == 51 {
            // the certificate is graded by the TLS checks; still look at the headers
            note = " (certificate not verified: \(r.error))"
            r = try await curl(scheme: "https", host: options.domain, path: options.pagePath, insecure: true)
        }
        guard r.curlExit == 0 else {
            var checks = Grading.headerChecks([:], hstsFinalSeconds: options.hstsFinalSeconds)
            for i in checks.indices { checks[i].seen = "no HTTPS response: \(Self.describe(r))"; if checks[i].id == "headers.server" { checks[i].result = .pass } }
            return (checks, nil)
        }
        var checks = Grading.headerChecks(r.headers, hstsFinalSeconds: options.hstsFinalSeconds)
        var status = VerifyCheck(id: "headers.response", category: .headers, title: "HTTPS page answers",
                                 expected: "GET https://\(options.domain)\(options.pagePath) → 200",
                                 seen: "\(r.status)\(note)", result: r.status == 200 ? .pass : .warn,
                                 fix: "the page graded should exist (the headers of an error page may differ)", capOnFail: nil)
        if r.status == 200 && !note.isEmpty { status.result = .pass }
        checks.insert(status, at: 0)
        return (checks, r)
    }

    // MARK: TLS

    /// The negotiated protocol and cipher from `openssl s_client` output. "New, TLSv1.0, Cipher
    /// is X" names the cipher's own version, not the protocol: the protocol is the session's
    /// "Protocol  : TLSv1.1" line (absent for TLS 1.3 when s_client exits early; then the "New,"
    /// line's version is the protocol).
    static func sClientCipher(_ text: String) -> (proto: String?, cipher: String?) {
        var proto: String?, newVersion: String?, cipher: String?
        for line in text.split(separator: "\n") {
            if let m = line.firstMatch(of: /^New, (\S+), Cipher is (\S+)/) {
                newVersion = String(m.1)
                cipher = m.2 == "(NONE)" ? nil : String(m.2)
            } else if let m = line.firstMatch(of: /^\s*Protocol\s*:\s*(\S+)/) {
                proto = String(m.1)
            }
        }
        return (proto ?? newVersion, cipher)
    }

    static func verifyReturn(_ text: String) -> (code: Int, reason: String)? {
        for line in text.split(separator: "\n").reversed() {
            if let m = line.firstMatch(of: /Verify return code: (\d+) \((.*)\)/) { return (Int(m.1) ?? -1, String(m.2)) }
        }
        return nil
    }

    func sClient(_ extra: [String], name: String) async throws -> Output {
        try await local(["openssl", "s_client", "-connect", "\(options.ipForURL):\(options.httpsPort)", "-servername", name]
                        + extra, timeout: 15)
    }

    /// Certificate facts from `openssl x509 -text`.
    struct CertFacts: Sendable {
        var notAfter: Date?
        var notAfterText: String?
        var keyType: String?
        var keyBits: Int?
        var sans: [String]
        var issuer: String?
    }

    static func parseCert(_ text: String) -> CertFacts {
        var f = CertFacts(sans: [])
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        for (i, line) in lines.enumerated() {
            if line.hasPrefix("Not After :") || line.hasPrefix("Not After:") {
                let v = line.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces)
                f.notAfterText = v
                f.notAfter = parseOpenSSLDate(v)
            } else if line.hasPrefix("Public Key Algorithm:") {
                let alg = line.dropFirst("Public Key Algorithm:".count).trimmingCharacters(in: .whitespaces)
                f.keyType = alg == "rsaEncryption" ? "RSA" : alg == "id-ecPublicKey" ? "EC" : alg == "ED25519" ? "Ed25519" : alg
            } else if let m = line.firstMatch(of: /Public-Key: \((\d+) bit\)/) {
                f.keyBits = Int(m.1)
            } else if line.hasPrefix("X509v3 Subject Alternative Name"), i + 1 < lines.count {
                f.sans = lines[i + 1].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { $0.hasPrefix("DNS:") }.map { String($0.dropFirst(4)) }
            } else if line.hasPrefix("Issuer:") {
                f.issuer = line.dropFirst("Issuer:".count).trimmingCharacters(in: .whitespaces)
            }
        }
        return f
    }

    /// `Mar  1 12:00:00 2026 GMT`
    static func parseOpenSSLDate(_ s: String) -> Date? {
        let parts = s.split(separator: " ")
        guard parts.count >= 4 else { return nil }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "MMM d HH:mm:ss yyyy"
        return f.date(from: parts.prefix(4).joined(separator: " "))
    }

    func tlsChecks(hstsMaxAge: Int?) async throws -> (checks: [VerifyCheck], observation: Grading.TLSObservation) {
        var obs = Grading.TLSObservation()
        obs.hstsMaxAge = hstsMaxAge
        var out: [VerifyCheck] = []
        for v in Grading.TLSVersion.allCases {
            // Old protocols must be offered with the client's security level lowered: OpenSSL 3
            // refuses TLS 1.0/1.1 itself at the default level, which would prove nothing.
            let extra = v.deprecated ? [v.flag, "-cipher", "DEFAULT:@SECLEVEL=0"] : [v.flag]
            let o = try await sClient(extra, name: options.domain)
            let (proto, cipher) = Self.sClientCipher(o.all)
            let accepted = o.succeeded && cipher != nil && proto == v.rawValue
            obs.accepted[v] = accepted
            if v == .tls1_2, accepted { obs.tls12Cipher = cipher }
            let reason = o.all.split(separator: "\n").first { $0.contains("alert") || $0.contains("error") }
                .map { String($0).trimmed } ?? "handshake failed"
            var c = VerifyCheck(id: "tls.protocol." + v.id, category: .tls,
                                title: "\(v.label) \(v.deprecated ? "refused" : "accepted")",
                                expected: v.deprecated ? "handshake refused (offered with SECLEVEL=0)" : "handshake succeeds",
                                seen: accepted ? "accepted (\(cipher ?? ""))" : "refused: \(reason)",
                                result: .pass, capOnFail: nil)
            if v.deprecated && accepted {
                c.result = .fail
                c.fix = "`ssl_protocols TLSv1.2 TLSv1.3;` in /etc/nginx/nginx.conf and in every server block / included file (certbot's options-ssl-nginx.conf), then reload nginx"
            } else if !v.deprecated && !accepted {
                c.result = v == .tls1_2 && obs.accepted[.tls1_3] != true ? .fail : .warn
                c.fix = "`ssl_protocols TLSv1.2 TLSv1.3;` (the https-cert stage) and an OpenSSL with \(v.label)"
            }
            out.append(c)
        }

        // the chain, for both names
        var caArgs = options.caFile.map { ["-CAfile", $0] } ?? []
        var anchorNote = ""
        var tempAnchor: String?
        if options.caFile == nil, options.trustServedChain {
            let o = try await sClient(["-showcerts"], name: options.domain)
            let pems = o.stdout.components(separatedBy: "-----BEGIN CERTIFICATE-----").dropFirst()
                .compactMap { $0.components(separatedBy: "-----END CERTIFICATE-----").first }
                .map { "-----BEGIN CERTIFICATE-----" + $0 + "-----END CERTIFICATE-----\n" }
            if let top = pems.last {
                let path = NSTemporaryDirectory() + "djdeploy-verify-anchor-\(UUID().uuidString).pem"
                try top.write(toFile: path, atomically: true, encoding: .utf8)
                tempAnchor = path
                caArgs = ["-CAfile", path, "-partial_chain"]
                anchorNote = " (anchored at the served chain: the test/staging CA's root is in no trust store; give a CA file to verify it)"
            }
        }
        defer { if let tempAnchor { try? FileManager.default.removeItem(atPath: tempAnchor) } }
        for name in [options.domain, options.wwwDomain] {
            let o = try await sClient(["-verify_hostname", name] + caArgs, name: name)
            var c = VerifyCheck(id: "tls.chain." + (name == options.domain ? "apex" : "www"), category: .tls,
                                title: "certificate chain valid for \(name)",
                                expected: "verifies against \(options.caFile ?? "the system trust store") for \(name)",
                                seen: "", result: .fail,
                                fix: "the https-cert stage: `certbot --nginx … -d \(options.domain) -d \(options.wwwDomain)`; serve fullchain.pem",
                                capOnFail: nil)
            if let (code, reason) = Self.verifyReturn(o.all) {
                c.seen = "verify return code \(code) (\(reason))" + anchorNote
                if code == 0 { c.result = .pass; obs.chainErrors[name] = .some(nil) } else { obs.chainErrors[name] = reason }
            } else {
                c.seen = "no TLS handshake: " + (o.all.split(separator: "\n").first.map(String.init) ?? "")
                obs.chainErrors[name] = "no handshake"
            }
            out.append(c)
        }

        // the leaf certificate: expiry, key
        let script = "openssl s_client -connect \"$1\" -servername \"$2\" </dev/null 2>/dev/null | openssl x509 -noout -text"
        let o = try await local(["sh", "-c", script, "sh", "\(options.ipForURL):\(options.httpsPort)", options.domain], timeout: 15)
        let cert = Self.parseCert(o.stdout)
        var exp = VerifyCheck(id: "tls.expiry", category: .tls, title: "certificate not about to expire",
                              expected: "more than 14 days left (certbot renews at 30)", seen: "no certificate",
                              result: .fail, fix: "run `certbot renew` on the server and check its timer/cron", capOnFail: .b)
        if let na = cert.notAfter {
            let days = Int(floor(na.timeIntervalSinceNow / 86_400))
            obs.daysLeft = days
            exp.seen = "\(days) days left (not after \(cert.notAfterText ?? ""))" + (cert.issuer.map { ", issuer \($0)" } ?? "")
            exp.result = days < 0 ? .fail : days < 14 ? .warn : .pass
        }
        out.append(exp)
        obs.keyType = cert.keyType
        obs.keyBits = cert.keyBits
        var key = VerifyCheck(id: "tls.key", category: .tls, title: "key type and size",
                              expected: "RSA ≥ 2048 bits (the tutorial: 4096) or EC ≥ 256 bits",
                              seen: cert.keyType.map { "\($0) \(cert.keyBits.map(String.init) ?? "?") bits" } ?? "unknown",
                              result: .pass, fix: "certbot … --key-type rsa --rsa-key-size 4096 (or --key-type ecdsa)", capOnFail: nil)
        if let t = cert.keyType, let b = cert.keyBits {
            if (t == "RSA" && b < 2048) || (t == "EC" && b < 256) { key.result = .fail }
        } else {
            key.result = .warn
        }
        out.append(key)
        var fs = VerifyCheck(id: "tls.cipher", category: .tls, title: "TLS 1.2 cipher: forward secrecy, AEAD",
                             expected: "ECDHE/DHE key exchange with GCM or ChaCha20-Poly1305", seen: obs.tls12Cipher ?? "TLS 1.2 not negotiated",
                             result: .pass, fix: "use certbot's options-ssl-nginx.conf ciphers (ECDHE + AEAD only)", capOnFail: nil)
        if let cph = obs.tls12Cipher?.uppercased() {
            if !(cph.hasPrefix("ECDHE") || cph.hasPrefix("DHE")) { fs.result = .fail }
            else if !(cph.contains("GCM") || cph.contains("CHACHA20") || cph.contains("CCM")) { fs.result = .warn }
        }
        out.append(fs)
        return (out, obs)
    }

    /// `certbot renew --dry-run` on the server (warn-only: a failure does not break the site today).
    func renewalCheck() async throws -> VerifyCheck {
        var argv = ["certbot", "renew", "--dry-run", "--no-random-sleep-on-renew", "--cert-name", options.domain,
                    "--non-interactive"]
        if let s = options.acmeServer { argv += ["--server", s] }
        var c = VerifyCheck(id: "tls.renewal", category: .tls, title: "certificate renewal (dry run)",
                            expected: "`certbot renew --dry-run` succeeds", seen: "", result: .warn,
                            fix: "run `sudo certbot renew --dry-run` on the server and fix what it reports (port 80 reachable, the nginx plugin)",
                            capOnFail: .b)
        let o = try await onServer(Command(argv, asRoot: true, timeout: .seconds(240)))
        let lines = o.all.split(separator: "\n").map(String.init)
        if o.succeeded {
            c.result = .pass
            c.seen = lines.last { $0.contains("simulat") || $0.contains("succeeded") }?.trimmed ?? "succeeded"
        } else {
            let how: String
            if let code = o.exitCode { how = String(code) } else { how = "\(o.termination)" }
            let tail = lines.filter { !$0.trimmed.isEmpty && !$0.hasPrefix("- ") }.suffix(2).joined(separator: " / ")
            c.seen = "exit " + how + ": " + tail
        }
        return c
    }

    // MARK: nginx

    func nginxArgs(_ flag: String) -> [String] {
        ["nginx", flag] + (options.nginxConfigFile.map { ["-c", $0] } ?? [])
    }

    func nginxChecks(staticHeaders: @escaping @Sendable ([String]) async throws -> VerifyCheck) async throws -> [VerifyCheck] {
        var out: [VerifyCheck] = []
        let t = try await onServer(Command(nginxArgs("-t"), asRoot: true))
        var test = VerifyCheck(id: "nginx.config-test", category: .nginx, title: "nginx -t is clean",
                               expected: "syntax ok, test successful, no warnings", seen: "", result: .fail,
                               fix: "run `sudo nginx -t` on the server and fix the reported file and line")
        let warns = t.all.split(separator: "\n").filter { $0.contains("[warn]") || $0.contains("[emerg]") || $0.contains("[alert]") }
        if t.succeeded {
            test.result = warns.isEmpty ? .pass : .warn
            test.seen = warns.isEmpty ? "test is successful" : warns.map(String.init).joined(separator: "; ")
        } else {
            test.seen = warns.isEmpty ? (t.all.split(separator: "\n").last.map(String.init) ?? "exit \(t.exitCode ?? -1)")
                : warns.map(String.init).joined(separator: "; ")
        }
        out.append(test)

        var lint = VerifyCheck(id: "nginx.add-header-inheritance", category: .nginx,
                               title: "no add_header inside a location dropping the server's headers",
                               expected: "no block with its own add_header while an enclosing level has add_header",
                               seen: "", result: .pass,
                               fix: "repeat every server-level add_header in that block (or move its add_header to the server level); nginx inherits add_header only into blocks that have none of their own")
        var serverHeaders: [String] = []
        let dump = try await onServer(Command(nginxArgs("-T"), asRoot: true))
        if !dump.succeeded && dump.stdout.isEmpty {
            lint.result = .fail
            lint.seen = "nginx -T failed: \(dump.stderr.split(separator: "\n").last.map(String.init) ?? "")"
        } else {
            do {
                let config = try NginxConfig.parseDump(dump.stdout)
                serverHeaders = NginxConfig.serverLevelHeaders(config, host: options.domain)
                let all = NginxConfig.lintAddHeader(config, includeHarmless: true)
                let dropping = all.filter { !$0.dropped.isEmpty }
                let harmless = all.filter { $0.dropped.isEmpty && NginxConfig.server(serverNamed: $0.serverNames, matches: options.domain) }
                let servers = NginxConfig.servers(config).filter { NginxConfig.server($0, matches: options.domain) }.count
                if !dropping.isEmpty {
                    lint.result = .fail
                    lint.seen = dropping.map(\.description).joined(separator: "; ")
                } else if !harmless.isEmpty {
                    lint.result = .warn
                    lint.seen = harmless.map(\.description).joined(separator: "; ")
                    lint.fix = "move these add_header lines to the server level (or repeat the server's headers there), so a header added later is not silently lost"
                } else {
                    lint.seen = "\(servers) server block\(servers == 1 ? "" : "s") for \(options.domain); server-level add_header: " +
                        (serverHeaders.isEmpty ? "none" : serverHeaders.joined(separator: ", "))
                }
            } catch {
                lint.result = .warn
                lint.seen = "could not parse `nginx -T`: \(error)"
            }
        }
        out.append(lint)
        out.append(try await staticHeaders(serverHeaders))
        return out
    }

    /// A static file over HTTPS: 200 from nginx itself (an ETag, none of Django's headers).
    func staticCheck(serverHeaders: [String]) async throws -> VerifyCheck {
        var c = VerifyCheck(id: "nginx.static", category: .nginx, title: "static files served by nginx",
                            expected: "200 from nginx (ETag), without Django's headers", seen: "", result: .fail,
                            fix: "the static-files stage: `location /static { alias STATIC_ROOT/; }` and collectstatic")
        var path = options.staticPath ?? "/static/"
        if options.staticPath == nil, server != nil {
            // the user's own project: any collected .js file
            let layout = try await AppLayout.resolve(server!)
            let o = try await onServer(Command(["find", layout.staticRoot, "-type", "f", "-name", "*.js", "-print", "-quit"], asRoot: true))
            if let f = o.stdout.split(separator: "\n").first, f.hasPrefix(layout.staticRoot) {
                path = "/static" + f.dropFirst(layout.staticRoot.count)
            }
        }
        var r = try await curl(scheme: "https", host: options.domain, path: path)
        if r.curlExit == 60 || r.curlExit == 35 { r = try await curl(scheme: "https", host: options.domain, path: path, insecure: true) }
        guard r.curlExit == 0 else { c.seen = "GET \(path): \(Self.describe(r))"; return c }
        let nginxAdds = Set(serverHeaders)
        let djangoMarkers = ["x-frame-options", "x-content-type-options", "referrer-policy", "cross-origin-opener-policy",
                             "content-security-policy", "vary"].filter { !nginxAdds.contains($0) && r.headers[$0] != nil }
        c.seen = "GET \(path) → \(r.status), Server: \(r.header("server") ?? "-"), ETag \(r.header("etag") == nil ? "absent" : "present")"
        if !djangoMarkers.isEmpty { c.seen += ", Django headers: \(djangoMarkers.joined(separator: ", "))" }
        if r.status == 200, r.header("etag") != nil, djangoMarkers.isEmpty { c.result = .pass }
        return c
    }

    // MARK: Django

    func djangoChecks() async throws -> [VerifyCheck] {
        guard let server else { return [] }
        var out: [VerifyCheck] = []
        let layout = try await AppLayout.resolve(server)

        var deploy = VerifyCheck(id: "django.check-deploy", category: .django,
                                 title: "manage.py check --deploy (production environment)",
                                 expected: "no issues", seen: "", result: .fail,
                                 fix: "fix each issue listed (see Django's deployment checklist); the secret key is read from \(layout.secretFile)")
        let o = try await onServer(layout.manage(["check", "--deploy"], timeout: .seconds(120)))
        let issues = o.all.split(separator: "\n").map(String.init).filter { $0.firstMatch(of: /\([a-z_]+\.[A-Z]\d+\)/) != nil }
        if o.succeeded && issues.isEmpty {
            deploy.result = .pass
            deploy.seen = o.all.split(separator: "\n").last { $0.contains("System check") }.map(String.init)?.trimmed ?? "no issues"
        } else if o.succeeded {
            deploy.result = .warn
            deploy.seen = "\(issues.count) warning\(issues.count == 1 ? "" : "s"): " + issues.map(\.trimmed).joined(separator: "; ")
        } else {
            deploy.seen = issues.isEmpty ? (o.all.split(separator: "\n").suffix(2).joined(separator: " / ")) : issues.map(\.trimmed).joined(separator: "; ")
        }
        out.append(deploy)

        // the settings as Django sees them with the production environment
        let code = "import json; from django.conf import settings as s; print('\u{1E}' + json.dumps({'debug': bool(s.DEBUG), 'allowed_hosts': list(s.ALLOWED_HOSTS)}))"
        let so = try await onServer(layout.manage(["shell", "-c", code], timeout: .seconds(120)))
        var settingsDebug: Bool?
        var allowed: [String]?
        if let line = so.stdout.split(separator: "\n").last(where: { $0.hasPrefix("\u{1E}") }),
           let obj = try? JSONSerialization.jsonObject(with: Data(line.dropFirst().utf8)) as? [String: Any] {
            settingsDebug = obj["debug"] as? Bool
            allowed = obj["allowed_hosts"] as? [String]
        }
        // the running app: an unknown URL must be a plain 404, not Django's debug page
        var page = try await curl(scheme: "https", host: options.domain, path: "/djdeploy-verify-404/", withBody: true)
        if page.curlExit == 60 || page.curlExit == 35 {
            page = try await curl(scheme: "https", host: options.domain, path: "/djdeploy-verify-404/", withBody: true, insecure: true)
        }
        let debugPage = page.body.contains("DEBUG = True") || page.body.contains("Using the URLconf defined in")
        var debug = VerifyCheck(id: "django.debug", category: .django, title: "DEBUG off",
                                expected: "DEBUG = False in the settings and in the running app (plain 404 page)",
                                seen: "", result: .fail,
                                fix: "DEBUG = False (the static-files stage's section of the managed block), then HUP gunicorn so it takes effect",
                                capOnFail: .c)
        let running = page.curlExit == 0 ? (debugPage ? "the running app shows Django's debug 404 page" : "the running app answers \(page.status) without the debug page")
            : "the running app could not be reached (\(Self.describe(page)))"
        debug.seen = "settings: DEBUG = \(settingsDebug.map { $0 ? "True" : "False" } ?? "unknown (\(so.stderr.split(separator: "\n").last.map(String.init) ?? "shell failed"))"); \(running)"
        if settingsDebug == false && !debugPage { debug.result = .pass }
        out.append(debug)

        var hosts = VerifyCheck(id: "django.allowed-hosts", category: .django, title: "ALLOWED_HOSTS set",
                                expected: "covers \(options.domain) and \(options.wwwDomain), no \"*\"", seen: "unknown",
                                result: .fail, fix: "ALLOWED_HOSTS = [\".\(options.domain)\"] (the django stage's section)")
        if let allowed {
            hosts.seen = allowed.isEmpty ? "empty" : allowed.joined(separator: ", ")
            func covers(_ h: String) -> Bool {
                allowed.contains { p in p == h || (p.hasPrefix(".") && (h == String(p.dropFirst()) || h.hasSuffix(p))) }
            }
            if allowed.contains("*") { hosts.result = .fail; hosts.fix = "replace \"*\" with the site's names: any Host header is accepted" }
            else if covers(options.domain) && covers(options.wwwDomain) { hosts.result = .pass }
        }
        out.append(hosts)
        return out
    }

    // MARK: ports

    func portChecks() async throws -> [VerifyCheck] {
        var out: [VerifyCheck] = []
        for (port, what) in [(options.httpPort, "HTTP"), (options.httpsPort, "HTTPS")] {
            let r = PortProbe.probe(host: options.serverIP, port: port)
            out.append(VerifyCheck(id: "ports.\(port)", category: .ports, title: "port \(port) (\(what)) open",
                                   expected: "open from the operator's machine", seen: r.rawValue,
                                   result: r == .open ? .pass : .fail,
                                   fix: r == .filtered ? "open TCP \(port) from anywhere in the firewall (the firewall steps)" : "start nginx and listen on \(port)",
                                   capOnFail: port == options.httpsPort ? .f : .b))
        }
        let app = options.appPort
        let r = PortProbe.probe(host: options.serverIP, port: app)
        var c = VerifyCheck(id: "ports.\(app)", category: .ports, title: "port \(app) (gunicorn) closed from outside",
                            expected: "refused or filtered (go-live removes the rule)", seen: r.rawValue,
                            result: r == .open ? .fail : .pass,
                            fix: "remove the inbound rule for TCP \(app) (the go-live firewall step); gunicorn should listen on 127.0.0.1 only")
        if r == .open && options.isLoopback {
            // On loopback the "outside" is the server itself: a firewall cannot be observed, and a
            // gunicorn bound to 127.0.0.1 answers although nobody outside could reach it. Ask the
            // server what the listener is bound to.
            let binds = try await listenAddresses(port: app)
            if let binds, !binds.isEmpty, binds.allSatisfy({ $0.hasPrefix("127.") || $0 == "[::1]" || $0 == "::1" }) {
                c.result = .pass
                c.seen = "answers on loopback only (listening on \(binds.joined(separator: ", "))): unreachable from outside the server; a firewall cannot be observed on loopback"
            } else {
                c.result = .warn
                c.seen = "open; the server is loopback (firewall not observable) and the listener is bound to \(binds?.joined(separator: ", ") ?? "unknown addresses")"
                c.fix = "bind gunicorn to 127.0.0.1:\(app) and close TCP \(app) in the firewall"
            }
        }
        out.append(c)
        return out
    }

    /// Local addresses of the listeners on `port` on the server (`ss -Hltn`), nil when unknown.
    func listenAddresses(port: Int) async throws -> [String]? {
        guard server != nil else { return nil }
        let o = try await onServer(Command(["ss", "-Hltn", "sport = :\(port)"], asRoot: false))
        guard o.succeeded else { return nil }
        return o.stdout.split(separator: "\n").compactMap { line -> String? in
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard f.count >= 4 else { return nil }
            let local = f[3]
            guard let colon = local.lastIndex(of: ":") else { return nil }
            return String(local[..<colon])
        }
    }

    // MARK: all

    /// Runs every check and grades.
    public func run() async throws -> VerifyReport {
        var checks: [VerifyCheck] = []
        let renewal: Task<VerifyCheck?, Never>? = (options.serverChecks && options.checkRenewal && server != nil) ? Task {
            do { return try await self.renewalCheck() } catch {
                return VerifyCheck(id: "tls.renewal", category: .tls, title: "certificate renewal (dry run)",
                                   expected: "`certbot renew --dry-run` succeeds", seen: "\(error)", result: .warn,
                                   fix: "run `sudo certbot renew --dry-run` on the server", capOnFail: .b)
            }
        } : nil
        log("HTTP: redirects and the unknown-host rule")
        checks += try await httpChecks()
        log("headers of https://\(options.domain)\(options.pagePath)")
        let (headerChecks, response) = try await headerChecks()
        checks += headerChecks
        let hsts = response?.headers["strict-transport-security"]?.first.flatMap(Grading.hstsMaxAge)
        log("TLS: protocols, chain, key")
        var (tls, obs) = try await tlsChecks(hstsMaxAge: hsts)
        if let renewal {
            log("TLS: certbot renew --dry-run on the server")
            if let c = await renewal.value { tls.append(c) }
        }
        checks += tls
        if options.serverChecks, server != nil {
            log("nginx: nginx -t, the add_header lint, static files")
            checks += try await nginxChecks(staticHeaders: { h in try await self.staticCheck(serverHeaders: h) })
            log("Django: check --deploy, DEBUG, ALLOWED_HOSTS")
            checks += try await djangoChecks()
        } else {
            checks.append(try await staticCheck(serverHeaders: []))
        }
        log("ports \(options.httpPort), \(options.httpsPort), \(options.appPort)")
        checks += try await portChecks()
        obs.hstsMaxAge = hsts
        return Self.grade(options: options, checks: checks, tls: obs)
    }

    public static func grade(options: VerifyOptions, checks: [VerifyCheck], tls obs: Grading.TLSObservation) -> VerifyReport {
        let headers = Grading.headersGrade(checks)
        let tls = Grading.tlsGrade(obs)
        let overall = Grading.overall(headers: headers, tls: tls, checks: checks)
        return VerifyReport(domain: options.domain, serverIP: options.serverIP, overall: overall, headers: headers,
                            tls: tls, checks: checks)
    }
}

extension NginxConfig {
    /// Whether any of `names` (a server's server_name values) covers `host`.
    static func server(serverNamed names: [String], matches host: String) -> Bool {
        server(Directive(name: "server", args: [], block: [Directive(name: "server_name", args: names, file: "", line: 0)],
                         file: "", line: 0), matches: host)
    }
}
