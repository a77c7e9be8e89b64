import Foundation

/// The grading rules (written down in docs/grading.md). Pure functions of observations, so that
/// every rule is unit-tested without a server.
public enum Grading {
    /// SSL Labs' "long duration" HSTS and our full marks for the header: 180 days.
    public static let hstsLongSeconds = 15_552_000
    /// The tutorial's HSTS ramp value.
    public static let hstsRampSeconds = 30

    // MARK: - Headers (securityheaders.com)

    /// The six headers securityheaders.com grades, in its order.
    public static let gradedHeaders = ["strict-transport-security", "content-security-policy", "x-frame-options",
                                       "x-content-type-options", "referrer-policy", "permissions-policy"]

    static let referrerTokens: Set<String> = [
        "no-referrer", "no-referrer-when-downgrade", "origin", "origin-when-cross-origin", "same-origin",
        "strict-origin", "strict-origin-when-cross-origin", "unsafe-url",
    ]

    /// `max-age` of a Strict-Transport-Security value (nil when absent or malformed).
    public static func hstsMaxAge(_ value: String) -> Int? {
        for part in value.split(separator: ";") {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if kv.count == 2, kv[0].lowercased() == "max-age" {
                return Int(kv[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
            }
        }
        return nil
    }

    /// The HSTS ramp state for display: `ramp` (the tutorial's 30 s), `raised` (the final value),
    /// or the plain duration.
    public static func hstsRampState(maxAge: Int, finalSeconds: Int?) -> String {
        if maxAge == 0 { return "disabled (max-age=0)" }
        if maxAge <= hstsRampSeconds { return "ramp (\(maxAge) s: HSTS being tried out; go-live raises it)" }
        if let f = finalSeconds, maxAge == f { return "raised to the final value (\(duration(maxAge)))" }
        return "max-age \(duration(maxAge))"
    }

    static func duration(_ s: Int) -> String {
        if s >= 86_400 { return "\(s) s = \(s / 86_400) days" }
        return "\(s) s"
    }

    /// The header checks for one HTTPS response. `headers`: lower-cased name → every value sent.
    public static func headerChecks(_ headers: [String: [String]], hstsFinalSeconds: Int?) -> [VerifyCheck] {
        func one(_ name: String) -> String? {
            guard let v = headers[name], !v.isEmpty else { return nil }
            return v.joined(separator: ", ")
        }
        var out: [VerifyCheck] = []

        // Strict-Transport-Security
        do {
            let expected = "max-age ≥ \(hstsLongSeconds) (180 days); includeSubDomains"
            var c = VerifyCheck(id: "headers.hsts", category: .headers, title: "Strict-Transport-Security",
                                expected: expected, seen: "absent", result: .fail,
                                fix: "set SECURE_HSTS_SECONDS (settings.py) — run the security-headers and go-live stages; raise hsts_final_seconds to ≥ \(hstsLongSeconds) for full marks",
                                capOnFail: nil)
            if let v = one("strict-transport-security") {
                if (headers["strict-transport-security"]?.count ?? 0) > 1 {
                    c.seen = "sent \(headers["strict-transport-security"]!.count) times: \(v)"
                    c.fix = "send the header once (browsers use only the first): it is set both by Django and by an nginx add_header"
                    c.result = .warn
                } else if let age = hstsMaxAge(v) {
                    let state = hstsRampState(maxAge: age, finalSeconds: hstsFinalSeconds)
                    c.seen = "\(v) — \(state)"
                    if age <= 0 {
                        c.result = .fail
                    } else if age < hstsLongSeconds {
                        c.result = .warn
                        c.fix = age <= hstsRampSeconds
                            ? "still on the HSTS ramp: run go-live to raise it (hsts_final_seconds ≥ \(hstsLongSeconds) for A+)"
                            : "raise SECURE_HSTS_SECONDS (hsts_final_seconds) to ≥ \(hstsLongSeconds) for full marks"
                    } else {
                        c.result = .pass
                    }
                } else {
                    c.seen = "\(v) (no valid max-age)"
                }
            }
            out.append(c)
        }

        // Content-Security-Policy
        do {
            var c = VerifyCheck(id: "headers.csp", category: .headers, title: "Content-Security-Policy",
                                expected: "present, without 'unsafe-inline' or 'unsafe-eval'", seen: "absent",
                                result: .fail, fix: "enable django-csp (the security-headers stage)", capOnFail: nil)
            if let v = one("content-security-policy") {
                c.seen = v
                let lower = v.lowercased()
                let unsafe = ["'unsafe-inline'", "'unsafe-eval'"].filter { lower.contains($0) }
                if unsafe.isEmpty {
                    c.result = .pass
                } else {
                    c.result = .warn
                    c.fix = "remove \(unsafe.joined(separator: " and ")) from the policy (move inline styles/scripts to files, or use nonces/hashes)"
                }
            } else if let ro = one("content-security-policy-report-only") {
                c.seen = "only Content-Security-Policy-Report-Only: \(ro)"
                c.fix = "enforce the policy (CSP_REPORT_ONLY = False)"
            }
            out.append(c)
        }

        // X-Frame-Options
        do {
            var c = VerifyCheck(id: "headers.x-frame-options", category: .headers, title: "X-Frame-Options",
                                expected: "DENY or SAMEORIGIN", seen: "absent", result: .fail,
                                fix: "keep django.middleware.clickjacking.XFrameOptionsMiddleware (X_FRAME_OPTIONS = \"DENY\")",
                                capOnFail: nil)
            if let v = one("x-frame-options") {
                c.seen = v
                c.result = ["deny", "sameorigin"].contains(v.lowercased().trimmingCharacters(in: .whitespaces)) ? .pass : .fail
            }
            out.append(c)
        }

        // X-Content-Type-Options
        do {
            var c = VerifyCheck(id: "headers.x-content-type-options", category: .headers, title: "X-Content-Type-Options",
                                expected: "nosniff", seen: "absent", result: .fail,
                                fix: "SECURE_CONTENT_TYPE_NOSNIFF = True (Django's SecurityMiddleware)", capOnFail: nil)
            if let v = one("x-content-type-options") {
                c.seen = v
                c.result = v.lowercased().trimmingCharacters(in: .whitespaces) == "nosniff" ? .pass : .fail
            }
            out.append(c)
        }

        // Referrer-Policy
        do {
            var c = VerifyCheck(id: "headers.referrer-policy", category: .headers, title: "Referrer-Policy",
                                expected: "a valid policy (e.g. strict-origin-when-cross-origin), not unsafe-url",
                                seen: "absent", result: .fail, fix: "set SECURE_REFERRER_POLICY", capOnFail: nil)
            if let v = one("referrer-policy") {
                c.seen = v
                let tokens = v.lowercased().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty }
                if tokens.isEmpty || !tokens.allSatisfy({ referrerTokens.contains($0) }) {
                    c.result = .fail
                    c.fix = "use a valid policy token in SECURE_REFERRER_POLICY"
                } else if tokens.last == "unsafe-url" {
                    c.result = .warn
                    c.fix = "unsafe-url leaks full URLs to other sites: use strict-origin-when-cross-origin"
                } else {
                    c.result = .pass
                }
            }
            out.append(c)
        }

        // Permissions-Policy
        do {
            var c = VerifyCheck(id: "headers.permissions-policy", category: .headers, title: "Permissions-Policy",
                                expected: "present (features the site does not use switched off)", seen: "absent",
                                result: .fail, fix: "add the Permissions-Policy header (the security-headers stage)",
                                capOnFail: nil)
            if let v = one("permissions-policy"), !v.trimmingCharacters(in: .whitespaces).isEmpty {
                c.seen = v
                c.result = .pass
            } else if let fp = one("feature-policy") {
                c.seen = "only the obsolete Feature-Policy: \(fp)"
            }
            out.append(c)
        }

        // Server
        do {
            var c = VerifyCheck(id: "headers.server", category: .headers, title: "Server header without a version",
                                expected: "absent or a bare name (nginx)", seen: "absent", result: .pass,
                                fix: "server_tokens off; in nginx.conf (the nginx stage writes it)", capOnFail: nil)
            if let v = one("server") {
                c.seen = v
                if v.contains(where: \.isNumber) { c.result = .warn }
            }
            if let p = one("x-powered-by") {
                c.seen += "; X-Powered-By: \(p)"
                c.result = .warn
                c.fix = "remove X-Powered-By (it names the software and its version)"
            }
            out.append(c)
        }
        return out
    }

    /// The headers grade from the header checks (see docs/grading.md): by how many of the six
    /// graded headers are present and valid; A+ needs all six and no warning on any header.
    public static func headersGrade(_ checks: [VerifyCheck]) -> GradeResult {
        let graded = ["headers.hsts", "headers.csp", "headers.x-frame-options", "headers.x-content-type-options",
                      "headers.referrer-policy", "headers.permissions-policy"]
        let byID = Dictionary(checks.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var missing: [String] = []
        for id in graded where (byID[id]?.result ?? .fail) == .fail {
            missing.append(byID[id]?.title ?? id)
        }
        let present = graded.count - missing.count
        let base: Grade
        switch present {
        case 6: base = .a
        case 4, 5: base = .b
        case 2, 3: base = .c
        case 1: base = .d
        default: base = .f
        }
        var reasons = missing.map { "\($0) missing or invalid" }
        let warnings = checks.filter { $0.category == .headers && $0.result == .warn }
        if base == .a && warnings.isEmpty { return GradeResult(grade: .aPlus) }
        reasons += warnings.map { "\($0.title): \($0.seen)" }
        return GradeResult(grade: base, reasons: reasons)
    }

    // MARK: - TLS (SSL Labs)

    public enum TLSVersion: String, Sendable, Codable, CaseIterable {
        case tls1_0 = "TLSv1", tls1_1 = "TLSv1.1", tls1_2 = "TLSv1.2", tls1_3 = "TLSv1.3"
        /// openssl s_client's flag.
        public var flag: String {
            switch self {
            case .tls1_0: return "-tls1"
            case .tls1_1: return "-tls1_1"
            case .tls1_2: return "-tls1_2"
            case .tls1_3: return "-tls1_3"
            }
        }
        public var id: String {
            switch self {
            case .tls1_0: return "tls1_0"
            case .tls1_1: return "tls1_1"
            case .tls1_2: return "tls1_2"
            case .tls1_3: return "tls1_3"
            }
        }
        public var label: String { rawValue == "TLSv1" ? "TLS 1.0" : rawValue.replacingOccurrences(of: "TLSv", with: "TLS ") }
        public var deprecated: Bool { self == .tls1_0 || self == .tls1_1 }
    }

    /// What the operator side saw of the TLS endpoint.
    public struct TLSObservation: Sendable, Equatable {
        /// true = handshake completed with this version, false = refused, absent = not tested.
        public var accepted: [TLSVersion: Bool] = [:]
        /// name → nil when the chain verified for that name, else openssl's reason.
        public var chainErrors: [String: String?] = [:]
        public var daysLeft: Int?
        /// `RSA`, `EC`, `Ed25519`, …
        public var keyType: String?
        public var keyBits: Int?
        /// The cipher negotiated with TLS 1.2 (OpenSSL name), when 1.2 is accepted.
        public var tls12Cipher: String?
        /// max-age of Strict-Transport-Security on the HTTPS response.
        public var hstsMaxAge: Int?

        public init() {}
    }

    /// An openssl verify error that means the certificate is wrong for the site (F) rather than
    /// not trusted (T).
    static func isMismatchOrExpired(_ reason: String) -> Bool {
        let r = reason.lowercased()
        return r.contains("hostname mismatch") || r.contains("expired") || r.contains("not yet valid")
    }

    /// The TLS grade (SSL Labs' rating guide, see docs/grading.md).
    public static func tlsGrade(_ o: TLSObservation) -> GradeResult {
        var grade = Grade.aPlus
        var reasons: [String] = []
        func cap(_ g: Grade, _ why: String) {
            grade = grade.capped(at: g)
            reasons.append("\(why) (caps TLS at \(g))")
        }
        let modern = [TLSVersion.tls1_2, .tls1_3].filter { o.accepted[$0] == true }
        if modern.isEmpty {
            return GradeResult(grade: .f, reasons: ["no TLS 1.2 or 1.3 handshake succeeded"])
        }
        // certificate
        for (name, err) in o.chainErrors.sorted(by: { $0.key < $1.key }) {
            guard let err else { continue }
            if isMismatchOrExpired(err) { cap(.f, "certificate invalid for \(name): \(err)") }
            else { cap(.t, "certificate not trusted for \(name): \(err)") }
        }
        if let d = o.daysLeft, d < 0 { cap(.f, "certificate expired \(-d) days ago") }
        // protocols
        let old = [TLSVersion.tls1_0, .tls1_1].filter { o.accepted[$0] == true }
        if !old.isEmpty { cap(.b, "\(old.map(\.label).joined(separator: " and ")) accepted") }
        if o.accepted[.tls1_2] != true { reasons.append("TLS 1.2 refused: older clients cannot connect (no A+)"); grade = grade.capped(at: .a) }
        if o.accepted[.tls1_3] != true { reasons.append("TLS 1.3 not supported (no A+)"); grade = grade.capped(at: .a) }
        // key
        if let bits = o.keyBits, let type = o.keyType?.uppercased() {
            if type == "RSA" {
                if bits < 1024 { cap(.f, "RSA key of \(bits) bits") }
                else if bits < 2048 { cap(.b, "RSA key of \(bits) bits (< 2048)") }
            } else if type == "EC", bits < 256 {
                cap(.b, "EC key of \(bits) bits (< 256)")
            }
        }
        // cipher negotiated with TLS 1.2
        if let c = o.tls12Cipher?.uppercased() {
            let fs = c.hasPrefix("ECDHE") || c.hasPrefix("DHE") || c.hasPrefix("TLS_")
            let aead = c.contains("GCM") || c.contains("CHACHA20") || c.contains("CCM")
            if !fs { cap(.b, "TLS 1.2 negotiates \(o.tls12Cipher!) without forward secrecy") }
            else if !aead { reasons.append("TLS 1.2 negotiates \(o.tls12Cipher!), not an AEAD cipher (no A+)"); grade = grade.capped(at: .a) }
        }
        // HSTS
        if grade == .aPlus {
            if let age = o.hstsMaxAge, age >= hstsLongSeconds {
                // A+
            } else {
                grade = .a
                reasons.append(o.hstsMaxAge.map { "HSTS max-age \($0) s is shorter than 180 days (A+ needs a long HSTS)" }
                               ?? "no HSTS on the HTTPS response (A+ needs a long HSTS)")
            }
        }
        return GradeResult(grade: grade, reasons: reasons)
    }

    // MARK: - Overall

    /// The overall grade: the worse of the headers and TLS grades, then capped by every other
    /// check — a failure caps at its `capOnFail` (B unless stated), a warning at A.
    public static func overall(headers: GradeResult, tls: GradeResult, checks: [VerifyCheck]) -> GradeResult {
        var grade = headers.grade.capped(at: tls.grade)
        var reasons: [String] = []
        if headers.grade < .aPlus { reasons += headers.reasons.map { "headers \(headers.grade): \($0)" } }
        if tls.grade < .aPlus { reasons += tls.reasons.map { "TLS \(tls.grade): \($0)" } }
        for c in checks {
            guard let capTo = c.capOnFail else { continue }
            switch c.result {
            case .pass: continue
            case .warn:
                grade = grade.capped(at: .a)
                reasons.append("\(c.id) warns (caps at A): \(c.seen)")
            case .fail:
                grade = grade.capped(at: capTo)
                reasons.append("\(c.id) failed (caps at \(capTo)): \(c.seen)")
            }
        }
        return GradeResult(grade: grade, reasons: reasons)
    }
}
