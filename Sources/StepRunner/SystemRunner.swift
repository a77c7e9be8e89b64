import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The real runner: local processes, or the system OpenSSH client multiplexed over one
/// ControlMaster connection per target.
public final class SystemRunner: CommandRunning, @unchecked Sendable {
    public let target: Target
    public let redactor: Redactor
    public let transcript: Transcript?
    /// Lines of output kept per command (in the result and in the transcript).
    public var tailLimit = 200

    private let master: SSHMaster?
    private let lock = NSLock()
    private var sudoPassword: String?
    private var rootKnown: Bool?
    private var running: [UInt64: RunningHandle] = [:]
    private var nextID: UInt64 = 0

    /// Grace between SIGTERM and SIGKILL when a command is stopped.
    public var killGrace: Double = 2.0

    /// Marks every command's process tree (environment variable `DJDEPLOY_TAG`) as
    /// `<owner>.<run>`, so that a later run of the same owner can find and stop what a killed run
    /// left running on the target (see `reapOrphans`).
    public var commandTag: String? {
        get { lock.withLock { _commandTag } }
        set { lock.withLock { _commandTag = newValue } }
    }
    private var _commandTag: String?
    static let tagVariable = "DJDEPLOY_TAG"
    static let reapLabel = "djdeploy:reap"

