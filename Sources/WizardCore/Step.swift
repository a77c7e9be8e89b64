import Foundation
import StepRunner

// MARK: - Outcomes and plans

/// The result of a step's check (a "fact" about the target).
public enum CheckOutcome: Sendable, Hashable {
    /// The desired state is already there; the reason is shown as the noop reason.
    case satisfied(String)
    /// Something must change; the reason says what.
    case needsChange(String)
}

/// A file a step would write, with its diff against what is on the target now.
public struct FileChange: Sendable, Hashable {
    public var path: String
    public var newContent: Data
    /// nil when the file does not exist.
    public var currentContent: Data?
    public var mode: Int
    public var owner: String?
    public var group: String?
    public var asRoot: Bool

    public init(path: String, newContent: Data, currentContent: Data?, mode: Int = 0o644,
                owner: String? = nil, group: String? = nil, asRoot: Bool = false) {
        self.path = path
        self.newContent = newContent
        self.currentContent = currentContent
        self.mode = mode
        self.owner = owner
        self.group = group
        self.asRoot = asRoot
    }

    /// Whether the content differs (mode/owner are compared by the runner when writing).
    public var changesContent: Bool { currentContent != newContent }

    /// `diff -u` style, `a/PATH` → `b/PATH`; empty when unchanged. Binary content is summarized.
    public var diff: String {
        guard changesContent else { return "" }
        guard let new = String(data: newContent, encoding: .utf8) else {
            return "Binary file \(path) changes (\(newContent.count) bytes, sha256 \(SHA256.hex(newContent)))\n"
        }
        var old: String?
        if let cur = currentContent {
            guard let s = String(data: cur, encoding: .utf8) else {
                return "Binary file \(path) is replaced by text (\(newContent.count) bytes)\n"
            }
            old = s
        }
        return UnifiedDiff.make(old: old, new: new, oldLabel: "a\(path)", newLabel: "b\(path)")
    }
}

/// One thing a plan does, in order.
public enum PlannedAction: Sendable, Hashable {
    case command(Command)
    case file(FileChange)
}

/// What a step would do: the exact commands (argv) and files (with diffs), in order.
public struct StepPlan: Sendable, Hashable {
    public var actions: [PlannedAction]
    /// Free-form remarks shown with the plan (e.g. "DNS must point at 203.0.113.10").
    public var notes: [String]

    public init(actions: [PlannedAction] = [], notes: [String] = []) {
        self.actions = actions
        self.notes = notes
    }

    public static let empty = StepPlan()

    public var commands: [Command] {
        actions.compactMap { if case .command(let c) = $0 { return c } else { return nil } }
    }
    public var files: [FileChange] {
        actions.compactMap { if case .file(let f) = $0 { return f } else { return nil } }
    }
    /// No command and no file whose content changes.
    public var isEmpty: Bool { commands.isEmpty && !files.contains { $0.changesContent } }

    /// Plain text: `$ argv…` per command (shell-quoted for reading only), then each diff.
    public func rendered() -> String {
        var out = ""
        for n in notes { out += "# \(n)\n" }
        for a in actions {
            switch a {
            case .command(let c):
                out += (c.asRoot ? "# " : "$ ") + c.argv.map(displayQuote).joined(separator: " ") + "\n"
            case .file(let f):
                let d = f.diff
                out += d.isEmpty ? "= \(f.path) (unchanged)\n" : d
            }
        }
        return out
    }
}

