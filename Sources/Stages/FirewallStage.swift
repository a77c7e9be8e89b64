import Foundation
import StepRunner
import WizardCore

/// The cloud firewall (the tutorial's inbound rules), as desired state per phase of the
/// deployment. The rules change as the deployment goes on; each phase is one step, placed in the
/// stage that needs it.
public enum FirewallPhase: String, Sendable, CaseIterable {
    /// Django's development server: SSH and 8000 from the operator only.
    case dev
    /// nginx on 80, reachable from the operator and from the server itself.
    case nginx
    /// Certbot's HTTP-01 challenge needs 80 from anywhere; HTTPS needs 443 from anywhere.
    case https
    /// Go-live: 8000 closed; only SSH (operator), 80 and 443 (anywhere).
    case golive
}

public struct FirewallRule: Sendable, Hashable, Comparable {
    public var port: Int
    /// An IPv4 CIDR (`0.0.0.0/0` for anywhere).
    public var source: String
    public var note: String

    public init(port: Int, source: String, note: String) {
        self.port = port
        self.source = source
        self.note = note
    }

    public static func < (a: FirewallRule, b: FirewallRule) -> Bool { (a.port, a.source) < (b.port, b.source) }
    /// Identity for comparison with what a provider reports (the note is a label only).
    public var key: String { "\(port) \(source)" }
}

public enum FirewallRules {
    /// The ports djdeploy manages; rules on other ports are never touched.
    public static func managedPorts(sshPort: Int) -> Set<Int> { [sshPort, 80, 443, 8000] }

    /// The desired inbound rules for a phase. `operatorCIDR` nil means "not known": manual
    /// tables show a placeholder, cloud providers require it.
    public static func desired(_ phase: FirewallPhase, operatorCIDR: String?, serverIP: String?, sshPort: Int) -> [FirewallRule] {
        let op = operatorCIDR ?? "<your IP>/32"
        var rules = [FirewallRule(port: sshPort, source: op, note: "SSH from the operator")]
        switch phase {
        case .dev:
            rules.append(FirewallRule(port: 8000, source: op, note: "Django/Gunicorn dev server"))
        case .nginx:
            rules.append(FirewallRule(port: 8000, source: op, note: "Django/Gunicorn dev server"))
            rules.append(FirewallRule(port: 80, source: op, note: "nginx (operator)"))
            if let ip = serverIP { rules.append(FirewallRule(port: 80, source: "\(ip)/32", note: "nginx (the server itself)")) }
        case .https:
            rules.append(FirewallRule(port: 8000, source: op, note: "Django/Gunicorn dev server"))
            rules.append(FirewallRule(port: 80, source: "0.0.0.0/0", note: "HTTP: ACME challenge and redirect to HTTPS"))
            rules.append(FirewallRule(port: 443, source: "0.0.0.0/0", note: "HTTPS"))
        case .golive:
            rules.append(FirewallRule(port: 80, source: "0.0.0.0/0", note: "HTTP: redirect to HTTPS"))
            rules.append(FirewallRule(port: 443, source: "0.0.0.0/0", note: "HTTPS"))
        }
        return Array(Set(rules)).sorted()
    }

    /// A plain table of rules, for the plan and the manual provider.
    public static func table(_ rules: [FirewallRule]) -> [String] {
        var out = ["inbound TCP port  source              purpose"]
        for r in rules {
            let port = String(r.port).padding(toLength: 17, withPad: " ", startingAt: 0)
            let src = r.source.padding(toLength: 19, withPad: " ", startingAt: 0)
            out.append("\(port) \(src) \(r.note)")
        }
        return out
    }
}

/// The SSH port of the deployment's target (22 when local or not given).
func sshPort(_ ctx: StepContext) -> Int {
    if case .ssh(let d) = ctx.target, let p = d.port { return p }
    return 22
}

public enum FirewallStage {
    public static let id: StageID = "firewall"

    public static func make(_ env: StageEnvironment) -> StageDefinition {
        StageDefinition(id: id, title: "Cloud firewall rules", steps: [step(.dev, id: "firewall.dev")])
    }

    static let reads: [InputKey] = [.firewallProvider, .operatorCIDR, .serverIP, .awsSecurityGroupID, .awsRegion, .awsEndpointURL]

