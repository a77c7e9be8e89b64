import Foundation

/// Letter grades, best first. `T` is SSL Labs' "certificate not trusted": it ranks with F (a
/// browser refuses the site) but is shown as T so the reason is visible.
public enum Grade: String, Sendable, Codable, CaseIterable, Comparable, CustomStringConvertible {
    case aPlus = "A+"
    case a = "A"
    case b = "B"
    case c = "C"
    case d = "D"
    case e = "E"
    case f = "F"
    case t = "T"

    /// Higher is better.
    public var rank: Int {
        switch self {
        case .aPlus: return 7
        case .a: return 6
        case .b: return 5
        case .c: return 4
        case .d: return 3
        case .e: return 2
        case .f, .t: return 1
        }
    }

    public static func < (x: Grade, y: Grade) -> Bool {
        x.rank != y.rank ? x.rank < y.rank : (x == .t && y == .f)  // T sorts below F at equal rank
    }

    /// The worse of the two.
    public func capped(at cap: Grade) -> Grade { cap < self ? cap : self }

    /// A or better.
    public var isAOrBetter: Bool { rank >= Grade.a.rank }

    public var description: String { rawValue }
}

public enum CheckResult: String, Sendable, Codable, Comparable {
    case pass, warn, fail

    var rank: Int { self == .pass ? 0 : self == .warn ? 1 : 2 }
    public static func < (a: CheckResult, b: CheckResult) -> Bool { a.rank < b.rank }
}

/// What a check belongs to; the headers and TLS categories feed their own grades.
public enum CheckCategory: String, Sendable, Codable, CaseIterable {
    case http, headers, tls, nginx, django, ports

    public var title: String {
        switch self {
        case .http: return "HTTP"
        case .headers: return "Headers"
        case .tls: return "TLS"
        case .nginx: return "nginx"
        case .django: return "Django"
        case .ports: return "Firewall / ports"
        }
    }
}

/// One verification: what was expected, what was seen, the result and how to fix it.
public struct VerifyCheck: Sendable, Codable, Hashable {
    /// Stable id, e.g. `headers.hsts`, `tls.protocol.tls1_1`, `nginx.add-header-inheritance`.
    public var id: String
    public var category: CheckCategory
    public var title: String
    public var expected: String
    public var seen: String
    public var result: CheckResult
    /// How to fix it (empty when passing and nothing to say).
    public var fix: String
    /// The highest overall grade possible while this check fails (warnings cap at A).
    /// Headers and TLS checks are graded by their own grades instead (nil here).
    public var capOnFail: Grade?

    public init(id: String, category: CheckCategory, title: String, expected: String, seen: String,
                result: CheckResult, fix: String = "", capOnFail: Grade? = .b) {
        self.id = id
        self.category = category
        self.title = title
        self.expected = expected
        self.seen = seen
        self.result = result
        self.fix = fix
        self.capOnFail = capOnFail
    }

    enum CodingKeys: String, CodingKey {
        case id, category, title, expected, seen, result, fix
        case capOnFail = "cap_on_fail"
    }
}

/// A grade and the reasons it is not higher.
public struct GradeResult: Sendable, Codable, Hashable {
    public var grade: Grade
    /// Why the grade is below A+ (empty for A+).
    public var reasons: [String]
    public init(grade: Grade, reasons: [String] = []) {
        self.grade = grade
        self.reasons = reasons
    }
}

/// The whole report.
public struct VerifyReport: Sendable, Codable {
    public var domain: String
    public var serverIP: String
    public var generatedAt: String
    public var overall: GradeResult
    public var headers: GradeResult
    public var tls: GradeResult
    public var checks: [VerifyCheck]

    public init(domain: String, serverIP: String, generatedAt: Date = Date(), overall: GradeResult,
                headers: GradeResult, tls: GradeResult, checks: [VerifyCheck]) {
        self.domain = domain
        self.serverIP = serverIP
        let f = ISO8601DateFormatter()
        self.generatedAt = f.string(from: generatedAt)
        self.overall = overall
        self.headers = headers
        self.tls = tls
        self.checks = checks
    }

    enum CodingKeys: String, CodingKey {
        case domain, overall, headers, tls, checks
        case serverIP = "server_ip"
        case generatedAt = "generated_at"
    }

    public var failed: [VerifyCheck] { checks.filter { $0.result == .fail } }
    public var warned: [VerifyCheck] { checks.filter { $0.result == .warn } }

    /// The command's success: grade A or better and no failed check.
    public var succeeded: Bool { overall.grade.isAOrBetter && failed.isEmpty }