    /// Stops processes on the target that the interrupted step `step` of an earlier run of `owner`
    /// started: the commands a wizard that was killed (SIGKILL, power loss) could not stop
    /// itself. Only the owner's own tags for that step from other runs are touched (the state lock
    /// guarantees that run is dead). Returns the pids stopped.
    @discardableResult
    public func reapOrphans(owner: String, step: String) async -> [Int] {
        guard let current = commandTag else { return [] }
        let script = """
        prefix=$1; current=$2; step=$3; found=
        for e in /proc/[0-9]*/environ; do
          pid=${e#/proc/}; pid=${pid%/environ}
          [ "$pid" = "$$" ] && continue
          tag=$(tr '\\000' '\\n' < "$e" 2>/dev/null | sed -n 's/^DJDEPLOY_TAG=//p')
          case "$tag" in "$prefix".*/"$step") case "$tag" in "$current"/*) ;; *) found="$found $pid" ;; esac ;; esac
        done
        [ -z "$found" ] && exit 0
        echo $found
        kill -s TERM $found 2>/dev/null
        i=0; while [ $i -lt 30 ]; do
          alive=; for p in $found; do kill -s 0 "$p" 2>/dev/null && ! grep -q '^State:.*Z' /proc/$p/status 2>/dev/null && alive=1; done
          [ -z "$alive" ] && exit 0; sleep 0.1; i=$((i+1))
        done
        kill -s KILL $found 2>/dev/null; exit 0
        """
        let privileged = (try? await needsSudo()) ?? false
        let cmd = Command(["sh", "-c", script, "sh", owner, current, step], asRoot: true, timeout: .seconds(30), label: Self.reapLabel)
        guard let r = try? await execute(cmd, privileged: privileged, onLines: nil) else { return [] }
        return r.result.stdoutText.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int($0) }
    }

    public init(target: Target, transcript: Transcript? = nil, redactor: Redactor = Redactor()) {
        self.target = target
        self.transcript = transcript
        self.redactor = redactor
        if case .ssh(let d) = target { master = SSHMaster(destination: d) } else { master = nil }
    }

    // MARK: Secrets

    public func setSudoPassword(_ password: String?) {
        lock.lock()
        sudoPassword = password
        lock.unlock()
        if let password { redactor.add(password) }
    }

    public func addSecret(_ value: String) { redactor.add(value) }

    // MARK: Connection

    /// Opens the SSH connection now (it is otherwise opened by the first command). Throws the
    /// clear connection errors: unknown host key, authentication failure, unreachable host.
    public func connect() async throws {
        _ = try await master?.ensure()
    }

    /// The control socket of the SSH master, if one is up (for tests and the benchmark).
    public func controlPath() async -> String? { await master?.controlPath }

    /// The ssh argv prefix a raw client would use to go through our master (benchmark baseline).
    public func rawSSHArguments() async throws -> [String] {
        guard case .ssh(let d) = target, let master else { return [] }
        let sock = try await master.ensure()
        return ["ssh", "-o", "ControlMaster=no", "-o", "ControlPath=\(sock)"] + SSHArguments.common(d) + ["--", d.host]
    }

    /// Simulates a cut connection (tests).
    public func killMasterForTesting() async { await master?.killForTesting() }

    public func shutdown() async {
        let handles: [RunningHandle] = {
            lock.lock(); defer { lock.unlock() }
            return Array(running.values)
        }()
        await withTaskGroup(of: Void.self) { group in
            for h in handles { group.addTask { await self.stop(h, reason: .cancelled) } }
        }
        await master?.stop()
    }

    // MARK: Privilege

    private func isRoot() async throws -> Bool {
        if let known = (lock.withLock { rootKnown }) { return known }
        let value: Bool
        switch target {
        case .local:
            value = geteuid() == 0
        case .ssh(let d):
            if d.user == "root" {
                value = true
            } else {
                let r = try await execute(Command(["id", "-u"]), privileged: false, onLines: nil)
                value = r.result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "0"
            }
        }
        lock.withLock { rootKnown = value }
        return value
    }

    /// Whether commands asking for root run through sudo on this target.
    public func needsSudo() async throws -> Bool { try await !isRoot() }

    // MARK: Running

    public func run(_ command: Command, onOutput: (@Sendable (OutputLine) -> Void)?) async throws -> CommandResult {
        if let onOutput {
            return try await run(command, batches: { batch in for l in batch { onOutput(l) } })
        }
        return try await run(command, batches: nil)
    }

    /// Like `run`, with output delivered in batches of decoded lines.
    public func run(_ command: Command, lines: (@Sendable ([OutputLine]) -> Void)?) async throws -> CommandResult {
        if let lines {
            return try await run(command, batches: { lines(Array($0)) })
        }
        return try await run(command, batches: nil)
    }

    /// Like `run`, with output delivered as it was read: one `OutputBatch` per read, lines kept as
    /// bytes until asked for (the cheapest way to consume a lot of output). Already redacted.
    public func run(_ command: Command, batches: (@Sendable (OutputBatch) -> Void)?) async throws -> CommandResult {
        var privileged = false
        if command.asRoot { privileged = try await needsSudo() }
        return try await execute(command, privileged: privileged, onLines: batches).result
    }

    /// Starts a command and returns its output as an `AsyncSequence` of lines with backpressure
    /// (at most `bufferLines` lines are held in memory; the child blocks when the consumer lags),
    /// plus its result.
    public func stream(_ command: Command, bufferLines: Int = 65_536) -> CommandStream {
        let channel = LineChannel(capacity: bufferLines)
        let task = Task<CommandResult, Error> {
            defer { channel.finish() }
            return try await self.run(command, lines: { channel.push($0) })
        }
        return CommandStream(lines: LineSequence(channel: channel), task: task)
    }

    struct Executed {
        var result: CommandResult
        var stdoutData: Data
    }

    /// Builds the final argv (sudo, env, ssh) and runs it, recording it in the transcript.
    func execute(_ command: Command, privileged: Bool, onLines: (@Sendable (OutputBatch) -> Void)?,
                 captureStdout: Bool = false) async throws -> Executed {
        guard !command.argv.isEmpty else { throw RunnerError.cannotStart(program: "", reason: "empty command") }
        for (i, a) in command.argv.enumerated() where a.utf8.contains(0) { throw RunnerError.nulInArgument(index: i) }
        for (k, v) in command.environment {
            guard k.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
                throw RunnerError.cannotStart(program: command.argv[0], reason: "invalid environment variable name \(k.debugDescription)")
            }
            if v.utf8.contains(0) { throw RunnerError.nulInArgument(index: -1) }
        }
        let password = privileged ? lock.withLock({ sudoPassword }) : nil

        // The command as it runs on the target: [sudo …] [env K=V …] argv.
        var inner: [String] = []
        if privileged {
            inner += password == nil ? ["sudo", "-n", "--"] : ["sudo", "-S", "-p", "", "--"]
        }
        var environment = command.environment
        if let tag = commandTag, command.label != Self.reapLabel {
            // <owner>.<run>/<step>: a later run reaps only what the interrupted step started, never
            // the daemons that finished steps started on purpose (gunicorn inherits this variable).
            environment[Self.tagVariable] = tag + "/" + (command.label ?? "-")
        }
        let envPairs = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        var localEnv: [String: String]? = nil
        if case .local = target, !privileged {
            if !environment.isEmpty {
                localEnv = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            }
        } else if !envPairs.isEmpty {
            inner += ["env"] + envPairs
        }
        inner += command.argv

        var stdinData = Data()
        if let password { stdinData.append(contentsOf: Array((password + "\n").utf8)) }
        if let s = command.stdin { stdinData.append(s) }

        let argv: [String]
        let remote: Bool
        switch target {
        case .local:
            argv = inner
            remote = false
        case .ssh(let d):
            let sock = try await master!.ensure()
            var script = "printf '\\036djpid:%s\\n' \"$$\" >&2; "
            if let cwd = command.workingDirectory { script += "cd -- \(try ShellQuote.quote(cwd)) || exit 1; " }
            script += "exec " + (try ShellQuote.join(inner))
            argv = ["ssh", "-o", "ControlMaster=no", "-o", "ControlPath=\(sock)"] + SSHArguments.common(d)
                + ["-T", "--", d.host, script]
            remote = true
        }

        let proc = try ChildProcess(argv: argv, environment: localEnv,
                                    workingDirectory: remote ? nil : command.workingDirectory,
                                    stdin: stdinData.isEmpty ? nil : stdinData,
                                    captureStdout: captureStdout, tailLimit: tailLimit)
        let handle = RunningHandle(process: proc, remote: remote, privileged: privileged)
        let id: UInt64 = lock.withLock {
            nextID += 1
            running[nextID] = handle
            return nextID
        }
        defer { _ = lock.withLock { running.removeValue(forKey: id) } }

        let redactor = self.redactor
        let extraSecrets = command.secrets + (password.map { [$0] } ?? [])
        // Per batch of output: the remote pid sentinel (the first stderr line) is taken out, and
        // a batch that may contain a secret is redacted line by line (the check itself is one
        // byte search per secret over the batch; see `OutputBatch.mayContainAny`).
        let filter: @Sendable (OutputBatch) -> OutputBatch = { batch in
            var b = batch
            if remote && b.stream == .stderr && handle.remotePID == nil {
                b = b.rewritten { line in
                    if handle.remotePID == nil && line.text.hasPrefix("\u{1E}djpid:") {
                        handle.setRemotePID(Int(line.text.dropFirst(7)))
                        return false
                    }
                    return true
                }
            }
            let secrets = redactor.snapshot + extraSecrets
            if !secrets.isEmpty && b.mayContainAny(secrets) {
                b = b.rewritten { line in
                    line.text = redactor.redact(line.text, extra: extraSecrets)
                    return true
                }
            }
            return b
        }

        var timeoutTask: Task<Void, Never>?
        if let timeout = command.timeout {
            timeoutTask = Task { [weak self] in
                try? await Task.sleep(for: timeout)
                if Task.isCancelled { return }
                await self?.stop(handle, reason: .timedOut)
            }
        }
        let outcome = await withTaskCancellationHandler {
            await proc.drainAsync(filter: filter, sink: { batch in onLines?(batch) })
        } onCancel: {
            Task { await self.stop(handle, reason: .cancelled) }
        }
        timeoutTask?.cancel()
        // A stop in progress (remote kill) finishes before we report.
        await handle.waitForStop()

        let termination = classify(outcome, handle: handle, remote: remote, privileged: privileged,
                                   hadPassword: password != nil)
        let result = CommandResult(termination: termination, tail: outcome.tail, lineCount: outcome.lineCount,
                                   startedAt: proc.startedAt, endedAt: Date())
        transcript?.append(TranscriptRecord(
            target: target.description, label: command.label,
            argv: command.argv.map { redactor.redact($0, extra: extraSecrets) },
            environment: Dictionary(uniqueKeysWithValues: command.environment.map { ($0.key, redactor.redact($0.value, extra: extraSecrets)) }),
            asRoot: command.asRoot, stdinBytes: command.stdin?.count ?? 0,
            start: result.startedAt, end: result.endedAt, termination: Self.describe(termination),
            exitStatus: result.exitCode, lineCount: result.lineCount, output: result.tail))
        if remote, case .connectionLost(let text) = termination, case .ssh(let d) = target {
            guard let pgid = handle.remotePID else {
                // The command never started on the server: report ssh's own reason.
                throw SSHArguments.classify(d, stderr: text)
            }
            // The connection was cut mid-command: when the server is reachable again, stop what
            // was left running there, so a resume starts from a clean slate.
            if await master!.isAlive == false {
                await master!.stop()
                await killGroup(pgid, privileged: privileged)
            }
        }
        return Executed(result: result, stdoutData: outcome.stdoutData)
    }

    private func classify(_ o: ChildProcess.Outcome, handle: RunningHandle, remote: Bool, privileged: Bool,
                          hadPassword: Bool) -> Termination {
        if let reason = handle.stopReason { return reason }
        guard o.exited else { return .signalled(o.code) }
        if privileged && o.code == 1 {
            let err = o.tail.filter { $0.stream == .stderr }.map(\.text)
            if err.contains(where: { $0.contains("incorrect password attempt") }) { return .sudoPasswordRejected }
            if err.contains(where: { $0.contains("a password is required") || $0.contains("a terminal is required") }) {
                return hadPassword ? .sudoPasswordRejected : .sudoPasswordRequired
            }
        }
        if remote && o.code == 255 {
            let err = o.tail.filter { $0.stream == .stderr }.suffix(3).map(\.text).joined(separator: " / ")
            return .connectionLost(err.isEmpty ? "the SSH connection was lost" : err)
        }
        return .exited(o.code)
    }

    static func describe(_ t: Termination) -> String {
        switch t {
        case .exited(let c): return "exited \(c)"
        case .signalled(let s): return "signal \(s)"
        case .timedOut: return "timed out"
        case .cancelled: return "cancelled"
        case .sudoPasswordRequired: return "sudo password required"
        case .sudoPasswordRejected: return "sudo password rejected"
        case .connectionLost(let m): return "connection lost: \(m)"
        }
    }

    /// Stops a running command and its whole process tree, on the server too.
    func stop(_ handle: RunningHandle, reason: Termination) async {
        guard handle.beginStop(reason) else { return }
        defer { handle.endStop() }
        if handle.remote || handle.privileged {
            // The tree belongs to another user or lives on the server: kill its process group
            // there (TERM, then KILL after the grace), then drop our client process.
            let pgid: Int? = handle.remote ? await handle.awaitRemotePID(timeout: 2.0) : Int(handle.process.pid)
            if let pgid { await killGroup(pgid, privileged: handle.privileged) }
        }
        handle.process.terminate(grace: killGrace)
    }

    /// Kills a process group on the target: TERM, then KILL after the grace.
    func killGroup(_ pgid: Int, privileged: Bool) async {
        let steps = max(1, Int(killGrace / 0.1))
        let killScript = "kill -s TERM -- -$1 2>/dev/null || exit 0; i=0; while [ $i -lt \(steps) ]; do kill -s 0 -- -$1 2>/dev/null || exit 0; sleep 0.1; i=$((i+1)); done; kill -s KILL -- -$1 2>/dev/null; exit 0"
        _ = try? await execute(Command(["sh", "-c", killScript, "sh", String(pgid)], asRoot: privileged,
                                       timeout: .seconds(killGrace + 20), label: "djdeploy:stop"),
                               privileged: privileged, onLines: nil)
    }
}

