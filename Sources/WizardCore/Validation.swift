import Foundation
import StepRunner
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A rejected input. `description` always starts with the field's name.
public struct ValidationError: Error, Hashable, Sendable, CustomStringConvertible {
    public var field: String
    public var message: String
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { "\(field): \(message)" }
}

/// The Django versions the wizard can install (LTS releases).
public enum DjangoVersion: String, CaseIterable, Codable, Sendable {
    case v3_2 = "3.2"
    case v4_2 = "4.2"
    case v5_2 = "5.2"
}

/// A value's shape; each has a validator that returns the normalized value.
public enum InputKind: Sendable, Hashable {
    case domain, email, ipv4, ipv6, ipAddress, cidr, port, unixUser
    case absolutePath, relativePath, sshDestination, url, gitURL, djangoVersion, profileName
    case awsSecurityGroupID, awsRegion, awsInstanceID
    /// An IP address with an optional port (`1.2.3.4`, `1.2.3.4:53`, `[::1]:53`).
    case resolver
    case choice([String])
    case integer(ClosedRange<Int>)
    /// Any single line of text without control characters and not starting with `-`.
    case text
}

/// Validators. Each returns the normalized value or throws a `ValidationError` naming `field`.
/// Common to all: no control characters (NUL, line breaks, escapes, DEL, C1), no invisible
/// bidirectional formatting characters, no leading/trailing whitespace, no leading `-` (which a
/// command would read as an option), not empty.
public enum Validate {
    // MARK: dispatch

    public static func value(_ raw: String, as kind: InputKind, field: String) throws(ValidationError) -> String {
        switch kind {
        case .domain: return try domain(raw, field: field)
        case .email: return try email(raw, field: field)
        case .ipv4: return try ipv4(raw, field: field)
        case .ipv6: return try ipv6(raw, field: field)
        case .ipAddress: return try ipAddress(raw, field: field)
        case .cidr: return try cidr(raw, field: field)
        case .port: return String(try port(raw, field: field))
        case .unixUser: return try unixUser(raw, field: field)
        case .absolutePath: return try absolutePath(raw, field: field)
        case .relativePath: return try relativePath(raw, field: field)
        case .sshDestination: return try sshDestination(raw, field: field).description
        case .url: return try url(raw, field: field)
        case .gitURL: return try gitURL(raw, field: field)
        case .djangoVersion: return try djangoVersion(raw, field: field).rawValue
        case .profileName: return try profileName(raw, field: field)
        case .awsSecurityGroupID: return try awsSecurityGroupID(raw, field: field)
        case .awsRegion: return try awsRegion(raw, field: field)
        case .awsInstanceID: return try awsInstanceID(raw, field: field)
        case .resolver: return try resolver(raw, field: field)
        case .choice(let options): return try choice(raw, options, field: field)
        case .integer(let range): return String(try integer(raw, in: range, field: field))
        case .text: return try text(raw, field: field)
        }
    }

    // MARK: common

