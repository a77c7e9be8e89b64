import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The OpenSSH argument vector for a destination. Host keys are always checked strictly:
/// `StrictHostKeyChecking=yes`, or `accept-new` when asked; never `no`. `BatchMode=yes`, so a
/// failed login is an error, never a password prompt.
enum SSHArguments {
    static func validate(_ d: SSHDestination) throws {
        func bad(_ what: String) -> RunnerError { .connectionFailed(host: d.host, detail: what) }
        if d.host.isEmpty || d.host.hasPrefix("-") || d.host.contains(where: { $0.isWhitespace || $0 == "\0" }) {
            throw bad("invalid host name \(d.host.debugDescription)")
        }
        if let u = d.user, u.isEmpty || u.hasPrefix("-") || u.contains(where: { $0.isWhitespace || $0 == "@" || $0 == "\0" }) {
            throw bad("invalid user name \(u.debugDescription)")
        }
        if let p = d.port, !(1...65535).contains(p) { throw bad("invalid port \(p)") }
        if let j = d.jumpHost, j.hasPrefix("-") || j.contains(where: { $0.isWhitespace }) {
            throw bad("invalid jump host \(j.debugDescription)")
        }
        for o in d.options {
            let parts = o.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !o.contains("\n") else {
                throw bad("ssh option \(o.debugDescription) is not of the form Key=Value")
            }
            let key = parts[0].lowercased()
            if key == "stricthostkeychecking" && ["no", "off", "false"].contains(parts[1].lowercased()) {
                throw bad("StrictHostKeyChecking=no is refused: djdeploy always checks host keys (use --accept-new-host-key to trust a new server on first use)")
            }
            if ["batchmode", "controlpath", "controlmaster", "controlpersist"].contains(key) {
                throw bad("ssh option \(parts[0]) is managed by djdeploy and cannot be overridden")
            }
        }
    }

    /// Options common to the master and every client.
    static func common(_ d: SSHDestination) -> [String] {
        var a: [String] = [
            "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=\(d.acceptNewHostKey ? "accept-new" : "yes")",
            "-o", "ConnectTimeout=15",
            "-o", "ServerAliveInterval=15",
            "-o", "ServerAliveCountMax=4",
        ]
        if let p = d.port { a += ["-p", String(p)] }
        if let u = d.user { a += ["-l", u] }
        if let i = d.identityFile { a += ["-i", i, "-o", "IdentitiesOnly=yes"] }
        if let k = d.knownHostsFile { a += ["-o", "UserKnownHostsFile=\(k)"] }
        if let j = d.jumpHost { a += ["-J", j] }
        for o in d.options { a += ["-o", o] }
        return a
    }

    /// Maps ssh's own error text to a clear error.
    static func classify(_ d: SSHDestination, stderr: String) -> RunnerError {
        let host = d.description
        let detail = stderr.split(separator: "\n").filter { !$0.isEmpty }.suffix(3).joined(separator: " / ")
        if stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") {
            return .hostKeyChanged(host: host, detail: detail)
        }
        if stderr.contains("Host key verification failed") || stderr.contains("No ED25519 host key is known")
            || stderr.contains("host key is known") {
            return .unknownHostKey(host: host, detail: detail)
        }
        if stderr.contains("Permission denied") || stderr.contains("Too many authentication failures") {
            return .authenticationFailed(host: host, detail: detail)
        }
        return .connectionFailed(host: host, detail: detail.isEmpty ? "ssh failed" : detail)
    }
}

/// One ControlMaster connection per destination: opened lazily by the first command, reused by
/// every later one, closed by `close()`. The master runs under a tiny `sh` watchdog that reads a
/// pipe from us: when this process dies in any way (even SIGKILL), the pipe closes and the
/// watchdog stops the master, so no connection is left behind.
actor SSHMaster {
    let destination: SSHDestination
    private var directory: String?
    private var process: ChildProcess?
    private var exitTask: Task<ChildProcess.Outcome, Never>?

    init(destination: SSHDestination) {
        self.destination = destination
    }

    var controlPath: String? { directory.map { $0 + "/m" } }

    /// Makes sure the master is up; returns the control socket path.
    func ensure() async throws -> String {
        if let dir = directory, let task = exitTask, process != nil {
            let path = dir + "/m"
            if FileManager.default.fileExists(atPath: path) && !(process?.hasExited ?? true) { _ = task; return path }
            await stop()
        }
        return try await start()
    }

    private func start() async throws -> String {
        try SSHArguments.validate(destination)
        var template = Array("/tmp/djd-XXXXXX".utf8CString)
        guard let dirPtr = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw RunnerError.connectionFailed(host: destination.description, detail: "cannot create a private control directory: \(String(cString: strerror(errno)))")
        }
        let dir = String(cString: dirPtr)
        chmod(dir, 0o700)
        let sock = dir + "/m"
        let log = dir + "/master.log"
        let sshArgs = ["ssh", "-M", "-N", "-o", "ControlMaster=yes", "-o", "ControlPersist=no",
                       "-o", "ControlPath=\(sock)", "-E", log] + SSHArguments.common(destination) + ["--", destination.host]
        let script = "exec 3<&0; \"$@\" </dev/null & p=$!; { cat <&3 >/dev/null; kill $p 2>/dev/null; } & w=$!; wait $p; s=$?; kill $w 2>/dev/null; exit $s"
        let proc = try ChildProcess(argv: ["sh", "-c", script, "djdeploy-ssh-master"] + sshArgs,
                                    environment: nil, workingDirectory: nil, stdin: nil,
                                    holdStdinOpen: true, tailLimit: 50)
        let task = Task.detached { await proc.drainAsync(filter: { $0 }, sink: { _ in }) }
        self.directory = dir
        self.process = proc
        self.exitTask = task
        // Wait for the socket (it appears only after authentication) or for the master to fail.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: sock) { return sock }
            if proc.hasExited {
                let outcome = await task.value
                let logText = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                let errText = logText + "\n" + outcome.tail.map(\.text).joined(separator: "\n")
                cleanupDirectory()
                self.process = nil
                self.exitTask = nil
                throw SSHArguments.classify(destination, stderr: errText)
            }
            try? await Task.sleep(for: .milliseconds(2))
        }
        await stop()
        throw RunnerError.connectionFailed(host: destination.description, detail: "timed out waiting for the SSH connection")
    }

    /// Whether the master process has ended (connection lost).
    var isAlive: Bool { process.map { !$0.hasExited } ?? false }

    func stop() async {
        if let proc = process {
            proc.terminate(grace: 1.0)
            if let task = exitTask { _ = await task.value }
        }
        process = nil
        exitTask = nil
        cleanupDirectory()
    }

    /// Kills the master at once (used by tests to simulate a cut connection).
    func killForTesting() {
        process?.signalGroup(SIGKILL)
    }

    private func cleanupDirectory() {
        if let dir = directory { try? FileManager.default.removeItem(atPath: dir) }
        directory = nil
    }
}
