import Foundation
import StepRunner
import Yams

/// The answers file (YAML or JSON) for headless runs. See docs/answers.md.
public struct Answers: Sendable, Hashable {
    public var target: Target?
    public var profile: String?
    /// Validated, normalized inputs (flattened keys, e.g. `firewall_provider`).
    public var inputs: [String: String]

    public init(target: Target? = nil, profile: String? = nil, inputs: [String: String] = [:]) {
        self.target = target
        self.profile = profile
        self.inputs = inputs
    }

    public subscript(key: InputKey) -> String? { inputs[key.rawValue] }

    /// The profile name: `profile`, else the domain.
    public var effectiveProfile: String? { profile ?? inputs[InputKey.domain.rawValue] }

    /// The actions that bring a state in line with these answers (target first, then inputs in key
    /// order). Inputs are already validated, so the reducer accepts them.
    public func actions(at time: Timestamp) -> [Action] {
        var out: [Action] = []
        if let target { out.append(.setTarget(target, at: time)) }
        for (k, v) in inputs.sorted(by: { $0.key < $1.key }) { out.append(.setInput(InputKey(k), v, at: time)) }
        return out
    }

    /// The keys among `required` that the answers do not give (defaults count as given).
    public func missing(_ required: [InputKey]) -> [InputKey] {
        required.filter { inputs[$0.rawValue] == nil && InputKey.defaults[$0] == nil }
    }

    // MARK: schema

    public static let topLevelKeys = [
        "target", "profile", "domain", "email", "server_ip", "app", "django_version", "acme_server",
        "dns_resolver", "firewall", "hsts_final_seconds", "app_user", "operator_cidr", "static_ip",
        "app_port",
    ]
    public static let targetKeys = ["host", "port", "user", "identity_file", "known_hosts_file",
                                    "accept_new_host_key", "jump_host"]
    public static let appKeys = ["path", "git", "requirements"]
    public static let firewallKeys = ["provider", "security_group_id", "region", "endpoint_url"]
    public static let staticIPKeys = ["provider", "instance_id", "region", "endpoint_url"]

    // MARK: parsing

    public static func load(path: String, home: String = NSHomeDirectory()) throws -> Answers {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AnswersError(file: path, problems: [.init(line: nil, column: nil, message: "cannot read the file")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw AnswersError(file: path, problems: [.init(line: nil, column: nil, message: "is not UTF-8 text")])
        }
        return try parse(text, file: path, home: home)
    }

    /// Parses and validates. Every problem is collected; unknown keys name the closest known key.
    public static func parse(_ text: String, file: String = "answers", home: String = NSHomeDirectory()) throws -> Answers {
        var p = Parser(file: file, home: home)
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            let text = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
            let mark = (error as? YamlError).flatMap { e -> (Int, Int)? in
                switch e {
                case .parser(_, _, let m, _), .scanner(_, _, let m, _): return (m.line, m.column)
                default: return nil
                }
            }
            throw AnswersError(file: file, problems: [.init(line: mark?.0, column: mark?.1, message: "not valid YAML/JSON: \(text)")])
        }
        guard let root, let map = root.mapping else {
            throw AnswersError(file: file, problems: [.init(line: root?.mark?.line, column: root?.mark?.column,
                                                            message: "the top level must be a mapping of keys to values")])
        }
        let answers = p.top(map)
        if !p.problems.isEmpty { throw AnswersError(file: file, problems: p.problems) }
        return answers
    }

    struct Parser {
        let file: String
        let home: String
        var problems: [AnswersError.Problem] = []

        mutating func problem(_ node: Node?, _ message: String) {
            problems.append(.init(line: node?.mark?.line, column: node?.mark?.column, message: message))
        }

        /// Checks keys against the known list; returns the known pairs by key.
        mutating func entries(_ map: Node.Mapping, known: [String], context: String) -> [String: Node] {
            var out: [String: Node] = [:]
            for (k, v) in map {
                guard let key = k.scalar?.string else { problem(k, "\(context)keys must be plain strings"); continue }
                guard known.contains(key) else {
                    var msg = "unknown key `\(context)\(key)`"
                    if let s = closest(key, in: known) { msg += "; did you mean `\(context)\(s)`?" }
                    else { msg += "; known keys here: \(known.joined(separator: ", "))" }
                    problem(k, msg)
                    continue
                }
                if out[key] != nil { problem(k, "the key `\(context)\(key)` appears twice"); continue }
                if case .scalar(let s) = v, s.tag.description == Tag.Name.null.rawValue || (s.style == .plain && ["", "~", "null", "Null", "NULL"].contains(s.string)) {
                    continue // null: as if absent
                }
                out[key] = v
            }
            return out
        }

