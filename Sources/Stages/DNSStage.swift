import Foundation
import StepRunner
import WizardCore

/// The two A records (`@` and `www`) pointing at the server. The operator creates them at their
/// DNS provider; the step shows them and waits, resolving both names straight from a resolver
/// (UDP to `dns_resolver`, or the system's first nameserver) until they match.
public enum DNSStage {
    public static let id: StageID = "dns"

    public static func make(_ env: StageEnvironment) -> StageDefinition {
        StageDefinition(id: id, title: "DNS A records", steps: [step()])
    }

    /// Seconds to wait for the records to appear.
    static let waitSeconds = 600.0

    struct Lookup: Sendable {
        var name: String
        var addresses: [String]
        var error: String?
        func matches(_ ip: String) -> Bool { error == nil && addresses == [ip] }
        var shown: String { error ?? (addresses.isEmpty ? "no A record" : addresses.joined(separator: ", ")) }
    }

    static func resolver(_ ctx: StepContext) -> (host: String, port: UInt16) {
        let r = ctx.input(.dnsResolver) ?? DNSClient.systemResolver()
        // `host:port` is accepted for test resolvers on another port.
        let parts = r.split(separator: ":")
        if parts.count == 2, let p = UInt16(parts[1]) { return (String(parts[0]), p) }
        return (r, 53)
    }

    static func lookups(_ ctx: StepContext) throws -> [Lookup] {
        let domain = try ctx.require(.domain)
        let (host, port) = resolver(ctx)
        return [domain, "www." + domain].map { name in
            do { return Lookup(name: name, addresses: try DNSClient.resolveA(name, resolver: host, port: port).sorted()) } catch {
                return Lookup(name: name, addresses: [], error: "\(error)")
            }
        }
    }

    static func records(_ ctx: StepContext) throws -> [String] {
        let domain = try ctx.require(.domain)
        let ip = try ctx.require(.serverIP)
        return ["type  name                  value", "A     \(domain)".padding(toLength: 28, withPad: " ", startingAt: 0) + ip,
                "A     www.\(domain)".padding(toLength: 28, withPad: " ", startingAt: 0) + ip]
    }

    static func step() -> StepDefinition {
        StepDefinition(
            id: "dns.a-records", title: "A records for the domain and www", runsOn: .operator,
            reads: [.domain, .serverIP, .dnsResolver],
            check: { ctx in
                let ip = try ctx.require(.serverIP)
                let found = try lookups(ctx)
                let (host, port) = resolver(ctx)
                if found.allSatisfy({ $0.matches(ip) }) {
                    return .satisfied("\(found.map(\.name).joined(separator: " and ")) resolve to \(ip) at \(host):\(port)")
                }
                return .needsChange(found.filter { !$0.matches(ip) }.map { "\($0.name) → \($0.shown)" }.joined(separator: "; "))
            },
            plan: { ctx in
                StepPlan(notes: ["create these records at your DNS provider (the wizard waits for them):"] + (try records(ctx)))
            },
            apply: { ctx in
                let ip = try ctx.require(.serverIP)
                ctx.log("create these records at your DNS provider:")
                for line in try records(ctx) { ctx.log("  " + line) }
                let deadline = Date().addingTimeInterval(waitSeconds)
                var last = Date.distantPast
                while true {
                    try ctx.cancellation.check()
                    let found = try lookups(ctx)
                    if found.allSatisfy({ $0.matches(ip) }) {
                        ctx.log("both names resolve to \(ip)")
                        return
                    }
                    let left = deadline.timeIntervalSinceNow
                    if left <= 0 {
                        throw StepError.other("the A records did not appear within \(Int(waitSeconds)) s: " +
                                              found.map { "\($0.name) → \($0.shown)" }.joined(separator: "; "))
                    }
                    if Date().timeIntervalSince(last) >= 10 {
                        last = Date()
                        ctx.log("waiting for DNS (\(Int(left)) s left): " + found.map { "\($0.name) → \($0.shown)" }.joined(separator: "; "))
                    }
                    try await Task.sleep(for: .seconds(2))
                }
            },
            verify: { ctx in
                let ip = try ctx.require(.serverIP)
                let found = try lookups(ctx)
                guard found.allSatisfy({ $0.matches(ip) }) else {
                    throw StepError.verificationFailed(found.map { "\($0.name) → \($0.shown)" }.joined(separator: "; "))
                }
            })
    }
}
