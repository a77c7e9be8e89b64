import Foundation
import StepRunner
import Testing
import WizardCore
@testable import Stages

#if canImport(Glibc)
import Glibc
#endif

/// The loopback test stack (Tests/fixtures/stack-up.sh): dnsmasq on 127.0.0.53.
enum TestStack {
    static let env: [String: String]? = {
        let path = ProcessInfo.processInfo.environment["DJDEPLOY_STACK_ENV"] ?? "/tmp/djdeploy-stack/stack.env"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var kv: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let p = line.split(separator: "=", maxSplits: 1).map(String.init)
            if p.count == 2 { kv[p[0]] = p[1] }
        }
        return kv
    }()
    static var available: Bool { env != nil || ProcessInfo.processInfo.environment["DJDEPLOY_TEST_CI"] != nil }
    static var domain: String { env?["DJ_DOMAIN"] ?? "supersecure.test" }
    static var resolver: String { env?["DJ_DNS_RESOLVER"] ?? "127.0.0.53" }
}

/// Runs a one-stage deployment locally through the real runtime; returns the final state.
func runStage(_ stage: StageDefinition, inputs: [String: String], recheck: Bool = false,
              state: WizardState? = nil) async throws -> WizardState {
    let deployment = Deployment(stages: [stage])
    let runner = SystemRunner(target: .local)
    let s = state ?? WizardState(deployment: deployment, profile: "test", target: .local, inputs: inputs)
    let runtime = WizardRuntime(deployment: deployment, state: s, store: nil, runner: runner, localRunner: runner,
                                confirm: { _, _ in true })
    _ = await runtime.run(RunScope(recheckSucceeded: recheck))
    await runner.shutdown()
    return await runtime.state
}

@Suite(.serialized, .enabled(if: TestStack.available, "loopback DNS stack not running"))
struct DNSStageTests {
    @Test func clientResolvesThroughTheResolverDirectly() throws {
        #expect(try DNSClient.resolveA(TestStack.domain, resolver: TestStack.resolver) == ["127.0.0.1"])
        #expect(try DNSClient.resolveA("www." + TestStack.domain, resolver: TestStack.resolver) == ["127.0.0.1"])
        // dnsmasq (no-resolv) refuses names it does not serve: a clear error, not an empty answer.
        #expect(throws: DNSClient.Failure.self) { _ = try DNSClient.resolveA("example.com", resolver: TestStack.resolver) }
        // Nothing listens there: a timeout, quickly.
        #expect(throws: DNSClient.Failure.self) { _ = try DNSClient.resolveA("x.test", resolver: "127.0.0.54", timeout: 0.5) }
    }

    @Test func recordsThatMatchAreANoopWithTheReason() async throws {
        let final = try await runStage(DNSStage.make(StageEnvironment()),
                                       inputs: ["domain": TestStack.domain, "server_ip": "127.0.0.1", "dns_resolver": TestStack.resolver])
        let rec = try #require(final.step("dns.a-records"))
        #expect(rec.status == .succeeded)
        #expect(rec.noopReason?.contains("resolve to 127.0.0.1") == true)
    }

    @Test func wrongAddressIsSeenByTheCheck() async throws {
        let def = DNSStage.make(StageEnvironment()).steps[0]
        let ctx = StepContext(stepID: def.id, runner: SystemRunner(target: .local),
                              inputs: ["domain": TestStack.domain, "server_ip": "127.0.0.2", "dns_resolver": TestStack.resolver])
        let outcome = try await def.check(ctx)
        guard case .needsChange(let why) = outcome else { Issue.record("expected needsChange"); return }
        #expect(why.contains("127.0.0.1"))
        let plan = try await def.plan(ctx)
        #expect(plan.notes.joined().contains("www.\(TestStack.domain)"))
    }
}

@Suite struct FirewallRuleTests {
    @Test func rulesChangeAsTheDeploymentGoesOn() {
        let op = "203.0.113.7/32"
        let dev = FirewallRules.desired(.dev, operatorCIDR: op, serverIP: "198.51.100.2", sshPort: 22).map(\.key)
        #expect(dev == ["22 \(op)", "8000 \(op)"])
        let nginx = FirewallRules.desired(.nginx, operatorCIDR: op, serverIP: "198.51.100.2", sshPort: 22).map(\.key)
        #expect(nginx.contains("80 198.51.100.2/32") && nginx.contains("80 \(op)"))
        let https = FirewallRules.desired(.https, operatorCIDR: op, serverIP: nil, sshPort: 22).map(\.key)
        #expect(https.contains("80 0.0.0.0/0") && https.contains("443 0.0.0.0/0"))
        let live = FirewallRules.desired(.golive, operatorCIDR: op, serverIP: nil, sshPort: 2222).map(\.key)
        #expect(live == ["80 0.0.0.0/0", "443 0.0.0.0/0", "2222 \(op)"])
        #expect(!live.contains { $0.hasPrefix("8000") })
    }

    @Test func manualProviderProbesFromTheOperatorSide() async throws {
        let final = try await runStage(FirewallStage.make(StageEnvironment()),
                                       inputs: ["server_ip": "127.0.0.1", "firewall_provider": "manual"])
        let rec = try #require(final.step("firewall.dev"))
        #expect(rec.status == .succeeded, "\(rec.error ?? "")")
        #expect(rec.noopReason?.contains("reachable from this machine") == true)
        #expect(PortProbe.probe(host: "127.0.0.1", port: 1) == .refused)
    }
}