    /// A printable rendering of a hostile value for messages (escaped, shortened).
    public static func show(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            if out.count > 60 { out += "…"; break }
            switch u.value {
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0 ..< 0x20, 0x7F ... 0x9F, 0x200B ... 0x200F, 0x202A ... 0x202E, 0x2066 ... 0x2069, 0xFEFF:
                out += String(format: "\\u{%X}", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return "\"\(out)\""
    }

    static func fail(_ field: String, _ message: String) -> ValidationError {
        ValidationError(field: field, message: message)
    }

    /// The checks every value gets.
    public static func basic(_ s: String, field: String, allowLeadingDash: Bool = false) throws(ValidationError) {
        if s.isEmpty { throw fail(field, "is empty") }
        for u in s.unicodeScalars {
            switch u.value {
            case 0: throw fail(field, "contains a NUL byte")
            case 0x0A, 0x0D, 0x85, 0x2028, 0x2029: throw fail(field, "contains a line break: \(show(s))")
            case 0x01 ..< 0x20, 0x7F ... 0x9F:
                throw fail(field, "contains a control character (U+\(String(format: "%04X", u.value))): \(show(s))")
            case 0x200B ... 0x200F, 0x202A ... 0x202E, 0x2066 ... 0x2069, 0xFEFF:
                throw fail(field, "contains an invisible formatting character (U+\(String(format: "%04X", u.value))): \(show(s))")
            default: break
            }
        }
        if let f = s.unicodeScalars.first, let l = s.unicodeScalars.last,
           f.properties.isWhitespace || l.properties.isWhitespace {
            throw fail(field, "has leading or trailing whitespace: \(show(s))")
        }
        if !allowLeadingDash, s.hasPrefix("-") {
            throw fail(field, "must not start with '-' (it would be read as a command-line option): \(show(s))")
        }
    }

    static func noWhitespace(_ s: String, field: String) throws(ValidationError) {
        if s.unicodeScalars.contains(where: { $0.properties.isWhitespace }) {
            throw fail(field, "must not contain spaces: \(show(s))")
        }
    }

    static func isASCIIDigits(_ s: Substring) -> Bool { !s.isEmpty && s.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }

    // MARK: text

    public static func text(_ s: String, field: String) throws(ValidationError) -> String {
        try basic(s, field: field)
        return s
    }

    public static func choice(_ s: String, _ options: [String], field: String) throws(ValidationError) -> String {
        try basic(s, field: field)
        guard options.contains(s) else {
            throw fail(field, "must be one of \(options.joined(separator: ", ")), not \(show(s))")
        }
        return s
    }

    public static func integer(_ s: String, in range: ClosedRange<Int>, field: String) throws(ValidationError) -> Int {
        try basic(s, field: field)
        guard isASCIIDigits(Substring(s)), s.count <= 18, let v = Int(s) else {
            throw fail(field, "must be a whole number between \(range.lowerBound) and \(range.upperBound), not \(show(s))")
        }
        guard range.contains(v) else {
            throw fail(field, "must be between \(range.lowerBound) and \(range.upperBound), not \(v)")
        }
        return v
    }

    // MARK: domain names

    /// A DNS name: RFC 1123 labels (letters, digits, inner hyphens; 1–63 characters each), at
    /// least two labels, at most 253 characters, a top-level label that is not all digits.
    /// Internationalized names are lowercased, NFC-normalized and converted to punycode
    /// (`bücher.example` → `xn--bcher-kva.example`). Returns the lowercase ASCII name.
    public static func domain(_ s: String, field: String) throws(ValidationError) -> String {
        try hostname(s, field: field, minLabels: 2)
    }

    static func hostname(_ s: String, field: String, minLabels: Int) throws(ValidationError) -> String {
        try basic(s, field: field)
        try noWhitespace(s, field: field)
        if s.hasSuffix(".") { throw fail(field, "must not end with a dot: \(show(s))") }
        if s.hasPrefix(".") { throw fail(field, "must not start with a dot: \(show(s))") }
        let normalized = s.precomposedStringWithCanonicalMapping.lowercased()
        let labels = normalized.split(separator: ".", omittingEmptySubsequences: false)
        if labels.count < minLabels {
            throw fail(field, "needs at least two labels, like example.com: \(show(s))")
        }
        var ascii: [String] = []
        for label in labels {
            if label.isEmpty { throw fail(field, "has an empty label (two dots in a row): \(show(s))") }
            var l = String(label)
            if !l.unicodeScalars.allSatisfy(\.isASCII) {
                for u in l.unicodeScalars where !u.isASCII {
                    let p = u.properties
                    guard p.isAlphabetic || p.numericType != nil || p.generalCategory == .nonspacingMark
                            || p.generalCategory == .spacingMark else {
                        throw fail(field, "contains a character not allowed in a domain name (U+\(String(format: "%04X", u.value))): \(show(s))")
                    }
                }
                guard let encoded = Punycode.encode(l) else {
                    throw fail(field, "label cannot be converted to punycode: \(show(String(label)))")
                }
                l = "xn--" + encoded
            }
            for b in l.utf8 {
                let ok = (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b == 45
                if !ok {
                    throw fail(field, "label \(show(l)) may contain only letters, digits and hyphens")
                }
            }
            if l.utf8.count > 63 { throw fail(field, "label \(show(l)) is longer than 63 characters") }
            if l.hasPrefix("-") || l.hasSuffix("-") {
                throw fail(field, "label \(show(l)) must not start or end with a hyphen")
            }
            ascii.append(l)
        }
        let result = ascii.joined(separator: ".")
        if result.utf8.count > 253 { throw fail(field, "is longer than 253 characters") }
        if ascii.count >= 2, let tld = ascii.last, isASCIIDigits(Substring(tld)) {
            throw fail(field, "the last label must not be all digits (an IP address is not a domain name): \(show(s))")
        }
        return result
    }

    // MARK: e-mail

    /// `local@domain`; the local part uses letters, digits and `. _ % + -` (no leading, trailing
    /// or doubled dot, ≤ 64 characters); the domain is validated like `domain` (IDN converted).
    public static func email(_ s: String, field: String) throws(ValidationError) -> String {
        try basic(s, field: field)
        try noWhitespace(s, field: field)
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw fail(field, "must be an e-mail address with exactly one '@', like admin@example.com: \(show(s))")
        }
        let local = parts[0]
        if local.isEmpty { throw fail(field, "has nothing before the '@': \(show(s))") }
        if local.utf8.count > 64 { throw fail(field, "the part before '@' is longer than 64 characters") }
        for b in local.utf8 {
            let ok = (b >= 97 && b <= 122) || (b >= 65 && b <= 90) || (b >= 48 && b <= 57)
                || b == 46 || b == 95 || b == 37 || b == 43 || b == 45
            if !ok {
                throw fail(field, "the part before '@' may contain only letters, digits and . _ % + -: \(show(s))")
            }
        }
        if local.hasPrefix(".") || local.hasSuffix(".") || local.contains("..") {
            throw fail(field, "the part before '@' must not start or end with a dot or contain two dots in a row: \(show(s))")
        }
        let dom: String
        do { dom = try domain(String(parts[1]), field: field) } catch {
            throw fail(field, "domain part: \(error.message)")
        }
        let result = "\(local)@\(dom)"
        if result.utf8.count > 254 { throw fail(field, "is longer than 254 characters") }
        return result
    }

    // MARK: IP addresses

    /// Dotted-quad IPv4, four decimal parts 0–255 without leading zeros.
    public static func ipv4(_ s: String, field: String) throws(ValidationError) -> String {
        try basic(s, field: field)
        guard parseIPv4(s) != nil else {
            throw fail(field, "must be an IPv4 address like 203.0.113.10 (four numbers 0–255, no leading zeros): \(show(s))")
        }
        return s
    }

    static func parseIPv4(_ s: String) -> [UInt8]? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for p in parts {
            guard isASCIIDigits(p), p.count <= 3, !(p.count > 1 && p.hasPrefix("0")),
                  let v = Int(p), v <= 255 else { return nil }
            out.append(UInt8(v))
        }
        return out
    }

    static func parseIPv6(_ s: String) -> [UInt8]? {
        guard s.contains(":"), s.utf8.allSatisfy({ ($0 >= 48 && $0 <= 58) || ($0 >= 65 && $0 <= 70) || ($0 >= 97 && $0 <= 102) || $0 == 46 }) else {
            return nil
        }
        var buf = [UInt8](repeating: 0, count: 16)
        let ok = s.withCString { inet_pton(AF_INET6, $0, &buf) }
        return ok == 1 ? buf : nil
    }

    static func formatIPv6(_ bytes: [UInt8]) -> String {
        var out = [CChar](repeating: 0, count: 64)
        _ = bytes.withUnsafeBufferPointer { inet_ntop(AF_INET6, $0.baseAddress, &out, 64) }
        return out.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// IPv6 in any standard textual form (no zone id, no brackets); returns the canonical form.
    public static func ipv6(_ s: String, field: String) throws(ValidationError) -> String {
        try basic(s, field: field)
        if s.contains("%") { throw fail(field, "must not contain a zone id ('%'): \(show(s))") }
        if s.hasPrefix("[") { throw fail(field, "must be written without brackets: \(show(s))") }
        guard let b = parseIPv6(s) else {
            throw fail(field, "must be an IPv6 address like 2001:db8::1: \(show(s))")
        }
        return formatIPv6(b)
    }

    /// IPv4 or IPv6.
    public static func ipAddress(_ s: String, field: String) throws(ValidationError) -> String {
        try basic(s, field: field)
        if s.contains(":") { return try ipv6(s, field: field) }
        guard parseIPv4(s) != nil else {
            throw fail(field, "must be an IPv4 or IPv6 address like 203.0.113.10: \(show(s))")
        }
        return s
    }

    /// `address/prefix`; the host bits must be zero (`10.0.0.0/8`, `203.0.113.7/32`, `2001:db8::/32`).
    public static func cidr(_ s: String, field: String) throws(ValidationError) -> String {
        try basic(s, field: field)
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw fail(field, "must be a network in CIDR form like 203.0.113.0/24: \(show(s))")
        }
        let addr = String(parts[0]), pfx = parts[1]
        let bytes: [UInt8]
        let isV6: Bool
        if let v4 = parseIPv4(addr) { bytes = v4; isV6 = false }
        else if !addr.contains("%"), let v6 = parseIPv6(addr) { bytes = v6; isV6 = true }
        else { throw fail(field, "the address part is not an IPv4 or IPv6 address: \(show(s))") }
        let maxBits = isV6 ? 128 : 32
        guard isASCIIDigits(pfx), !(pfx.count > 1 && pfx.hasPrefix("0")), pfx.count <= 3,
              let bits = Int(pfx), bits <= maxBits else {
            throw fail(field, "the prefix length must be a number from 0 to \(maxBits): \(show(s))")
        }
        var masked = bytes
        for i in 0 ..< masked.count {
            let keep = max(0, min(8, bits - i * 8))
            let mask: UInt8 = keep == 0 ? 0 : UInt8(truncatingIfNeeded: 0xFF << (8 - keep))
            masked[i] &= mask
        }
        let net = isV6 ? formatIPv6(masked) : masked.map(String.init).joined(separator: ".")
        if masked != bytes {
            throw fail(field, "has host bits set; did you mean \(net)/\(bits)?")
        }
        return "\(net)/\(bits)"
    }

    /// 1–65535, decimal, no sign or leading zeros.
    public static func port(_ s: String, field: String) throws(ValidationError) -> Int {
        try basic(s, field: field)
        guard isASCIIDigits(Substring(s)), !s.hasPrefix("0"), s.count <= 5, let v = Int(s), v >= 1, v <= 65535 else {
            throw fail(field, "must be a port number from 1 to 65535: \(show(s))")
        }
        return v
    }

    /// `^[a-z_][a-z0-9_-]{0,31}$`
    public static func unixUser(_ s: String, field: String) throws(ValidationError) -> String {
        try basic(s, field: field)
        let u = Array(s.utf8)
        let first = u.first.map { ($0 >= 97 && $0 <= 122) || $0 == 95 } ?? false
        let rest = u.dropFirst().allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 || $0 == 45 }
        guard first, rest, u.count <= 32 else {
            throw fail(field, "must be a unix user name: a lowercase letter or '_' followed by up to 31 lowercase letters, digits, '_' or '-': \(show(s))")
        }
        return s
    }

