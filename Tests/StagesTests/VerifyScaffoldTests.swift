import Foundation
import StepRunner
import Testing
import WizardCore
@testable import Stages

#if canImport(Glibc)
import Glibc
#endif

/// The operator-side checks against a real, scratch nginx (test scaffolding, not product): a CA
/// and a certificate for both names made with openssl, nginx started with `-c` on spare loopback
/// ports, then broken one thing at a time. Needs nginx and openssl; skipped without them unless
/// CI=true.
@Suite(.serialized) struct VerifyScaffoldTests {
    static let httpPort = 18_580
    static let httpsPort = 18_543
    static let domain = "supersecure.test"

    static var toolsAvailable: Bool {
        ["/usr/sbin/nginx", "/usr/bin/openssl", "/usr/bin/curl"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let headerLines = """
        add_header Strict-Transport-Security "max-age=31536000; includeSubDomains; preload" always;
        add_header Content-Security-Policy "default-src 'self'; script-src 'self'; style-src 'self'" always;
        add_header X-Frame-Options DENY always;
        add_header X-Content-Type-Options nosniff always;
        add_header Referrer-Policy strict-origin-when-cross-origin always;
        add_header Permissions-Policy "camera=(), microphone=()" always;
    """

    final class Scaffold {
        let dir: String
        let local = SystemRunner(target: .local)

        init() throws {
            dir = NSTemporaryDirectory() + "djdeploy-verify-\(getpid())-\(UInt32.random(in: 0 ... .max))"
            try FileManager.default.createDirectory(atPath: dir + "/static/js", withIntermediateDirectories: true)
            try "console.log('greenlight')\n".write(toFile: dir + "/static/js/greenlight.js", atomically: true, encoding: .utf8)
            let script = """
            set -e; cd "$1"
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 -subj "/CN=djdeploy verify test CA" 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj "/CN=$2" 2>/dev/null
            printf 'subjectAltName=DNS:%s,DNS:www.%s\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' "$2" "$2" > ext.cnf
            openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 20 -extfile ext.cnf 2>/dev/null
            cat leaf.pem > fullchain.pem
            """
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", script, "sh", dir, VerifyScaffoldTests.domain]
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw StepError.other("openssl failed") }
        }

        var conf: String { dir + "/nginx.conf" }

        /// Writes the config and (re)starts nginx on it.
        func start(protocols: String = "TLSv1.2 TLSv1.3", ciphers: String? = nil, serverHeaders: String = VerifyScaffoldTests.headerLines,
                   staticExtra: String = "") async throws {
            let text = """
            pid \(dir)/nginx.pid;
            error_log \(dir)/error.log;
            events {}
            http {
                access_log off;
                server_tokens off;
                ssl_protocols \(protocols);
                \(ciphers.map { "ssl_ciphers \($0);" } ?? "")
                server { listen 127.0.0.1:\(httpPort) default_server; server_name _; return 444; }
                server { listen 127.0.0.1:\(httpPort); server_name .\(domain); return 307 https://$host$request_uri; }
                server {
                    listen 127.0.0.1:\(httpsPort) ssl;
                    server_name .\(domain);
                    ssl_certificate \(dir)/fullchain.pem;
                    ssl_certificate_key \(dir)/leaf.key;
                \(serverHeaders)
                    location / { return 200 "ok\\n"; }
                    location /static {
                        \(staticExtra)
                        alias \(dir)/static/;
                    }
                }
            }
            """
            try text.write(toFile: conf, atomically: true, encoding: .utf8)
            await stop()
            let r = try await local.run(Command(["nginx", "-c", conf, "-e", dir + "/error.log"], timeout: .seconds(20)))
            guard r.succeeded else { throw StepError.other("nginx did not start: \(r.stderrText)") }
            for _ in 0 ..< 50 where PortProbe.probe(host: "127.0.0.1", port: httpsPort) != .open {
                try await Task.sleep(for: .milliseconds(100))
            }
        }

        func stop() async {
            guard let pid = (try? String(contentsOfFile: dir + "/nginx.pid", encoding: .utf8)).flatMap({ Int32($0.trimmed) }) else { return }
            kill(pid, SIGQUIT)
            for _ in 0 ..< 50 where kill(pid, 0) == 0 { try? await Task.sleep(for: .milliseconds(100)) }
            try? FileManager.default.removeItem(atPath: dir + "/nginx.pid")
        }

        func verifier() -> Verifier {
            var o = VerifyOptions(domain: VerifyScaffoldTests.domain, serverIP: "127.0.0.1", caFile: dir + "/ca.pem",
                                  hstsFinalSeconds: 31_536_000)
            o.httpPort = VerifyScaffoldTests.httpPort
            o.httpsPort = VerifyScaffoldTests.httpsPort
            o.pagePath = "/myapp/"
            o.nginxConfigFile = conf
            let ctx = StepContext(stepID: "verify.report", runner: local, inputs: [:], needsRoot: false)
            return Verifier(options: o, local: local, server: ctx)
        }

        /// The checks that need no Django app: HTTP, headers, TLS, nginx (run on this machine).
        func report() async throws -> VerifyReport {
            let v = verifier()
            var checks = try await v.httpChecks()
            let (h, response) = try await v.headerChecks()
            checks += h
            let hsts = response?.headers["strict-transport-security"]?.first.flatMap(Grading.hstsMaxAge)
            let (tls, obs) = try await v.tlsChecks(hstsMaxAge: hsts)
            checks += tls
            checks += try await v.nginxChecks(staticHeaders: { h in try await v.staticCheck(serverHeaders: h) })
            return Verifier.grade(options: v.options, checks: checks, tls: obs)
        }

        func close() async {
            await stop()
            await local.shutdown()
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    func failures(_ r: VerifyReport) -> String {
        r.checks.filter { $0.result != .pass }.map { "\($0.id)=\($0.result.rawValue): \($0.seen)" }.joined(separator: "\n")
    }

    @Test func gradesAScratchSiteAndEachBreakage() async throws {
        guard Self.toolsAvailable else {
            if ProcessInfo.processInfo.environment["DJDEPLOY_TEST_CI"] != nil { Issue.record("nginx/openssl/curl missing") }
            return
        }
        let s = try Scaffold()
        do {
            // 1. the good site: A+, everything passes
            try await s.start()
            let good = try await s.report()
            #expect(good.overall.grade == .aPlus, "\(failures(good))")
            #expect(good.headers.grade == .aPlus && good.tls.grade == .aPlus)
            #expect(good.failed.isEmpty && good.warned.isEmpty, "\(failures(good))")
            #expect(good.check("http.redirect.www")?.seen.contains("https://www.supersecure.test/myapp/?djdeploy-verify=1") == true)
            #expect(good.check("http.unknown-host")?.result == .pass)
            #expect(good.check("tls.key")?.seen == "RSA 2048 bits")
            #expect(good.check("nginx.static")?.result == .pass, "\(failures(good))")

            // 2. HSTS removed: the header check names it, headers drop to B
            try await s.start(serverHeaders: Self.headerLines.split(separator: "\n").filter { !$0.contains("Strict-Transport") }.joined(separator: "\n"))
            let noHSTS = try await s.report()
            #expect(noHSTS.check("headers.hsts")?.result == .fail)
            #expect(noHSTS.headers.grade == .b && noHSTS.overall.grade == .b)
            #expect(noHSTS.tls.grade == .a)  // no long HSTS: no A+ at SSL Labs either

            // 3. TLS 1.0/1.1 enabled (with the server's security level lowered, as old OpenSSL
            // builds effectively had): the protocol checks fail, TLS is capped at B
            try await s.start(protocols: "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3", ciphers: "DEFAULT:@SECLEVEL=0")
            let old = try await s.report()
            #expect(old.check("tls.protocol.tls1_1")?.result == .fail)
            #expect(old.check("tls.protocol.tls1_0")?.result == .fail)
            #expect(old.tls.grade == .b && old.overall.grade == .b)

            // 3b. TLS 1.1 in ssl_protocols only: OpenSSL 3 at the default security level still
            // refuses it, and our client (SECLEVEL=0) proves that
            try await s.start(protocols: "TLSv1.1 TLSv1.2 TLSv1.3")
            let onlyListed = try await s.report()
            #expect(onlyListed.check("tls.protocol.tls1_1")?.result == .pass, "\(failures(onlyListed))")

            // 4. an add_header inside location /static: the lint names it, the static file loses
            // the server's headers
            try await s.start(staticExtra: "add_header Cache-Control \"public, max-age=86400\";")
            let trap = try await s.report()
            let lint = try #require(trap.check("nginx.add-header-inheritance"))
            #expect(lint.result == .fail)
            #expect(lint.seen.contains("location /static") && lint.seen.contains("strict-transport-security"))
            #expect(trap.overall.grade == .b)

            // 5. the certificate verified against another CA: T
            var v = s.verifier()
            v.options.caFile = "/etc/ssl/certs/ca-certificates.crt"
            try await s.start()
            let (tls, obs) = try await v.tlsChecks(hstsMaxAge: 31_536_000)
            #expect(tls.first { $0.id == "tls.chain.apex" }?.result == .fail)
            #expect(Grading.tlsGrade(obs).grade == .t)
        } catch {
            Issue.record("\(error)")
        }
        await s.close()
    }
}
