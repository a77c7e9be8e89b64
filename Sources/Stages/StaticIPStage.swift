import Foundation
import StepRunner
import WizardCore

/// The server's public address must not change under the DNS records. Manual: the operator
/// enters it. AWS: an Elastic IP is allocated (once, tagged) and associated with the instance.
public enum StaticIPStage {
    public static let id: StageID = "static-ip"
    public static let instanceID: InputKey = .awsInstanceID

    public static func make(_ env: StageEnvironment) -> StageDefinition {
        StageDefinition(id: id, title: "Static IP address", steps: [step()])
    }

    static func isAWS(_ ctx: StepContext) -> Bool { ctx.input(.staticIPProvider) == "aws" }

    static func step() -> StepDefinition {
        StepDefinition(
            id: "static-ip.address", title: "Reserve the server's address", runsOn: .operator,
            reads: [.serverIP, .staticIPProvider, instanceID, .awsRegion, .awsEndpointURL, .domain],
            check: { ctx in
                if isAWS(ctx) {
                    let eip = try await ElasticIP(ctx)
                    if let a = try await eip.associated() {
                        try ctx.setInput(.serverIP, a.publicIP)
                        return .satisfied("Elastic IP \(a.publicIP) (\(a.allocationID)) is associated with \(eip.instance)")
                    }
                    return .needsChange("instance \(eip.instance) has no Elastic IP")
                }
                guard let ip = ctx.input(.serverIP) else {
                    return .needsChange("the server's static IP is not known yet (input server_ip)")
                }
                return .satisfied("the server's address is \(ip) (entered by the operator)")
            },
            plan: { ctx in
                if isAWS(ctx) {
                    let eip = try await ElasticIP(ctx)
                    if let free = try await eip.taggedUnassociated() {
                        return StepPlan(actions: [.command(eip.associate(free))],
                                        notes: ["reuse the Elastic IP \(free) allocated earlier for \(eip.tag)"])
                    }
                    return StepPlan(actions: [.command(eip.allocate()), .command(eip.associate("<new allocation id>"))])
                }
                return StepPlan(notes: ["reserve a static (elastic) IP for the server in your provider's console, then enter it as server_ip"])
            },
            apply: { ctx in
                if isAWS(ctx) {
                    let eip = try await ElasticIP(ctx)
                    // Reuse an address we allocated before (a crash between allocate and associate
                    // must not leak a second one).
                    var allocation = try await eip.taggedUnassociated()
                    if allocation == nil {
                        let r = try await ctx.run(eip.allocate())
                        let obj = try? JSONSerialization.jsonObject(with: Data(r.stdoutText.utf8)) as? [String: Any]
                        allocation = obj?["AllocationId"] as? String
                    }
                    guard let allocation else { throw StepError.other("aws ec2 allocate-address returned no AllocationId") }
                    try await ctx.run(eip.associate(allocation))
                    if let a = try await eip.associated() { try ctx.setInput(.serverIP, a.publicIP) }
                    return
                }
                throw StepError.missingInput(.serverIP)
            },
            verify: { ctx in
                if isAWS(ctx) {
                    guard try await ElasticIP(ctx).associated() != nil else {
                        throw StepError.verificationFailed("no Elastic IP is associated with the instance")
                    }
                }
            })
    }
}

struct ElasticIP {
    let instance: String
    let tag: String
    let base: [String]

    init(_ ctx: StepContext) async throws {
        guard let i = ctx.input(StaticIPStage.instanceID) else { throw StepError.missingInput(StaticIPStage.instanceID) }
        instance = i
        tag = "djdeploy:" + (ctx.input(.domain) ?? "server")
        base = AWSCLI.base(ctx)
        self.ctx = ctx
    }

    private let ctx: StepContext

    struct Address { var publicIP: String; var allocationID: String }

    private func addresses(_ filters: [String]) async throws -> [[String: Any]] {
        let r = try await ctx.run(base + ["ec2", "describe-addresses", "--filters"] + filters + ["--output", "json"])
        let obj = try? JSONSerialization.jsonObject(with: Data(r.stdoutText.utf8)) as? [String: Any]
        return (obj?["Addresses"] as? [[String: Any]]) ?? []
    }

    func associated() async throws -> Address? {
        for a in try await addresses(["Name=instance-id,Values=\(instance)"]) {
            if let ip = a["PublicIp"] as? String, let id = a["AllocationId"] as? String { return Address(publicIP: ip, allocationID: id) }
        }
        return nil
    }

    func taggedUnassociated() async throws -> String? {
        for a in try await addresses(["Name=tag:djdeploy,Values=\(tag)"]) where a["AssociationId"] == nil {
            if let id = a["AllocationId"] as? String { return id }
        }
        return nil
    }

    func allocate() -> Command {
        Command(base + ["ec2", "allocate-address", "--domain", "vpc", "--output", "json", "--tag-specifications",
                        "ResourceType=elastic-ip,Tags=[{Key=djdeploy,Value=\(tag)}]"])
    }

    func associate(_ allocation: String) -> Command {
        Command(base + ["ec2", "associate-address", "--instance-id", instance, "--allocation-id", allocation, "--output", "json"])
    }
}