    // MARK: paths

    /// Starts with `/`; no `..` components; no control characters; ≤ 4096 bytes, components ≤ 255.
    public static func absolutePath(_ s: String, field: String) throws(ValidationError) -> String {
        try basic(s, field: field)
        guard s.hasPrefix("/") else {
            throw fail(field, "must be an absolute path starting with '/': \(show(s))")
        }
        try pathComponents(s, field: field)
        return s
    }

    /// A path relative to a project directory (e.g. `requirements.txt`): no leading `/` or `-`,
    /// no `..` components.
    public static func relativePath(_ s: String, field: String) throws(ValidationError) -> String {
        try basic(s, field: field)
        if s.hasPrefix("/") { throw fail(field, "must be a relative path (inside the project), not \(show(s))") }
        try pathComponents(s, field: field)
        return s
    }

    static func pathComponents(_ s: String, field: String) throws(ValidationError) {
        if s.utf8.count > 4096 { throw fail(field, "is longer than 4096 bytes") }
        for c in s.split(separator: "/") {
            if c == ".." { throw fail(field, "must not contain '..' components: \(show(s))") }
            if c.utf8.count > 255 { throw fail(field, "has a component longer than 255 bytes") }
        }
    }

    /// A path on the operator's machine; `~/` is expanded against `home`.
    public static func localPath(_ s: String, field: String, home: String) throws(ValidationError) -> String {
        try basic(s, field: field)
        if s == "~" { return home }
        if s.hasPrefix("~/") { return try absolutePath(home + s.dropFirst(1), field: field) }
        return try absolutePath(s, field: field)
    }

