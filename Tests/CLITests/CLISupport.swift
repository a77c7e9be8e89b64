import Foundation
import StepRunner
import Testing

/// Runs the built `djdeploy` binary (like swift-argument-parser's AssertExecuteCommand).
enum CLI {
    static let productsDirectory: URL = {
        // The test bundle lives in the products directory, next to the executables.
        for arg in [CommandLine.arguments.first ?? "", Bundle.main.bundlePath] {
            var url = URL(fileURLWithPath: arg).resolvingSymlinksInPath()
            for _ in 0..<4 {
                url.deleteLastPathComponent()
                if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("djdeploy").path) { return url }
            }
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug")
    }()

    static var binary: String { productsDirectory.appendingPathComponent("djdeploy").path }
    static var testHelper: String { productsDirectory.appendingPathComponent("djdeploy-testhelper").path }

    struct Output {
        var code: Int32
        var stdout: String
        var stderr: String
        var all: String { stdout + stderr }
    }

    /// Runs djdeploy with args (in a scratch HOME unless given) and returns its output.
    static func run(_ args: [String], env: [String: String] = [:], cwd: String? = nil, timeout: Duration = .seconds(120)) async throws -> Output {
        let runner = SystemRunner(target: .local)
        var environment = ["NO_COLOR": "1"]
        for (k, v) in env { environment[k] = v }
        let r = try await runner.run(Command([binary] + args, environment: environment, workingDirectory: cwd, timeout: timeout))
        let code: Int32
        switch r.termination {
        case .exited(let c): code = c
        case .signalled(let s): code = 128 + s
        default: code = -1
        }
        return Output(code: code, stdout: r.stdoutText, stderr: r.stderrText)
    }
}

struct SSHEnv {
    var host = "127.0.0.1"
    var port = 2222
    var user = "djdeploy"
    var key = ""
    var knownHosts = ""
    var log = ""

    static let shared: SSHEnv? = {
        let path = ProcessInfo.processInfo.environment["DJDEPLOY_SSHD_ENV"] ?? "/tmp/djdeploy-fixtures/sshd.env"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var kv: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let p = line.split(separator: "=", maxSplits: 1).map(String.init)
            if p.count == 2 { kv[p[0]] = p[1] }
        }
        guard let key = kv["DJ_SSH_KEY"], let kh = kv["DJ_SSH_KNOWN_HOSTS"] else { return nil }
        return SSHEnv(host: kv["DJ_SSH_HOST"] ?? "127.0.0.1", port: Int(kv["DJ_SSH_PORT"] ?? "") ?? 2222,
                      user: kv["DJ_SSH_USER"] ?? "djdeploy", key: key, knownHosts: kh, log: kv["DJ_SSHD_LOG"] ?? "")
    }()

    static var available: Bool { shared != nil || ProcessInfo.processInfo.environment["DJDEPLOY_TEST_CI"] != nil }

    func answers(domain: String = "demo.test", extra: String = "") -> String {
        """
        target:
          host: \(host)
          port: \(port)
          user: \(user)
          identity_file: \(key)
          known_hosts_file: \(knownHosts)
        domain: \(domain)
        \(extra)
        """
    }
}

func scratchDir() -> String {
    let dir = NSTemporaryDirectory() + "djdeploy-cli-" + String(UUID().uuidString.prefix(8))
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func readJSON(_ path: String) -> [String: Any]? {
    guard let d = FileManager.default.contents(atPath: path) else { return nil }
    return (try? JSONSerialization.jsonObject(with: d)) as? [String: Any]
}

/// The status of a step in a state file.
func stepStatus(_ statePath: String, _ id: String) -> String? {
    guard let j = readJSON(statePath), let stages = j["stages"] as? [[String: Any]] else { return nil }
    for st in stages {
        for step in (st["steps"] as? [[String: Any]]) ?? [] where step["id"] as? String == id {
            return step["status"] as? String
        }
    }
    return nil
}
