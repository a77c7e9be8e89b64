import Foundation
import Testing
@testable import Stages

/// The grading rules of docs/grading.md, one by one.
@Suite struct VerifyGradingTests {
    static let good: [String: [String]] = [
        "strict-transport-security": ["max-age=31536000; includeSubDomains; preload"],
        "content-security-policy": ["default-src 'self'; script-src 'self'; style-src 'self'"],
        "x-frame-options": ["DENY"],
        "x-content-type-options": ["nosniff"],
        "referrer-policy": ["strict-origin-when-cross-origin"],
        "permissions-policy": ["camera=(), microphone=(), geolocation=()"],
        "server": ["nginx"],
    ]

    func grade(_ h: [String: [String]], final: Int? = 2_592_000) -> (GradeResult, [VerifyCheck]) {
        let checks = Grading.headerChecks(h, hstsFinalSeconds: final)
        return (Grading.headersGrade(checks), checks)
    }

    func check(_ checks: [VerifyCheck], _ id: String) -> VerifyCheck? { checks.first { $0.id == id } }

    // MARK: headers

    @Test func allSixHeadersLongHSTSIsAPlus() {
        let (g, checks) = grade(Self.good)
        #expect(g.grade == .aPlus)
        #expect(g.reasons.isEmpty)
        #expect(checks.allSatisfy { $0.result == .pass })
    }

    @Test func unsafeInlineInCSPCapsAtA() {
        var h = Self.good
        h["content-security-policy"] = ["default-src 'self'; style-src 'self' 'unsafe-inline'"]
        let (g, checks) = grade(h)
        #expect(g.grade == .a)
        #expect(check(checks, "headers.csp")?.result == .warn)
        #expect(g.reasons.contains { $0.contains("Content-Security-Policy") })
        h["content-security-policy"] = ["script-src 'self' 'unsafe-eval'"]
        #expect(grade(h).0.grade == .a)
    }

    @Test func hstsRampAndShortMaxAgeWarn() {
        var h = Self.good
        h["strict-transport-security"] = ["max-age=30; includeSubDomains; preload"]
        let (g, checks) = grade(h)
        #expect(g.grade == .a)
        let c = check(checks, "headers.hsts")!
        #expect(c.result == .warn)
        #expect(c.seen.contains("ramp"))
        h["strict-transport-security"] = ["max-age=2592000; includeSubDomains"]
        let (g2, c2) = grade(h, final: 2_592_000)
        #expect(g2.grade == .a)
        #expect(check(c2, "headers.hsts")!.seen.contains("raised to the final value"))
        h["strict-transport-security"] = ["max-age=15552000"]
        #expect(grade(h).0.grade == .aPlus)
    }

    @Test func hstsZeroOrMalformedCountsAsMissing() {
        var h = Self.good
        h["strict-transport-security"] = ["max-age=0"]
        #expect(grade(h).0.grade == .b)
        h["strict-transport-security"] = ["includeSubDomains"]
        #expect(grade(h).0.grade == .b)
        #expect(Grading.hstsMaxAge("max-age=\"300\"; preload") == 300)
        #expect(Grading.hstsMaxAge(" MAX-AGE = 60 ") == 60)
        #expect(Grading.hstsMaxAge("preload") == nil)
    }

    @Test func duplicateHSTSWarns() {
        var h = Self.good
        h["strict-transport-security"] = ["max-age=31536000", "max-age=31536000"]
        let (g, checks) = grade(h)
        #expect(check(checks, "headers.hsts")?.result == .warn)
        #expect(g.grade == .a)
    }

    @Test func gradeByNumberOfHeaders() {
        let order = Grading.gradedHeaders
        // remove headers one at a time: 6 → A+, 5 → B, 4 → B, 3 → C, 2 → C, 1 → D, 0 → F
        let expected: [Grade] = [.aPlus, .b, .b, .c, .c, .d, .f]
        var h = Self.good
        for (i, want) in expected.enumerated() {
            if i > 0 { h[order[i - 1]] = nil }
            #expect(grade(h).0.grade == want, "with \(6 - i) headers")
        }
    }

    @Test func invalidValuesCountAsMissing() {
        var h = Self.good
        h["x-content-type-options"] = ["sniff"]
        #expect(grade(h).0.grade == .b)
        h = Self.good
        h["x-frame-options"] = ["ALLOW-FROM https://example.com"]
        #expect(grade(h).0.grade == .b)
        h = Self.good
        h["referrer-policy"] = ["nonsense"]
        #expect(grade(h).0.grade == .b)
        h = Self.good
        h["referrer-policy"] = ["no-referrer, strict-origin-when-cross-origin"]
        #expect(grade(h).0.grade == .aPlus)
        h["referrer-policy"] = ["unsafe-url"]
        #expect(grade(h).0.grade == .a)
    }

