import ArgumentParser
import Foundation
import Stages
import StepRunner
import WizardCore

#if canImport(Glibc)
import Glibc
#endif

struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Start or stop a practice server stack on this machine (sshd, DNS, ACME) for training.",
        discussion: """
        `up` starts, on loopback, the same stack the end-to-end tests use: an sshd on 127.0.0.1:2222 \
        with a sudo user, dnsmasq answering supersecure.test on 127.0.0.53, and pebble, a local \
        ACME server, on 127.0.0.1:14000. It writes an answers file pointing at it, so every stage, \
        the certificate included, can be walked for real with no cloud account and no domain. \
        Needs root. `down` stops everything it started and undoes its changes.
        """
    )

    enum Action: String, ExpressibleByArgument, CaseIterable { case up, down, status }

    @Argument(help: "up, down or status")
    var action: Action

    @Flag(name: [.short, .long], help: "Do not ask before changing the machine.")
    var yes = false

    @Option(help: ArgumentHelp("Where the fixture scripts are (default: Tests/fixtures of the djdeploy source tree).", valueName: "dir"))
    var fixturesDir: String?

    @Option(help: ArgumentHelp("Where `up` writes the answers file.", valueName: "file"))
    var answersOut = "sandbox.yaml"

    static let sshdEnv = "/tmp/djdeploy-fixtures/sshd.env"
    static let stackEnv = "/tmp/djdeploy-stack/stack.env"

    static let changes = [
        "apt packages, if missing: openssh-server sudo dnsmasq-base pebble curl openssl ca-certificates bind9-dnsutils",
        "users `djdeploy` (passwordless sudo) and `djpw` (sudo with a password), and /etc/sudoers.d/djdeploy-fixture",
        "an sshd on 127.0.0.1:2222 with its own host key (state in /tmp/djdeploy-fixtures)",
        "dnsmasq on 127.0.0.53:53 answering supersecure.test and www.supersecure.test with 127.0.0.1",
        "pebble (a test ACME server) on 127.0.0.1:14000 and :15000 (state in /tmp/djdeploy-stack)",
        "a line `127.0.0.1 supersecure.test www.supersecure.test` in /etc/hosts",
        "pebble's CA certificate in the system trust store (update-ca-certificates)",
        "pebble's issuing root in the trust store too (it plays Let's Encrypt's root, so the verify stage can check the chain)",
    ]

    static let rootTrustFile = "/usr/local/share/ca-certificates/djdeploy-sandbox-pebble-root.crt"

    func fixtures() throws -> String {
        var candidates: [String] = []
        if let fixturesDir { candidates.append(fixturesDir) }
        // The source tree this binary was built from (swift run, or a local build).
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.appendingPathComponent("Tests/fixtures").path)
        candidates.append(FileManager.default.currentDirectoryPath + "/Tests/fixtures")
        for c in candidates where FileManager.default.fileExists(atPath: c + "/sshd-up.sh") && FileManager.default.fileExists(atPath: c + "/stack-up.sh") {
            return c
        }
        Console.error("the sandbox uses the fixture scripts of the djdeploy source tree (Tests/fixtures); none found: pass --fixtures-dir DIR")
        throw ExitCode(DeployExitCode.badInput.rawValue)
    }

    func run() async throws {
        let dir = try fixtures()
        let runner = SystemRunner(target: .local)
        func script(_ name: String) async throws -> Bool {
            let r = try await runner.run(Command(["bash", dir + "/" + name])) { line in Console.out(Console.dim("  │ ") + line.text) }
            return r.succeeded
        }
        switch action {
        case .status:
            let ssh = PortProbe.probe(host: "127.0.0.1", port: 2222, timeout: 1) == .open
            let acme = PortProbe.probe(host: "127.0.0.1", port: 14000, timeout: 1) == .open
            let dns = (try? DNSClient.resolveA("supersecure.test", resolver: "127.0.0.53", timeout: 1)) == ["127.0.0.1"]
            Console.out("sshd 127.0.0.1:2222 \(ssh ? "up" : "down"); dnsmasq 127.0.0.53 \(dns ? "up" : "down"); pebble 127.0.0.1:14000 \(acme ? "up" : "down")")
            if !(ssh && dns && acme) { throw ExitCode(1) }
        case .up, .down:
            guard geteuid() == 0 else {
                Console.error("the sandbox changes the machine (packages, users, /etc/hosts, trust store): run it as root")
                throw ExitCode(DeployExitCode.badInput.rawValue)
            }
            if action == .up {
                Console.out("djdeploy sandbox up will change this machine:")
                for c in Self.changes { Console.out("  - " + c) }
                Console.out("`djdeploy sandbox down` undoes them (packages and users stay).")
                if !yes && !Console.confirm("Go ahead?") {
                    Console.out("nothing changed")
                    return
                }
                guard try await script("sshd-up.sh"), try await script("stack-up.sh") else {
                    Console.error("the sandbox did not start; see the output above")
                    throw ExitCode(DeployExitCode.stepFailed.rawValue)
                }
                // pebble's issuing root is new at every pebble start: trust the current one
                if let root = Self.env(Self.stackEnv)["DJ_PEBBLE_ROOT"] {
                    let r = try await runner.run(Command(["sh", "-c", "install -m 0644 -- \"$1\" \"$2\" && update-ca-certificates >/dev/null",
                                                          "sh", root, Self.rootTrustFile]))
                    if !r.succeeded { Console.error("could not add pebble's root to the trust store: \(r.stderrText)") }
                }
                let answers = try Self.answers()
                try answers.write(toFile: answersOut, atomically: true, encoding: .utf8)
                chmod(answersOut, 0o600)
                Console.out(Console.green("sandbox up") + "; answers written to \(answersOut). Next: `djdeploy --answers \(answersOut)` (or `djdeploy run --answers \(answersOut)`)")
            } else {
                if FileManager.default.fileExists(atPath: Self.rootTrustFile) {
                    _ = try await runner.run(Command(["sh", "-c", "rm -f -- \"$1\" && update-ca-certificates --fresh >/dev/null", "sh", Self.rootTrustFile]))
                }
                let a = try await script("stack-down.sh")
                let b = try await script("sshd-down.sh")
                if !(a && b) { throw ExitCode(DeployExitCode.stepFailed.rawValue) }
                Console.out(Console.green("sandbox down"))
            }
        }
    }

    static func env(_ path: String) -> [String: String] {
        var kv: [String: String] = [:]
        for line in ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n") {
            let p = line.split(separator: "=", maxSplits: 1).map(String.init)
            if p.count == 2 { kv[p[0]] = p[1] }
        }
        return kv
    }

    /// An answers file for the sandbox (see docs/answers.md).
    static func answers() throws -> String {
        let s = env(sshdEnv), k = env(stackEnv)
        guard let key = s["DJ_SSH_KEY"], let kh = s["DJ_SSH_KNOWN_HOSTS"] else {
            Console.error("the sandbox's sshd did not write \(sshdEnv)")
            throw ExitCode(DeployExitCode.stepFailed.rawValue)
        }
        let domain = k["DJ_DOMAIN"] ?? "supersecure.test"
        return """
        # Written by `djdeploy sandbox up`: a practice deployment on this machine's loopback stack.
        target:
          host: \(s["DJ_SSH_HOST"] ?? "127.0.0.1")
          port: \(s["DJ_SSH_PORT"] ?? "2222")
          user: \(s["DJ_SSH_USER"] ?? "djdeploy")
          identity_file: \(key)
          known_hosts_file: \(kh)
        domain: \(domain)
        email: admin@\(domain)
        server_ip: 127.0.0.1
        dns_resolver: \(k["DJ_DNS_RESOLVER"] ?? "127.0.0.53")
        acme_server: \(k["DJ_ACME_SERVER"] ?? "https://127.0.0.1:14000/dir")
        firewall:
          provider: manual

        """
    }
}