    /// The step that brings the firewall to a phase's rules. Other stages include it too.
    public static func step(_ phase: FirewallPhase, id: StepID) -> StepDefinition {
        @Sendable func desired(_ ctx: StepContext) -> [FirewallRule] {
            FirewallRules.desired(phase, operatorCIDR: ctx.input(.operatorCIDR), serverIP: ctx.input(.serverIP),
                                  sshPort: sshPort(ctx))
        }
        @Sendable func provider(_ ctx: StepContext) -> String { ctx.input(.firewallProvider) ?? "manual" }

        return StepDefinition(
            id: id, title: "Firewall: \(phase.rawValue) rules", runsOn: .operator, reads: reads,
            check: { ctx in
                let rules = desired(ctx)
                switch provider(ctx) {
                case "aws":
                    let sg = try AWSFirewall(ctx)
                    let (missing, extra) = try await sg.difference(rules, sshPort: sshPort(ctx), ctx: ctx)
                    if missing.isEmpty && extra.isEmpty {
                        return .satisfied("security group \(sg.groupID) already has the \(phase.rawValue) rules (\(rules.count))")
                    }
                    return .needsChange("security group \(sg.groupID): \(missing.count) rule(s) to add, \(extra.count) to remove")
                case "ufw":
                    try UFW.requireOperator(rules)
                    let have = try await UFW.rules(ctx)
                    let (missing, extra) = UFW.difference(have: have, want: rules, sshPort: sshPort(ctx))
                    if missing.isEmpty && extra.isEmpty { return .satisfied("ufw already has the \(phase.rawValue) rules") }
                    return .needsChange("ufw: \(missing.count) rule(s) to add, \(extra.count) to remove")
                default:
                    return try manualCheck(ctx, phase: phase, rules: rules)
                }
            },
            plan: { ctx in
                let rules = desired(ctx)
                switch provider(ctx) {
                case "aws":
                    let sg = try AWSFirewall(ctx)
                    let (missing, extra) = try await sg.difference(rules, sshPort: sshPort(ctx), ctx: ctx)
                    return StepPlan(actions: sg.commands(add: missing, remove: extra).map { .command($0) },
                                    notes: FirewallRules.table(rules))
                case "ufw":
                    try UFW.requireOperator(rules)
                    let have = try await UFW.rules(ctx)
                    let (missing, extra) = UFW.difference(have: have, want: rules, sshPort: sshPort(ctx))
                    return StepPlan(actions: UFW.commands(add: missing, remove: extra, enable: !(try await UFW.isActive(ctx))).map { .command($0) },
                                    notes: FirewallRules.table(rules))
                default:
                    return StepPlan(notes: ["set these inbound rules in your cloud provider's console:"] + FirewallRules.table(rules))
                }
            },
            apply: { ctx in
                let rules = desired(ctx)
                switch provider(ctx) {
                case "aws":
                    let sg = try AWSFirewall(ctx)
                    let (missing, extra) = try await sg.difference(rules, sshPort: sshPort(ctx), ctx: ctx)
                    for c in sg.commands(add: missing, remove: extra) { try await ctx.run(c) }
                case "ufw":
                    try UFW.requireOperator(rules)
                    let have = try await UFW.rules(ctx)
                    let (missing, extra) = UFW.difference(have: have, want: rules, sshPort: sshPort(ctx))
                    for c in UFW.commands(add: missing, remove: extra, enable: !(try await UFW.isActive(ctx))) { try await ctx.run(c) }
                default:
                    // Manual: the operator sets the rules; the confirmation below is theirs.
                    ctx.log("set these inbound rules in your cloud provider's console:")
                    for line in FirewallRules.table(rules) { ctx.log("  " + line) }
                }
            },
            verify: { ctx in
                let rules = desired(ctx)
                switch provider(ctx) {
                case "aws":
                    let sg = try AWSFirewall(ctx)
                    let (missing, extra) = try await sg.difference(rules, sshPort: sshPort(ctx), ctx: ctx)
                    guard missing.isEmpty && extra.isEmpty else {
                        throw StepError.verificationFailed("security group \(sg.groupID) still differs: add \(missing.map(\.key)), remove \(extra.map(\.key))")
                    }
                case "ufw":
                    try UFW.requireOperator(rules)
                    let have = try await UFW.rules(ctx)
                    let (missing, extra) = UFW.difference(have: have, want: rules, sshPort: sshPort(ctx))
                    guard missing.isEmpty && extra.isEmpty else {
                        throw StepError.verificationFailed("ufw still differs: add \(missing.map(\.key)), remove \(extra.map(\.key))")
                    }
                default:
                    if case .needsChange(let why) = try manualCheck(ctx, phase: phase, rules: rules) {
                        throw StepError.verificationFailed(why)
                    }
                }
            })
    }