    @Test func reportOnlyCSPAndFeaturePolicyDoNotCount() {
        var h = Self.good
        h["content-security-policy"] = nil
        h["content-security-policy-report-only"] = ["default-src 'self'"]
        let (g, checks) = grade(h)
        #expect(g.grade == .b)
        #expect(check(checks, "headers.csp")!.seen.contains("Report-Only"))
        h = Self.good
        h["permissions-policy"] = nil
        h["feature-policy"] = ["camera 'none'"]
        #expect(grade(h).0.grade == .b)
    }

    @Test func serverVersionWarns() {
        var h = Self.good
        h["server"] = ["nginx/1.22.1"]
        let (g, checks) = grade(h)
        #expect(check(checks, "headers.server")?.result == .warn)
        #expect(g.grade == .a)
        h = Self.good
        h["server"] = nil
        #expect(grade(h).0.grade == .aPlus)
        h["x-powered-by"] = ["Django"]
        #expect(grade(h).0.grade == .a)
    }

    // MARK: TLS

    static var goodTLS: Grading.TLSObservation {
        var o = Grading.TLSObservation()
        o.accepted = [.tls1_0: false, .tls1_1: false, .tls1_2: true, .tls1_3: true]
        o.chainErrors = ["supersecure.test": String?.none, "www.supersecure.test": String?.none]
        o.daysLeft = 89
        o.keyType = "RSA"
        o.keyBits = 4096
        o.tls12Cipher = "ECDHE-RSA-AES256-GCM-SHA384"
        o.hstsMaxAge = 31_536_000
        return o
    }

    @Test func modernTLSWithLongHSTSIsAPlus() {
        #expect(Grading.tlsGrade(Self.goodTLS).grade == .aPlus)
    }

    @Test func oldProtocolsCapAtB() {
        var o = Self.goodTLS
        o.accepted[.tls1_1] = true
        let g = Grading.tlsGrade(o)
        #expect(g.grade == .b)
        #expect(g.reasons.contains { $0.contains("TLS 1.1") })
        o.accepted[.tls1_0] = true
        #expect(Grading.tlsGrade(o).grade == .b)
    }

    @Test func shortHSTSOrNoTLS13IsA() {
        var o = Self.goodTLS
        o.hstsMaxAge = 2_592_000
        #expect(Grading.tlsGrade(o).grade == .a)
        o.hstsMaxAge = nil
        #expect(Grading.tlsGrade(o).grade == .a)
        o = Self.goodTLS
        o.accepted[.tls1_3] = false
        #expect(Grading.tlsGrade(o).grade == .a)
    }

    @Test func certificateProblems() {
        var o = Self.goodTLS
        o.chainErrors["www.supersecure.test"] = "unable to get local issuer certificate"
        #expect(Grading.tlsGrade(o).grade == .t)
        o = Self.goodTLS
        o.chainErrors["www.supersecure.test"] = "hostname mismatch"
        #expect(Grading.tlsGrade(o).grade == .f)
        o = Self.goodTLS
        o.chainErrors["supersecure.test"] = "certificate has expired"
        #expect(Grading.tlsGrade(o).grade == .f)
        o = Self.goodTLS
        o.daysLeft = -2
        #expect(Grading.tlsGrade(o).grade == .f)
    }

    @Test func keysAndCiphers() {
        var o = Self.goodTLS
        o.keyBits = 1024
        #expect(Grading.tlsGrade(o).grade == .b)
        o.keyBits = 512
        #expect(Grading.tlsGrade(o).grade == .f)
        o = Self.goodTLS
        o.keyType = "EC"
        o.keyBits = 256
        #expect(Grading.tlsGrade(o).grade == .aPlus)
        o = Self.goodTLS
        o.tls12Cipher = "AES256-GCM-SHA384"
        #expect(Grading.tlsGrade(o).grade == .b)
        o.tls12Cipher = "ECDHE-RSA-AES256-SHA384"
        #expect(Grading.tlsGrade(o).grade == .a)
    }

    @Test func noModernHandshakeIsF() {
        var o = Self.goodTLS
        o.accepted = [.tls1_0: false, .tls1_1: false, .tls1_2: false, .tls1_3: false]
        #expect(Grading.tlsGrade(o).grade == .f)
    }

    // MARK: overall

    @Test func overallIsTheWorseGradeThenCappedByChecks() {
        let aPlus = GradeResult(grade: .aPlus)
        let ok = VerifyCheck(id: "nginx.config-test", category: .nginx, title: "", expected: "", seen: "", result: .pass)
        #expect(Grading.overall(headers: aPlus, tls: aPlus, checks: [ok]).grade == .aPlus)
        #expect(Grading.overall(headers: GradeResult(grade: .a), tls: GradeResult(grade: .b), checks: [ok]).grade == .b)
        var warn = ok
        warn.result = .warn
        #expect(Grading.overall(headers: aPlus, tls: aPlus, checks: [warn]).grade == .a)
        var failed = ok
        failed.result = .fail
        #expect(Grading.overall(headers: aPlus, tls: aPlus, checks: [failed]).grade == .b)
        failed.capOnFail = .c
        let r = Grading.overall(headers: aPlus, tls: aPlus, checks: [failed])
        #expect(r.grade == .c)
        #expect(r.reasons.contains { $0.contains("nginx.config-test") })
        // graded checks (no cap) count only through their grade
        var header = failed
        header.capOnFail = nil
        #expect(Grading.overall(headers: aPlus, tls: aPlus, checks: [header]).grade == .aPlus)
    }