        mutating func scalar(_ node: Node, _ field: String) -> String? {
            guard let s = node.scalar?.string else {
                problem(node, "\(field): must be a single value, not a list or mapping")
                return nil
            }
            return s
        }

        mutating func validated(_ node: Node, _ field: String, _ body: (String) throws(ValidationError) -> String) -> String? {
            guard let raw = scalar(node, field) else { return nil }
            do { return try body(raw) } catch {
                problem(node, error.description)
                return nil
            }
        }

        mutating func top(_ map: Node.Mapping) -> Answers {
            var a = Answers()
            let e = entries(map, known: Answers.topLevelKeys, context: "")
            let simple: [(String, InputKey)] = [
                ("domain", .domain), ("email", .email), ("server_ip", .serverIP), ("django_version", .djangoVersion),
                ("acme_server", .acmeServer), ("dns_resolver", .dnsResolver), ("hsts_final_seconds", .hstsFinalSeconds),
                ("app_user", .appUser), ("operator_cidr", .operatorCIDR), ("app_port", .appPort),
            ]
            for (name, key) in simple {
                guard let n = e[name] else { continue }
                if let v = validated(n, name, { raw throws(ValidationError) in try Validate.value(raw, as: key.kind, field: name) }) {
                    a.inputs[key.rawValue] = v
                }
            }
            if let n = e["profile"] {
                a.profile = validated(n, "profile") { raw throws(ValidationError) in try Validate.profileName(raw, field: "profile") }
            }
            if let n = e["target"] { a.target = target(n) }
            if let n = e["app"] { app(n, into: &a) }
            if let n = e["firewall"] { firewall(n, into: &a) }
            if let n = e["static_ip"] { staticIP(n, into: &a) }
            return a
        }

        mutating func target(_ node: Node) -> Target? {
            if let s = node.scalar?.string {
                if s == "local" { return .local }
                problem(node, "target: must be `local` or a mapping with host, port, user, identity_file, known_hosts_file, accept_new_host_key")
                return nil
            }
            guard let map = node.mapping else {
                problem(node, "target: must be `local` or a mapping")
                return nil
            }
            let e = entries(map, known: Answers.targetKeys, context: "target.")
            var host: String?
            if let hostNode = e["host"] {
                host = validated(hostNode, "target.host") { raw throws(ValidationError) in try Validate.sshHost(raw, field: "target.host") }
            } else {
                problem(node, "target.host: is required when target is a mapping")
            }
            // the other fields are checked even when the host is bad, so that all problems show
            var d = SSHDestination(host: host ?? "")
            if let n = e["port"] {
                d.port = validated(n, "target.port") { raw throws(ValidationError) in String(try Validate.port(raw, field: "target.port")) }.flatMap { Int($0) }
            }
            if let n = e["user"] {
                d.user = validated(n, "target.user") { raw throws(ValidationError) in try Validate.sshUser(raw, field: "target.user") }
            }
            let home = self.home
            if let n = e["identity_file"] {
                d.identityFile = validated(n, "target.identity_file") { raw throws(ValidationError) in try Validate.localPath(raw, field: "target.identity_file", home: home) }
            }
            if let n = e["known_hosts_file"] {
                d.knownHostsFile = validated(n, "target.known_hosts_file") { raw throws(ValidationError) in try Validate.localPath(raw, field: "target.known_hosts_file", home: home) }
            }
            if let n = e["jump_host"] {
                d.jumpHost = validated(n, "target.jump_host") { raw throws(ValidationError) in try Validate.sshDestination(raw, field: "target.jump_host").description }
            }
            if let n = e["accept_new_host_key"] {
                if let b = n.scalar.flatMap({ Bool.construct(from: $0) }) { d.acceptNewHostKey = b }
                else { problem(n, "target.accept_new_host_key: must be true or false") }
            }
            return host == nil ? nil : .ssh(d)
        }