    /// Manual provider: probe, from the operator's machine, the ports that must be open. A
    /// refused connection passes (the packets got through; nothing listens yet); a timeout
    /// means the firewall still drops them.
    static func manualCheck(_ ctx: StepContext, phase: FirewallPhase, rules: [FirewallRule]) throws -> CheckOutcome {
        guard let ip = ctx.input(.serverIP) else { throw StepError.missingInput(.serverIP) }
        let ports = Set(rules.map(\.port)).sorted()
        var blocked: [String] = []
        var seen: [String] = []
        for p in ports {
            let r = PortProbe.probe(host: ip, port: p)
            seen.append("\(p) \(r.rawValue)")
            if !r.passesFirewall { blocked.append("\(p) (\(r.rawValue))") }
        }
        ctx.log("probe of \(ip) from this machine: " + seen.joined(separator: ", "))
        if blocked.isEmpty {
            return .satisfied("ports \(ports.map(String.init).joined(separator: ", ")) of \(ip) are reachable from this machine")
        }
        return .needsChange("ports blocked from this machine: \(blocked.joined(separator: ", "))")
    }
}

// MARK: - AWS security group through the real AWS CLI

struct AWSFirewall {
    let groupID: String
    let base: [String]

    init(_ ctx: StepContext) throws {
        guard let sg = ctx.input(.awsSecurityGroupID) else { throw StepError.missingInput(.awsSecurityGroupID) }
        groupID = sg
        base = AWSCLI.base(ctx)
    }

    /// Rules on managed ports, as `port cidr` keys.
    func current(sshPort: Int, ctx: StepContext) async throws -> [FirewallRule] {
        let r = try await ctx.run(base + ["ec2", "describe-security-groups", "--group-ids", groupID, "--output", "json"])
        guard let obj = try? JSONSerialization.jsonObject(with: Data(r.stdoutText.utf8)) as? [String: Any],
              let groups = obj["SecurityGroups"] as? [[String: Any]], let g = groups.first else {
            throw StepError.other("unexpected answer from aws ec2 describe-security-groups")
        }
        let managed = FirewallRules.managedPorts(sshPort: sshPort)
        var out: [FirewallRule] = []
        for perm in (g["IpPermissions"] as? [[String: Any]]) ?? [] {
            guard (perm["IpProtocol"] as? String) == "tcp", let from = perm["FromPort"] as? Int, let to = perm["ToPort"] as? Int,
                  from == to, managed.contains(from) else { continue }
            for range in (perm["IpRanges"] as? [[String: Any]]) ?? [] {
                if let cidr = range["CidrIp"] as? String {
                    out.append(FirewallRule(port: from, source: cidr, note: (range["Description"] as? String) ?? ""))
                }
            }
        }
        return out
    }

}

extension AWSFirewall {
    func difference(_ want: [FirewallRule], sshPort: Int, ctx: StepContext) async throws -> (missing: [FirewallRule], extra: [FirewallRule]) {
        for r in want where r.source.hasPrefix("<") {
            throw StepError.missingInput(.operatorCIDR)
        }
        let have = try await current(sshPort: sshPort, ctx: ctx)
        let haveKeys = Set(have.map(\.key)), wantKeys = Set(want.map(\.key))
        return (want.filter { !haveKeys.contains($0.key) }.sorted(), have.filter { !wantKeys.contains($0.key) }.sorted())
    }

