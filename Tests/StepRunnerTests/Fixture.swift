import Foundation
import Testing
@testable import StepRunner

/// The loopback sshd started by Tests/fixtures/sshd-up.sh (through scripts/test).
struct SSHFixture {
    var host: String
    var port: Int
    var user: String
    var key: String
    var knownHosts: String
    var knownHostsEmpty: String
    var pwUser: String
    var password: String
    var log: String

    static let shared: SSHFixture? = load()

    static func load() -> SSHFixture? {
        let env = ProcessInfo.processInfo.environment
        let path = env["DJDEPLOY_SSHD_ENV"] ?? "/tmp/djdeploy-fixtures/sshd.env"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var kv: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { kv[parts[0]] = parts[1] }
        }
        guard let host = kv["DJ_SSH_HOST"], let port = kv["DJ_SSH_PORT"].flatMap(Int.init),
              let user = kv["DJ_SSH_USER"], let key = kv["DJ_SSH_KEY"], let kh = kv["DJ_SSH_KNOWN_HOSTS"]
        else { return nil }
        let pw = kv["DJ_SSH_PW_FILE"].flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }?
            .trimmingCharacters(in: .newlines) ?? ""
        return SSHFixture(host: host, port: port, user: user, key: key, knownHosts: kh,
                          knownHostsEmpty: kv["DJ_SSH_KNOWN_HOSTS_EMPTY"] ?? "/dev/null",
                          pwUser: kv["DJ_SSH_PW_USER"] ?? "djpw", password: pw, log: kv["DJ_SSHD_LOG"] ?? "")
    }

    /// In CI the sshd tests must run: a missing fixture is a failure, not a skip.
    static var available: Bool {
        if shared != nil { return true }
        return ProcessInfo.processInfo.environment["DJDEPLOY_TEST_CI"] != nil
    }

    func destination(user: String? = nil, knownHosts: String? = nil) -> SSHDestination {
        SSHDestination(host: host, port: port, user: user ?? self.user, identityFile: key,
                       knownHostsFile: knownHosts ?? self.knownHosts)
    }

    static func require() throws -> SSHFixture {
        try #require(shared, "the loopback sshd fixture is not running (start it with Tests/fixtures/sshd-up.sh or run scripts/test)")
    }
}

func tempDir() -> String {
    let dir = NSTemporaryDirectory() + "djdeploy-test-" + UUID().uuidString.prefix(8)
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Collects lines from the reader thread.
final class LineCollector: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var lines: [OutputLine] = []
    func add(_ l: OutputLine) { lock.withLock { lines.append(l) } }
    var all: [OutputLine] { lock.withLock { lines } }
}