    // MARK: SSH

    /// `[user@]host[:port]`; host is a name (one label allowed: an ssh_config alias), an IPv4
    /// address, or an IPv6 address (in brackets when a port follows).
    public static func sshDestination(_ s: String, field: String) throws(ValidationError) -> SSHDestination {
        try basic(s, field: field)
        try noWhitespace(s, field: field)
        var rest = Substring(s)
        var user: String?
        if let at = rest.lastIndex(of: "@") {
            let u = String(rest[..<at])
            user = try sshUser(u, field: field)
            rest = rest[rest.index(after: at)...]
        }
        var port: Int?
        let host: String
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw fail(field, "has an unclosed '[': \(show(s))")
            }
            let inner = String(rest[rest.index(after: rest.startIndex) ..< close])
            host = try ipv6(inner, field: field)
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw fail(field, "unexpected text after ']': \(show(s))") }
                port = try self.port(String(after.dropFirst()), field: field)
            }
        } else if rest.filter({ $0 == ":" }).count > 1 {
            host = try ipv6(String(rest), field: field)
        } else {
            var h = rest
            if let colon = rest.firstIndex(of: ":") {
                h = rest[..<colon]
                port = try self.port(String(rest[rest.index(after: colon)...]), field: field)
            }
            host = try sshHost(String(h), field: field)
        }
        return SSHDestination(host: host, port: port, user: user)
    }

    /// A host name for SSH: IPv4, or a name of letters, digits, `.`, `_`, `-` (not starting with
    /// `-` or `.`), IDN converted.
    public static func sshHost(_ s: String, field: String) throws(ValidationError) -> String {
        try basic(s, field: field)
        if s.contains(":") { return try ipv6(s, field: field) }
        if parseIPv4(s) != nil { return s }
        if s.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 95 || $0 == 45 }) {
            if s.hasPrefix(".") || s.hasSuffix(".") || s.contains("..") || s.utf8.count > 253 {
                throw fail(field, "is not a valid host name: \(show(s))")
            }
            return s
        }
        return try hostname(s, field: field, minLabels: 1)
    }

    static func sshUser(_ s: String, field: String) throws(ValidationError) -> String {
        try basic(s, field: field)
        let u = Array(s.utf8)
        let first = u.first.map { ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || $0 == 95 } ?? false
        let rest = u.dropFirst().allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 95 || $0 == 45 || $0 == 46 }
        guard first, rest, u.count <= 32 else {
            throw fail(field, "the user name before '@' must be letters, digits, '_', '-', '.', starting with a letter or '_': \(show(s))")
        }
        return s
    }

    // MARK: URLs

    /// An `https://` or `http://` URL with a host; no user info. Returns it unchanged.
    public static func url(_ s: String, field: String) throws(ValidationError) -> String {
        try basic(s, field: field)
        try noWhitespace(s, field: field)
        let lower = s.lowercased()
        guard lower.hasPrefix("https://") || lower.hasPrefix("http://") else {
            throw fail(field, "must be an https:// or http:// URL: \(show(s))")
        }
        guard let c = URLComponents(string: s), let scheme = c.scheme?.lowercased(),
              scheme == "https" || scheme == "http" else {
            throw fail(field, "is not a valid URL: \(show(s))")
        }
        if c.user != nil || c.password != nil {
            throw fail(field, "must not contain a user name or password: \(show(s))")
        }
        guard let rawHost = c.host, !rawHost.isEmpty else {
            throw fail(field, "has no host: \(show(s))")
        }
        if let p = c.port, !(1 ... 65535).contains(p) {
            throw fail(field, "has a port outside 1–65535: \(show(s))")
        }
        if let p = c.percentEncodedHost, p.contains("%") {
            throw fail(field, "has an encoded or zoned host: \(show(s))")
        }
        let host = rawHost.hasPrefix("[") ? String(rawHost.dropFirst().dropLast()) : rawHost
        do { _ = try sshHost(host, field: field) } catch {
            throw fail(field, "has an invalid host \(show(host))")
        }
        return s
    }

    /// A git remote: `https://…`, `ssh://…` or `user@host:path`. No `ext::`/`file:` transports,
    /// no leading `-`.
    public static func gitURL(_ s: String, field: String) throws(ValidationError) -> String {
        try basic(s, field: field)
        try noWhitespace(s, field: field)
        let lower = s.lowercased()
        if lower.hasPrefix("https://") || lower.hasPrefix("http://") {
            _ = try url(s, field: field)
            return s
        }
        if lower.hasPrefix("ssh://") {
            guard let c = URLComponents(string: s), let h = c.host, !h.isEmpty else {
                throw fail(field, "is not a valid ssh:// URL: \(show(s))")
            }
            _ = try sshHost(h.hasPrefix("[") ? String(h.dropFirst().dropLast()) : h, field: field)
            return s
        }
        // scp-like: user@host:path (anything else with "://" or "::" is another transport)
        if !lower.contains("::"), !lower.contains("://"), let colon = s.firstIndex(of: ":"), !s[..<colon].contains("/") {
            let dest = String(s[..<colon])
            let path = s[s.index(after: colon)...]
            if !path.isEmpty, !path.hasPrefix("-") {
                let hostPart = dest.split(separator: "@").last.map(String.init) ?? dest
                if dest.contains("@") { _ = try sshUser(String(dest.split(separator: "@")[0]), field: field) }
                _ = try sshHost(hostPart, field: field)
                return s
            }
        }
        throw fail(field, "must be a git URL (https://…, ssh://… or user@host:path): \(show(s))")
    }

    // MARK: small ones

    public static func djangoVersion(_ s: String, field: String) throws(ValidationError) -> DjangoVersion {
        try basic(s, field: field)
        guard let v = DjangoVersion(rawValue: s) else {
            throw fail(field, "must be one of \(DjangoVersion.allCases.map(\.rawValue).joined(separator: ", ")) (Django LTS releases), not \(show(s))")
        }
        return v
    }

    /// A profile name, used as a file name: letters, digits, `.`, `_`, `-`, starting with a
    /// letter or digit, ≤ 128 characters.
    public static func profileName(_ s: String, field: String) throws(ValidationError) -> String {
        try basic(s, field: field)
        let u = Array(s.utf8)
        let first = u.first.map { ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) } ?? false
        let rest = u.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 95 || $0 == 45 }
        guard first, rest, u.count <= 128 else {
            throw fail(field, "must be letters, digits, '.', '_' or '-', starting with a letter or digit (it names the state file): \(show(s))")
        }
        return s
    }

    public static func awsSecurityGroupID(_ s: String, field: String) throws(ValidationError) -> String {
        try basic(s, field: field)
        let hex = s.dropFirst(3)
        guard s.hasPrefix("sg-"), hex.count == 8 || hex.count == 17,
              hex.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
            throw fail(field, "must be a security group id like sg-0123456789abcdef0: \(show(s))")
        }
        return s
    }

    public static func awsInstanceID(_ s: String, field: String) throws(ValidationError) -> String {
        try basic(s, field: field)
        let hex = s.dropFirst(2)
        guard s.hasPrefix("i-"), hex.count == 8 || hex.count == 17,
              hex.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
            throw fail(field, "must be an EC2 instance id like i-0123456789abcdef0: \(show(s))")
        }
        return s
    }

    public static func awsRegion(_ s: String, field: String) throws(ValidationError) -> String {
        try basic(s, field: field)
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        let ok = parts.count >= 3 && parts[0].count == 2
            && parts.dropFirst().dropLast().allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 97 && $0 <= 122 } }
            && parts[0].utf8.allSatisfy { $0 >= 97 && $0 <= 122 }
            && isASCIIDigits(parts.last!)
        guard ok else { throw fail(field, "must be an AWS region like eu-central-1: \(show(s))") }
        return s
    }

    /// An IP address with an optional port: `127.0.0.53`, `127.0.0.53:5353`, `::1`, `[::1]:5353`.
    public static func resolver(_ s: String, field: String) throws(ValidationError) -> String {
        try basic(s, field: field)
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else { throw fail(field, "has an unclosed '[': \(show(s))") }
            let ip = try ipv6(String(s[s.index(after: s.startIndex) ..< close]), field: field)
            let after = s[s.index(after: close)...]
            if after.isEmpty { return ip }
            guard after.hasPrefix(":") else { throw fail(field, "unexpected text after ']': \(show(s))") }
            return "[\(ip)]:\(try port(String(after.dropFirst()), field: field))"
        }
        if s.filter({ $0 == ":" }).count == 1 {
            let p = s.split(separator: ":", omittingEmptySubsequences: false)
            return "\(try ipv4(String(p[0]), field: field)):\(try port(String(p[1]), field: field))"
        }
        return try ipAddress(s, field: field)
    }
}