/// The `aws` providers against moto's server with the real AWS CLI.
@Suite(.serialized, .enabled(if: MotoServer.available, "aws CLI or moto_server not installed"))
struct AWSProviderTests {
    @Test func firewallAndStaticIPAgainstMoto() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let local = SystemRunner(target: .local)
        let aws = ["aws", "--region", "us-east-1", "--endpoint-url", moto.url, "--output", "json"]
        let sgOut = try await local.run(Command(aws + ["ec2", "create-security-group", "--group-name", "djdeploy-test",
                                                       "--description", "djdeploy test"], environment: MotoServer.env))
        #expect(sgOut.succeeded, "\(sgOut.stderrText)")
        let sg = try #require((try JSONSerialization.jsonObject(with: Data(sgOut.stdoutText.utf8)) as? [String: Any])?["GroupId"] as? String)
        for (k, v) in MotoServer.env { setenv(k, v, 1) }
        let inputs = ["firewall_provider": "aws", "aws_security_group_id": sg, "aws_region": "us-east-1",
                      "aws_endpoint_url": moto.url, "operator_cidr": "203.0.113.7/32", "server_ip": "198.51.100.2",
                      "domain": "example.com"]
        // dev rules: applied, then a noop.
        var state = try await runStage(FirewallStage.make(StageEnvironment()), inputs: inputs)
        #expect(state.step("firewall.dev")?.status == .succeeded, "\(state.step("firewall.dev")?.error ?? "")")
        #expect(state.step("firewall.dev")?.noopReason == nil)
        state = try await runStage(FirewallStage.make(StageEnvironment()), inputs: inputs, recheck: true, state: state)
        #expect(state.step("firewall.dev")?.noopReason?.contains("already has the dev rules") == true)
        // go-live rules: 8000 revoked, 80/443 open to anywhere.
        let golive = StageDefinition(id: "go-live", title: "go live", steps: [FirewallStage.step(.golive, id: "go-live.firewall")])
        let s2 = try await runStage(golive, inputs: inputs)
        #expect(s2.step("go-live.firewall")?.status == .succeeded, "\(s2.step("go-live.firewall")?.error ?? "")")
        let desc = try await local.run(Command(aws + ["ec2", "describe-security-groups", "--group-ids", sg], environment: MotoServer.env))
        #expect(desc.stdoutText.contains("443"))
        #expect(!desc.stdoutText.contains("\"FromPort\": 8000"))

        // static IP: an Elastic IP allocated once and associated with the instance.
        let run = try await local.run(Command(aws + ["ec2", "run-instances", "--image-id", "ami-12c6146b", "--count", "1",
                                                     "--instance-type", "t2.micro"], environment: MotoServer.env))
        #expect(run.succeeded, "\(run.stderrText)")
        let inst = try #require(((try JSONSerialization.jsonObject(with: Data(run.stdoutText.utf8)) as? [String: Any])?["Instances"] as? [[String: Any]])?.first?["InstanceId"] as? String)
        var ipInputs = inputs
        ipInputs["aws_instance_id"] = inst
        ipInputs["static_ip_provider"] = "aws"
        ipInputs["server_ip"] = nil
        let ip1 = try await runStage(StaticIPStage.make(StageEnvironment()), inputs: ipInputs)
        #expect(ip1.step("static-ip.address")?.status == .succeeded, "\(ip1.step("static-ip.address")?.error ?? "")")
        let serverIP = try #require(ip1.inputs["server_ip"])
        let ip2 = try await runStage(StaticIPStage.make(StageEnvironment()), inputs: ipInputs, recheck: true, state: ip1)
        #expect(ip2.step("static-ip.address")?.noopReason?.contains(serverIP) == true)
        let addrs = try await local.run(Command(aws + ["ec2", "describe-addresses"], environment: MotoServer.env))
        #expect(addrs.stdoutText.components(separatedBy: "\"AllocationId\"").count - 1 == 1, "more than one address allocated")
        await local.shutdown()
    }
}

struct MotoServer {
    let url: String
    let task: Task<CommandResult, Error>
    static let env = ["AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                      "AWS_EC2_METADATA_DISABLED": "true"]

    static var available: Bool {
        if ProcessInfo.processInfo.environment["DJDEPLOY_TEST_CI"] != nil { return true }
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        func has(_ b: String) -> Bool { paths.contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(b)") } }
        return has("aws") && has("moto_server")
    }

    static func start() async throws -> MotoServer {
        let port = Int.random(in: 20000...29999)
        let runner = SystemRunner(target: .local)
        let task = Task { try await runner.run(Command(["moto_server", "-H", "127.0.0.1", "-p", String(port)])) }
        let url = "http://127.0.0.1:\(port)"
        for _ in 0..<100 {
            if PortProbe.probe(host: "127.0.0.1", port: port, timeout: 0.2) == .open { return MotoServer(url: url, task: task) }
            try await Task.sleep(for: .milliseconds(100))
        }
        task.cancel()
        throw StepError.other("moto_server did not start on \(port)")
    }

    func stop() { task.cancel() }
}