    func commands(add: [FirewallRule], remove: [FirewallRule]) -> [Command] {
        func perms(_ rules: [FirewallRule], description: Bool) -> String {
            let items = rules.map { r -> [String: Any] in
                var range: [String: Any] = ["CidrIp": r.source]
                if description { range["Description"] = "djdeploy: " + r.note }
                return ["IpProtocol": "tcp", "FromPort": r.port, "ToPort": r.port, "IpRanges": [range]]
            }
            let data = (try? JSONSerialization.data(withJSONObject: items, options: [.sortedKeys])) ?? Data("[]".utf8)
            return String(decoding: data, as: UTF8.self)
        }
        var out: [Command] = []
        if !add.isEmpty {
            out.append(Command(base + ["ec2", "authorize-security-group-ingress", "--group-id", groupID,
                                       "--ip-permissions", perms(add, description: true)]))
        }
        if !remove.isEmpty {
            out.append(Command(base + ["ec2", "revoke-security-group-ingress", "--group-id", groupID,
                                       "--ip-permissions", perms(remove, description: false)]))
        }
        return out
    }
}

enum AWSCLI {
    /// `aws` with the region and endpoint inputs (the endpoint is how tests reach moto).
    static func base(_ ctx: StepContext) -> [String] {
        var a = ["aws"]
        if let r = ctx.input(.awsRegion) { a += ["--region", r] }
        if let e = ctx.input(.awsEndpointURL) { a += ["--endpoint-url", e] }
        return a
    }
}

// MARK: - ufw on the server

enum UFW {
    static func requireOperator(_ rules: [FirewallRule]) throws {
        if rules.contains(where: { $0.source.hasPrefix("<") }) { throw StepError.missingInput(.operatorCIDR) }
    }

    static func isActive(_ ctx: StepContext) async throws -> Bool {
        let r = try await ctx.run(["ufw", "status"], asRoot: true, allowFailure: true)
        return r.stdoutText.contains("Status: active")
    }

    /// Rules from `ufw show added` (works whether or not ufw is active).
    static func rules(_ ctx: StepContext) async throws -> [FirewallRule] {
        guard try await ctx.succeeds(["sh", "-c", "command -v ufw >/dev/null"]) else { return [] }
        let r = try await ctx.run(["ufw", "show", "added"], asRoot: true, allowFailure: true)
        var out: [FirewallRule] = []
        for line in r.stdoutText.split(separator: "\n") {
            // e.g. "ufw allow from 203.0.113.7/32 to any port 22 proto tcp comment 'x'" or "ufw allow 80/tcp"
            let w = line.split(separator: " ").map(String.init)
            guard w.count >= 3, w[0] == "ufw", w[1] == "allow" else { continue }
            if let fromIdx = w.firstIndex(of: "from"), let portIdx = w.firstIndex(of: "port"), portIdx + 1 < w.count,
               let port = Int(w[portIdx + 1]) {
                let src = w[fromIdx + 1] == "any" ? "0.0.0.0/0" : (w[fromIdx + 1].contains("/") ? w[fromIdx + 1] : w[fromIdx + 1] + "/32")
                out.append(FirewallRule(port: port, source: src, note: ""))
            } else if let p = Int(w[2].split(separator: "/").first ?? "") {
                out.append(FirewallRule(port: p, source: "0.0.0.0/0", note: ""))
            }
        }
        return out
    }

    static func difference(have: [FirewallRule], want: [FirewallRule], sshPort: Int) -> (missing: [FirewallRule], extra: [FirewallRule]) {
        let managed = FirewallRules.managedPorts(sshPort: sshPort)
        let h = have.filter { managed.contains($0.port) }
        let hk = Set(h.map(\.key)), wk = Set(want.map(\.key))
        return (want.filter { !hk.contains($0.key) }.sorted(), h.filter { !wk.contains($0.key) }.sorted())
    }

    static func commands(add: [FirewallRule], remove: [FirewallRule], enable: Bool) -> [Command] {
        var out: [Command] = []
        for r in add {
            let from = r.source == "0.0.0.0/0" ? "any" : r.source
            out.append(Command(["ufw", "allow", "proto", "tcp", "from", from, "to", "any", "port", String(r.port),
                                "comment", "djdeploy: " + r.note], asRoot: true))
        }
        for r in remove {
            let from = r.source == "0.0.0.0/0" ? "any" : r.source
            out.append(Command(["ufw", "delete", "allow", "proto", "tcp", "from", from, "to", "any", "port", String(r.port)], asRoot: true))
        }
        if enable { out.append(Command(["ufw", "--force", "enable"], asRoot: true)) }
        return out
    }
}