        mutating func app(_ node: Node, into a: inout Answers) {
            if let s = node.scalar?.string {
                if s == "sample" { a.inputs[InputKey.appSource.rawValue] = "sample"; return }
                problem(node, "app: must be `sample` or a mapping with `path` or `git` (+ `requirements`)")
                return
            }
            guard let map = node.mapping else { problem(node, "app: must be `sample` or a mapping"); return }
            let e = entries(map, known: Answers.appKeys, context: "app.")
            switch (e["path"], e["git"]) {
            case (let p?, nil):
                a.inputs[InputKey.appSource.rawValue] = "path"
                a.inputs[InputKey.appPath.rawValue] = validated(p, "app.path") { raw throws(ValidationError) in try Validate.absolutePath(raw, field: "app.path") }
            case (nil, let g?):
                a.inputs[InputKey.appSource.rawValue] = "git"
                a.inputs[InputKey.appGit.rawValue] = validated(g, "app.git") { raw throws(ValidationError) in try Validate.gitURL(raw, field: "app.git") }
            case (_?, _?): problem(node, "app: give either `path` or `git`, not both")
            case (nil, nil): problem(node, "app: needs `path` (a project on the server) or `git` (a repository URL)")
            }
            if let r = e["requirements"] {
                a.inputs[InputKey.appRequirements.rawValue] = validated(r, "app.requirements") { raw throws(ValidationError) in try Validate.relativePath(raw, field: "app.requirements") }
            }
        }

        mutating func firewall(_ node: Node, into a: inout Answers) {
            guard let map = node.mapping else {
                problem(node, "firewall: must be a mapping with `provider` (manual, aws or ufw)")
                return
            }
            let e = entries(map, known: Answers.firewallKeys, context: "firewall.")
            guard let pn = e["provider"] else { problem(node, "firewall.provider: is required (manual, aws or ufw)"); return }
            guard let provider = validated(pn, "firewall.provider", { raw throws(ValidationError) in
                try Validate.choice(raw, ["manual", "aws", "ufw"], field: "firewall.provider")
            }) else { return }
            a.inputs[InputKey.firewallProvider.rawValue] = provider
            let awsFields: [(String, InputKey)] = [("security_group_id", .awsSecurityGroupID), ("region", .awsRegion), ("endpoint_url", .awsEndpointURL)]
            for (name, key) in awsFields {
                guard let n = e[name] else {
                    if provider == "aws", name != "endpoint_url" { problem(node, "firewall.\(name): is required with provider aws") }
                    continue
                }
                if provider != "aws" { problem(n, "firewall.\(name): is only used with provider aws"); continue }
                a.inputs[key.rawValue] = validated(n, "firewall.\(name)") { raw throws(ValidationError) in
                    try Validate.value(raw, as: key.kind, field: "firewall.\(name)")
                }
            }
        }

        mutating func staticIP(_ node: Node, into a: inout Answers) {
            guard let map = node.mapping else {
                problem(node, "static_ip: must be a mapping with `provider` (manual or aws)")
                return
            }
            let e = entries(map, known: Answers.staticIPKeys, context: "static_ip.")
            guard let pn = e["provider"] else { problem(node, "static_ip.provider: is required (manual or aws)"); return }
            guard let provider = validated(pn, "static_ip.provider", { raw throws(ValidationError) in
                try Validate.choice(raw, ["manual", "aws"], field: "static_ip.provider")
            }) else { return }
            a.inputs[InputKey.staticIPProvider.rawValue] = provider
            let awsFields: [(String, InputKey)] = [("instance_id", .awsInstanceID), ("region", .awsRegion), ("endpoint_url", .awsEndpointURL)]
            for (name, key) in awsFields {
                guard let n = e[name] else {
                    if provider == "aws", name == "instance_id" { problem(node, "static_ip.instance_id: is required with provider aws") }
                    continue
                }
                if provider != "aws" { problem(n, "static_ip.\(name): is only used with provider aws"); continue }
                a.inputs[key.rawValue] = validated(n, "static_ip.\(name)") { raw throws(ValidationError) in
                    try Validate.value(raw, as: key.kind, field: "static_ip.\(name)")
                }
            }
        }
    }

    /// The known key closest to `key` (Levenshtein distance ≤ max(2, len/3)), if any.
    public static func closest(_ key: String, in known: [String]) -> String? { WizardCore.closest(key, in: known) }
}

func closest(_ key: String, in known: [String]) -> String? {
    let scored = known.map { ($0, levenshtein(key.lowercased(), $0)) }.min { $0.1 < $1.1 }
    guard let (best, d) = scored, d <= max(2, key.count / 3) else { return nil }
    return best
}

func levenshtein(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var prev = Array(0 ... b.count), cur = [Int](repeating: 0, count: b.count + 1)
    for i in 1 ... a.count {
        cur[0] = i
        for j in 1 ... b.count {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&prev, &cur)
    }
    return prev[b.count]
}

public struct AnswersError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Problem: Sendable, Hashable {
        public var line: Int?
        public var column: Int?
        public var message: String
    }
    public var file: String
    public var problems: [Problem]

    public var description: String {
        problems.map { p in
            var loc = file
            if let l = p.line { loc += ":\(l)" + (p.column.map { ":\($0)" } ?? "") }
            return "\(loc): \(p.message)"
        }.joined(separator: "\n")
    }
}