/// Quoting for display (never for execution: the runner quotes).
public func displayQuote(_ s: String) -> String {
    if !s.isEmpty, s.utf8.allSatisfy({ b in
        (b >= 97 && b <= 122) || (b >= 65 && b <= 90) || (b >= 48 && b <= 57) || "-_./=:@%+,".utf8.contains(b)
    }) { return s }
    return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

// MARK: - Step definitions

/// A step: data plus small closures. The closures get a `StepContext` and talk to the target only
/// through it.
public struct StepDefinition: Sendable {
    public typealias Check = @Sendable (StepContext) async throws -> CheckOutcome
    public typealias Plan = @Sendable (StepContext) async throws -> StepPlan
    public typealias Body = @Sendable (StepContext) async throws -> Void

    public var id: StepID
    public var title: String
    public var runsOn: RunsOn
    public var needsRoot: Bool
    /// Inputs read by the step; changing one makes a succeeded step stale.
    public var reads: [InputKey]
    /// When set, apply runs only after the operator confirms this text (e.g. raising HSTS).
    public var confirmation: String?
    public var check: Check
    public var plan: Plan
    /// nil: apply executes the plan (its commands and file writes, in order).
    public var apply: Body?
    /// A real observation after apply (throw to fail). nil: none.
    public var verify: Body?

    public init(id: StepID, title: String, runsOn: RunsOn = .server, needsRoot: Bool = false,
                reads: [InputKey] = [], confirmation: String? = nil,
                check: @escaping Check, plan: @escaping Plan, apply: Body? = nil, verify: Body? = nil) {
        self.id = id
        self.title = title
        self.runsOn = runsOn
        self.needsRoot = needsRoot
        self.reads = reads
        self.confirmation = confirmation
        self.check = check
        self.plan = plan
        self.apply = apply
        self.verify = verify
    }
}

public struct StageDefinition: Sendable {
    public var id: StageID
    public var title: String
    public var steps: [StepDefinition]
    public init(id: StageID, title: String, steps: [StepDefinition]) {
        self.id = id
        self.title = title
        self.steps = steps
    }
}

/// An ordered list of stages.
public struct Deployment: Sendable {
    public var stages: [StageDefinition]
    public init(stages: [StageDefinition]) { self.stages = stages }

    public func step(_ id: StepID) -> StepDefinition? {
        for s in stages { if let d = s.steps.first(where: { $0.id == id }) { return d } }
        return nil
    }

    /// Problems with the definition itself (duplicate ids, no steps).
    public var definitionErrors: [String] {
        var errors: [String] = []
        var seenSteps = Set<StepID>(), seenStages = Set<StageID>()
        for stage in stages {
            if !seenStages.insert(stage.id).inserted { errors.append("duplicate stage id \(stage.id)") }
            for step in stage.steps where !seenSteps.insert(step.id).inserted {
                errors.append("duplicate step id \(step.id)")
            }
        }
        return errors
    }
}

// MARK: - Errors a step can throw

public enum StepError: Error, Sendable, Hashable, CustomStringConvertible {
    case missingInput(InputKey)
    case commandFailed(argv: [String], termination: Termination, stderr: String)
    case verificationFailed(String)
    case notConfirmed(String)
    case cancelled
    /// The SSH connection dropped while a command ran.
    case connectionLost(String)
    case other(String)

    public var description: String {
        switch self {
        case .missingInput(let k): return "the input \(k.rawValue) is needed but not set"
        case .commandFailed(let argv, let t, let err):
            let cmd = argv.map(displayQuote).joined(separator: " ")
            let how: String
            switch t {
            case .exited(let c): how = "exited with status \(c)"
            case .signalled(let s): how = "was killed by signal \(s)"
            case .timedOut: how = "timed out"
            case .cancelled: how = "was cancelled"
            case .sudoPasswordRequired: how = "needs a sudo password"
            case .connectionLost(let d): how = "lost the connection (\(d))"
            default: how = "ended with \(t)"
            }
            return "`\(cmd)` \(how)" + (err.isEmpty ? "" : ": \(err)")
        case .verificationFailed(let s): return "verification failed: \(s)"
        case .notConfirmed(let s): return "not confirmed: \(s)"
        case .cancelled: return "cancelled"
        case .connectionLost(let s): return "the connection to the server was lost (\(s)); `djdeploy run` reconnects and resumes this step"
        case .other(let s): return s
        }
    }
}

// MARK: - The context a step runs with

/// A cancellation flag shared between the runtime and a running step.
public final class CancellationHandle: Sendable {
    private let flag = Locked(false)
    public init() {}
    public var isCancelled: Bool { flag.value }
    public func cancel() { flag.value = true }
    public func check() throws {
        if isCancelled || Task.isCancelled { throw StepError.cancelled }
    }
}

/// A tiny lock-protected box.
public final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var _value: Value
    public init(_ value: Value) { _value = value }
    public var value: Value {
        get { lock.withLock { _value } }
        set { lock.withLock { _value = newValue } }
    }
    @discardableResult
    public func withValue<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        try lock.withLock { try body(&_value) }
    }
}

/// What a step sees: the runner, the inputs, a cancellation handle and an output sink. It also
/// records what the state file keeps about the attempt (output tail, exit status, files).
public final class StepContext: Sendable {
    public let stepID: StepID
    public let runner: any CommandRunning
    public let inputs: [String: String]
    /// The step's `needsRoot`: the default for `run` and file operations.
    public let needsRoot: Bool
    public let cancellation: CancellationHandle
    private let sink: @Sendable (String) -> Void

    struct Recorded: Sendable {
        var output: [String] = []
        var exitStatus: Int32?
        var written: [WrittenFile] = []
        var inputsSet: [String: String] = [:]
    }
    let recorded = Locked(Recorded())

    public init(stepID: StepID, runner: any CommandRunning, inputs: [String: String], needsRoot: Bool = false,
                cancellation: CancellationHandle = CancellationHandle(),
                output: @escaping @Sendable (String) -> Void = { _ in }) {
        self.stepID = stepID
        self.runner = runner
        self.inputs = inputs
        self.needsRoot = needsRoot
        self.cancellation = cancellation
        self.sink = output
    }