/// Book-keeping for one running command (thread-safe).
final class RunningHandle: @unchecked Sendable {
    let process: ChildProcess
    let remote: Bool
    let privileged: Bool
    private let lock = NSLock()
    private var _remotePID: Int?
    private var _stopReason: Termination?
    private var stopping = false
    private var stopWaiters: [CheckedContinuation<Void, Never>] = []

    init(process: ChildProcess, remote: Bool, privileged: Bool) {
        self.process = process
        self.remote = remote
        self.privileged = privileged
    }

    var remotePID: Int? { lock.withLock { _remotePID } }
    func setRemotePID(_ pid: Int?) { lock.withLock { _remotePID = pid } }
    var stopReason: Termination? { lock.withLock { _stopReason } }

    func beginStop(_ reason: Termination) -> Bool {
        lock.withLock {
            if _stopReason != nil { return false }
            _stopReason = reason
            stopping = true
            return true
        }
    }

    func endStop() {
        let waiters: [CheckedContinuation<Void, Never>] = lock.withLock {
            stopping = false
            defer { stopWaiters = [] }
            return stopWaiters
        }
        for w in waiters { w.resume() }
    }

    func waitForStop() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow: Bool = lock.withLock {
                if stopping { stopWaiters.append(c); return false }
                return true
            }
            if resumeNow { c.resume() }
        }
    }

    func awaitRemotePID(timeout: Double) async -> Int? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let p = remotePID { return p }
            if process.hasExited { return remotePID }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return remotePID
    }
}