    public func check(_ id: String) -> VerifyCheck? { checks.first { $0.id == id } }

    // MARK: rendering

    public func json() throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try enc.encode(self)
    }

    public func markdown() -> String {
        func cell(_ s: String) -> String {
            s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: "<br>")
        }
        var out = "# Verification report: \(domain)\n\n"
        out += "**Overall grade: \(overall.grade)** — headers \(headers.grade), TLS \(tls.grade)"
        out += " (server \(serverIP), \(generatedAt))\n\n"
        let reasons = overall.reasons
        if !reasons.isEmpty {
            out += "Why not higher:\n\n" + reasons.map { "- \(cell($0))" }.joined(separator: "\n") + "\n\n"
        }
        out += "Grading rules: docs/grading.md.\n\n"
        for cat in CheckCategory.allCases {
            let cs = checks.filter { $0.category == cat }
            guard !cs.isEmpty else { continue }
            var title = cat.title
            if cat == .headers { title += " (grade \(headers.grade))" }
            if cat == .tls { title += " (grade \(tls.grade))" }
            out += "## \(title)\n\n| check | result | expected | seen | how to fix |\n| --- | --- | --- | --- | --- |\n"
            for c in cs {
                out += "| \(cell(c.title)) (`\(c.id)`) | \(c.result.rawValue.uppercased()) | \(cell(c.expected)) | \(cell(c.seen)) | \(cell(c.result == .pass ? "" : c.fix)) |\n"
            }
            out += "\n"
        }
        return out
    }

    /// A plain table: the grade big at the top, then one row per check (check, result, seen), and
    /// the fixes of what did not pass.
    public func table(width: Int = 100, mark: (CheckResult) -> String = { $0.rawValue.uppercased() }) -> [String] {
        var lines: [String] = []
        lines += Self.banner(overall.grade)
        lines.append("overall \(overall.grade)   headers \(headers.grade)   TLS \(tls.grade)   — \(domain) (\(serverIP))")
        for r in overall.reasons {
            let flat = r.replacingOccurrences(of: "\n", with: " ")
            lines.append("  · " + (flat.count > width - 4 ? String(flat.prefix(width - 5)) + "…" : flat))
        }
        lines.append("")
        let idWidth = min(40, max(12, checks.map { $0.id.count }.max() ?? 12))
        let seenWidth = max(20, width - idWidth - 8)
        lines.append("check".padding(toLength: idWidth, withPad: " ", startingAt: 0) + "  result  seen")
        for c in checks {
            var seen = c.seen.replacingOccurrences(of: "\n", with: " ")
            if seen.count > seenWidth { seen = String(seen.prefix(seenWidth - 1)) + "…" }
            let id = c.id.count > idWidth ? String(c.id.prefix(idWidth - 1)) + "…" : c.id.padding(toLength: idWidth, withPad: " ", startingAt: 0)
            let m = mark(c.result)
            lines.append(id + "  " + m + String(repeating: " ", count: max(1, 6 - c.result.rawValue.count)) + "  " + seen)
        }
        let notPassing = checks.filter { $0.result != .pass }
        if !notPassing.isEmpty {
            lines.append("")
            lines.append("how to fix:")
            for c in notPassing {
                lines.append("  \(c.id) (\(c.result.rawValue)): expected \(c.expected)")
                if !c.fix.isEmpty { lines.append("    → " + c.fix) }
            }
        }
        return lines
    }

    /// The grade in large block letters (ASCII, 5 rows).
    static func banner(_ g: Grade) -> [String] {
        let font: [Character: [String]] = [
            "A": ["  #  ", " # # ", "#####", "#   #", "#   #"],
            "B": ["#### ", "#   #", "#### ", "#   #", "#### "],
            "C": [" ####", "#    ", "#    ", "#    ", " ####"],
            "D": ["#### ", "#   #", "#   #", "#   #", "#### "],
            "E": ["#####", "#    ", "#### ", "#    ", "#####"],
            "F": ["#####", "#    ", "#### ", "#    ", "#    "],
            "T": ["#####", "  #  ", "  #  ", "  #  ", "  #  "],
            "+": ["     ", "  #  ", "#####", "  #  ", "     "],
        ]
        var rows = Array(repeating: "  ", count: 5)
        for ch in g.rawValue {
            guard let glyph = font[ch] else { continue }
            for i in 0 ..< 5 { rows[i] += glyph[i] + "  " }
        }
        return rows.map { String($0.reversed().drop(while: { $0 == " " }).reversed()) }
    }
}