// MARK: - Punycode (RFC 3492)

public enum Punycode {
    private static let base = 36, tMin = 1, tMax = 26, skew = 38, damp = 700
    private static let initialBias = 72, initialN = 128

    private static func adapt(_ delta: Int, _ numPoints: Int, _ firstTime: Bool) -> Int {
        var delta = firstTime ? delta / damp : delta / 2
        delta += delta / numPoints
        var k = 0
        while delta > ((base - tMin) * tMax) / 2 {
            delta /= base - tMin
            k += base
        }
        return k + (base - tMin + 1) * delta / (delta + skew)
    }

    private static func digit(_ d: Int) -> Character {
        Character(Unicode.Scalar(UInt8(d < 26 ? 97 + d : 22 + d)))
    }

    /// Encodes one label (without the `xn--` prefix). Nil on overflow.
    public static func encode(_ input: String) -> String? {
        let scalars = input.unicodeScalars.map { Int($0.value) }
        var output = ""
        for c in scalars where c < 0x80 { output.append(Character(Unicode.Scalar(UInt8(c)))) }
        let b = output.count
        var h = b
        if b > 0 { output.append("-") }
        var n = initialN, delta = 0, bias = initialBias
        while h < scalars.count {
            guard let m = scalars.filter({ $0 >= n }).min() else { return nil }
            let (inc, o1) = (m - n).multipliedReportingOverflow(by: h + 1)
            guard !o1, delta <= Int(Int32.max) - inc else { return nil }
            delta += inc
            n = m
            for c in scalars {
                if c < n {
                    delta += 1
                    guard delta < Int(Int32.max) else { return nil }
                }
                if c == n {
                    var q = delta
                    var k = base
                    while true {
                        let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                        if q < t { break }
                        output.append(digit(t + (q - t) % (base - t)))
                        q = (q - t) / (base - t)
                        k += base
                    }
                    output.append(digit(q))
                    bias = adapt(delta, h + 1, h == b)
                    delta = 0
                    h += 1
                }
            }
            delta += 1
            n += 1
        }
        return output
    }
}