    @Test func gradeOrder() {
        #expect(Grade.aPlus > .a && Grade.a > .b && Grade.e > .f && Grade.f > .t)
        #expect(Grade.aPlus.capped(at: .b) == .b)
        #expect(Grade.c.capped(at: .a) == .c)
        #expect(Grade.a.isAOrBetter && !Grade.b.isAOrBetter)
    }

    @Test func reportSucceedsOnlyWithAAndNoFailure() {
        let pass = VerifyCheck(id: "x", category: .http, title: "", expected: "", seen: "", result: .pass)
        var fail = pass
        fail.result = .fail
        fail.capOnFail = nil  // a failed check that does not lower the grade still fails the report
        let a = GradeResult(grade: .a)
        #expect(VerifyReport(domain: "d", serverIP: "1", overall: a, headers: a, tls: a, checks: [pass]).succeeded)
        #expect(!VerifyReport(domain: "d", serverIP: "1", overall: a, headers: a, tls: a, checks: [pass, fail]).succeeded)
        let b = GradeResult(grade: .b)
        #expect(!VerifyReport(domain: "d", serverIP: "1", overall: b, headers: a, tls: a, checks: [pass]).succeeded)
    }

    @Test func renderings() throws {
        let checks = Grading.headerChecks(Self.good, hstsFinalSeconds: nil)
        let report = Verifier.grade(options: VerifyOptions(domain: "supersecure.test", serverIP: "127.0.0.1"),
                                    checks: checks, tls: Self.goodTLS)
        #expect(report.overall.grade == .aPlus)
        let json = try JSONSerialization.jsonObject(with: report.json()) as! [String: Any]
        #expect((json["overall"] as? [String: Any])?["grade"] as? String == "A+")
        #expect((json["checks"] as? [[String: Any]])?.count == checks.count)
        let md = report.markdown()
        #expect(md.contains("**Overall grade: A+**"))
        #expect(md.contains("| Strict-Transport-Security (`headers.hsts`) | PASS |"))
        let table = report.table()
        #expect(table.count > checks.count + 5)
        #expect(table[0].contains("#"))
        #expect(VerifyReport.banner(.aPlus).count == 5)
    }

    // MARK: parsing tool output

    @Test func curlHeaderBlocks() {
        let text = "HTTP/1.1 100 Continue\r\n\r\nHTTP/2 200 \r\nserver: nginx\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\n"
        let (status, headers) = Verifier.parseHeaders(text)
        #expect(status == 200)
        #expect(headers["server"] == ["nginx"])
        #expect(headers["set-cookie"] == ["a=1", "b=2"])
    }

    @Test func opensslOutputs() {
        let tls11 = """
        New, TLSv1.0, Cipher is ECDHE-RSA-AES256-SHA
        SSL-Session:
            Protocol  : TLSv1.1
            Cipher    : ECDHE-RSA-AES256-SHA
            Verify return code: 19 (self-signed certificate in certificate chain)
        """
        let p = Verifier.sClientCipher(tls11)
        #expect(p.proto == "TLSv1.1" && p.cipher == "ECDHE-RSA-AES256-SHA")
        #expect(Verifier.verifyReturn(tls11)?.code == 19)
        let refused = "New, (NONE), Cipher is (NONE)\n    Protocol  : TLSv1.1\n    Cipher    : 0000"
        #expect(Verifier.sClientCipher(refused).cipher == nil)
        #expect(Verifier.sClientCipher("New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384").proto == "TLSv1.3")

        let x509 = """
        Certificate:
            Data:
                Issuer: CN = Pebble Intermediate CA 1a2b3c
                Validity
                    Not Before: Jan  1 00:00:00 2026 GMT
                    Not After : Mar  1 12:30:00 2026 GMT
                Subject Public Key Info:
                    Public Key Algorithm: rsaEncryption
                        Public-Key: (4096 bit)
                X509v3 extensions:
                    X509v3 Subject Alternative Name: critical
                        DNS:supersecure.test, DNS:www.supersecure.test
        """
        let c = Verifier.parseCert(x509)
        #expect(c.keyType == "RSA" && c.keyBits == 4096)
        #expect(c.sans == ["supersecure.test", "www.supersecure.test"])
        #expect(c.issuer == "CN = Pebble Intermediate CA 1a2b3c")
        let comps = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: c.notAfter!)
        #expect(comps.year == 2026 && comps.month == 3 && comps.day == 1 && comps.hour == 12)
    }
}