    public var target: Target { runner.target }

    public func input(_ key: InputKey) -> String? { inputs[key.rawValue] ?? InputKey.defaults[key] }

    public func require(_ key: InputKey) throws -> String {
        guard let v = input(key) else { throw StepError.missingInput(key) }
        return v
    }

    /// A line for the step's output (shown live, and the tail is kept in the state file).
    public func log(_ line: String) {
        recorded.withValue {
            $0.output.append(line)
            if $0.output.count > StepRecord.outputTailLimit { $0.output.removeFirst($0.output.count - StepRecord.outputTailLimit) }
        }
        sink(line)
    }

    /// Runs a command. A non-zero exit throws `StepError.commandFailed` unless `allowFailure`;
    /// a cancelled command throws `StepError.cancelled`.
    @discardableResult
    public func run(_ command: Command, allowFailure: Bool = false) async throws -> CommandResult {
        try cancellation.check()
        var cmd = command
        if cmd.label == nil { cmd.label = stepID.rawValue }
        let result = try await runner.run(cmd) { [weak self] line in self?.log(line.text) }
        recorded.withValue { $0.exitStatus = result.exitCode }
        if result.termination == .cancelled { throw StepError.cancelled }
        if case .connectionLost(let why) = result.termination { throw StepError.connectionLost(why) }
        if !allowFailure, !result.succeeded {
            throw StepError.commandFailed(argv: cmd.argv, termination: result.termination,
                                          stderr: result.stderrText.split(separator: "\n").suffix(5).joined(separator: "\n"))
        }
        return result
    }

    @discardableResult
    public func run(_ argv: [String], asRoot: Bool? = nil, environment: [String: String] = [:], stdin: Data? = nil,
                    timeout: Duration? = nil, secrets: [String] = [], allowFailure: Bool = false) async throws -> CommandResult {
        try await run(Command(argv, environment: environment, asRoot: asRoot ?? needsRoot, stdin: stdin,
                              timeout: timeout, secrets: secrets), allowFailure: allowFailure)
    }

    /// Whether a command exits 0 (a check helper: `test -e PATH`).
    public func succeeds(_ argv: [String], asRoot: Bool? = nil) async throws -> Bool {
        try await run(argv, asRoot: asRoot, allowFailure: true).succeeded
    }

    public func readFile(_ path: String, asRoot: Bool? = nil) async throws -> Data? {
        try cancellation.check()
        return try await runner.readFile(path, asRoot: asRoot ?? needsRoot)
    }

    public func sha256(of path: String, asRoot: Bool? = nil) async throws -> String? {
        try cancellation.check()
        return try await runner.sha256(of: path, asRoot: asRoot ?? needsRoot)
    }

    /// Writes a file (atomically, with a backup of the previous content) and records it.
    @discardableResult
    public func writeFile(_ path: String, contents: Data, mode: Int = 0o644, owner: String? = nil,
                          group: String? = nil, asRoot: Bool? = nil) async throws -> WriteResult {
        try cancellation.check()
        let r = try await runner.writeFile(path, contents: contents, mode: mode, owner: owner, group: group,
                                           asRoot: asRoot ?? needsRoot)
        recorded.withValue { $0.written.append(WrittenFile(path: path, sha256: r.sha256, backupPath: r.backupPath)) }
        log(r.changed ? "wrote \(path)" + (r.backupPath.map { " (backup \($0))" } ?? "") : "\(path) already up to date")
        return r
    }

    /// A planned file change for `path`: reads the current content.
    public func fileChange(_ path: String, content: Data, mode: Int = 0o644, owner: String? = nil,
                           group: String? = nil, asRoot: Bool? = nil) async throws -> FileChange {
        let root = asRoot ?? needsRoot
        let current = try await readFile(path, asRoot: root)
        return FileChange(path: path, newContent: content, currentContent: current, mode: mode,
                          owner: owner, group: group, asRoot: root)
    }

    /// Records an input value found by the step (e.g. an allocated IP); applied to the state when
    /// the step finishes.
    public func setInput(_ key: InputKey, _ value: String) throws {
        let v = try key.validate(value)
        recorded.withValue { $0.inputsSet[key.rawValue] = v }
    }

    /// Executes a plan: its commands and file writes, in order.
    public func execute(_ plan: StepPlan) async throws {
        for action in plan.actions {
            switch action {
            case .command(let c): try await run(c)
            case .file(let f):
                try await writeFile(f.path, contents: f.newContent, mode: f.mode, owner: f.owner, group: f.group, asRoot: f.asRoot)
            }
        }
    }
}
