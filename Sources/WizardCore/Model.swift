import Foundation
import StepRunner

// MARK: - Identifiers

/// A step's id, unique across the deployment (e.g. `"nginx.site-file"`).
public struct StepID: RawRepresentable, Hashable, Codable, Sendable, Comparable,
    ExpressibleByStringLiteral, CustomStringConvertible
{
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public init(from decoder: Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
    public var description: String { rawValue }
    public static func < (a: StepID, b: StepID) -> Bool { a.rawValue < b.rawValue }
}

/// A stage's id (e.g. `"nginx"`).
public struct StageID: RawRepresentable, Hashable, Codable, Sendable, Comparable,
    ExpressibleByStringLiteral, CustomStringConvertible
{
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public init(from decoder: Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
    public var description: String { rawValue }
    public static func < (a: StageID, b: StageID) -> Bool { a.rawValue < b.rawValue }
}

// MARK: - Time

/// A point in time with millisecond precision. Recorded times use this type so that a state
/// survives save → load unchanged (a `Date` would lose bits through any text format).
public struct Timestamp: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var millisecondsSince1970: Int64

    public init(millisecondsSince1970: Int64) { self.millisecondsSince1970 = millisecondsSince1970 }
    public init(_ date: Date) {
        millisecondsSince1970 = Int64((date.timeIntervalSince1970 * 1000).rounded())
    }
    public static func now() -> Timestamp { Timestamp(Date()) }

    public var date: Date { Date(timeIntervalSince1970: Double(millisecondsSince1970) / 1000) }
    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.millisecondsSince1970 < b.millisecondsSince1970 }

    /// `2025-01-31T12:34:56.789Z`
    public var iso8601: String {
        let secs = Int(millisecondsSince1970.floorDiv(1000))
        let ms = Int(millisecondsSince1970 - Int64(secs) * 1000)
        var tmv = tm()
        var t = time_t(secs)
        gmtime_r(&t, &tmv)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                      Int(tmv.tm_year) + 1900, Int(tmv.tm_mon) + 1, Int(tmv.tm_mday),
                      Int(tmv.tm_hour), Int(tmv.tm_min), Int(tmv.tm_sec), ms)
    }

    /// Parses what `iso8601` produces (fraction optional, `Z` required).
    public init?(iso8601 s: String) {
        let u = Array(s.utf8)
        func num(_ from: Int, _ len: Int) -> Int? {
            guard from + len <= u.count else { return nil }
            var v = 0
            for b in u[from ..< from + len] {
                guard b >= 48, b <= 57 else { return nil }
                v = v * 10 + Int(b - 48)
            }
            return v
        }
        guard u.count >= 20, u[4] == 45, u[7] == 45, u[10] == 84, u[13] == 58, u[16] == 58, u.last == 90,
              let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2), let h = num(11, 2),
              let mi = num(14, 2), let se = num(17, 2)
        else { return nil }
        var ms = 0
        if u.count > 20 {
            guard u[19] == 46 else { return nil }
            let fracLen = u.count - 21
            guard fracLen >= 1, fracLen <= 3, let f = num(20, fracLen) else { return nil }
            ms = f * [100, 10, 1][fracLen - 1]
        } else if u.count != 20 {
            return nil
        }
        var tmv = tm()
        tmv.tm_year = Int32(y - 1900); tmv.tm_mon = Int32(mo - 1); tmv.tm_mday = Int32(d)
        tmv.tm_hour = Int32(h); tmv.tm_min = Int32(mi); tmv.tm_sec = Int32(se)
        let t = timegm(&tmv)
        millisecondsSince1970 = Int64(t) * 1000 + Int64(ms)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let t = Timestamp(iso8601: s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an ISO-8601 UTC time: \(s)")
        }
        self = t
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(iso8601)
    }
    public var description: String { iso8601 }
}

extension Int64 {
    fileprivate func floorDiv(_ d: Int64) -> Int64 {
        let q = self / d
        return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q
    }
}

// MARK: - Statuses

public enum StepStatus: String, Codable, Sendable, CaseIterable {
    case pending, running, succeeded, failed, skipped, interrupted, stale

    /// A step in one of these statuses is picked up by `start`.
    public var isRunnable: Bool {
        switch self {
        case .pending, .failed, .interrupted, .stale: return true
        case .running, .succeeded, .skipped: return false
        }
    }
}

/// A stage's status is derived from its steps' statuses, first rule that matches:
/// 1. any step running → running
/// 2. any step failed → failed
/// 3. any step interrupted → interrupted
/// 4. any step stale → stale
/// 5. any step pending → pending
/// 6. every step skipped (or no steps) → skipped
/// 7. otherwise (every step succeeded or skipped, at least one succeeded) → succeeded
public typealias StageStatus = StepStatus

public func deriveStageStatus(_ steps: some Collection<StepStatus>) -> StageStatus {
    if steps.contains(.running) { return .running }
    if steps.contains(.failed) { return .failed }
    if steps.contains(.interrupted) { return .interrupted }
    if steps.contains(.stale) { return .stale }
    if steps.contains(.pending) { return .pending }
    if steps.allSatisfy({ $0 == .skipped }) { return .skipped }
    return .succeeded
}

public enum RunsOn: String, Codable, Sendable, Hashable {
    /// The operator's machine (where djdeploy runs).
    case `operator`
    /// The target server.
    case server
}

// MARK: - Records

/// A file a step wrote on the target.
public struct WrittenFile: Codable, Sendable, Hashable {
    public var path: String
    public var sha256: String
    public var backupPath: String?
    public init(path: String, sha256: String, backupPath: String?) {
        self.path = path
        self.sha256 = sha256
        self.backupPath = backupPath
    }
    enum CodingKeys: String, CodingKey {
        case path, sha256
        case backupPath = "backup_path"
    }
}

/// What the state file records about one step.
public struct StepRecord: Codable, Sendable, Hashable {
    public static let outputTailLimit = 50

    public var id: StepID
    public var title: String
    public var runsOn: RunsOn
    public var needsRoot: Bool
    /// The input keys this step reads (changing one makes a succeeded step stale).
    public var reads: [InputKey]
    public var status: StepStatus
    public var startedAt: Timestamp?
    public var endedAt: Timestamp?
    /// The exit status of the last command the step ran, when it ran one.
    public var exitStatus: Int32?
    /// The last `outputTailLimit` lines of output of the last attempt.
    public var output: [String]
    /// Why nothing had to be done (check was satisfied), when that was the case.
    public var noopReason: String?
    public var writtenFiles: [WrittenFile]
    public var error: String?
    /// How many times the step was started.
    public var attempts: Int

    public init(id: StepID, title: String, runsOn: RunsOn = .server, needsRoot: Bool = false,
                reads: [InputKey] = [], status: StepStatus = .pending) {
        self.id = id
        self.title = title
        self.runsOn = runsOn
        self.needsRoot = needsRoot
        self.reads = reads
        self.status = status
        self.output = []
        self.writtenFiles = []
        self.attempts = 0
    }

    /// Back to pending with the attempt's details cleared.
    mutating func resetToPending() {
        status = .pending
        startedAt = nil; endedAt = nil; exitStatus = nil
        output = []; noopReason = nil; writtenFiles = []; error = nil
    }

    enum CodingKeys: String, CodingKey {
        case id, title, reads, status, output, error, attempts
        case runsOn = "runs_on"
        case needsRoot = "needs_root"
        case startedAt = "started_at"
        case endedAt = "ended_at"
        case exitStatus = "exit_status"
        case noopReason = "noop_reason"
        case writtenFiles = "written_files"
    }
}

public struct StageRecord: Codable, Sendable, Hashable {
    public var id: StageID
    public var title: String
    public var steps: [StepRecord]
    public init(id: StageID, title: String, steps: [StepRecord]) {
        self.id = id
        self.title = title
        self.steps = steps
    }
    /// See `deriveStageStatus` for the rule.
    public var status: StageStatus { deriveStageStatus(steps.map(\.status)) }
}

// MARK: - Runs

/// Which steps a run covers.
public struct RunScope: Codable, Sendable, Hashable {
    /// Only this stage (`--only`).
    public var only: StageID?
    /// Up to and including this stage (`--until`).
    public var until: StageID?
    /// Re-check succeeded steps too (each then reports a noop reason or re-applies on drift).
    public var recheckSucceeded: Bool
    /// Only this one step, within the stages chosen above (the TUI's training mode runs and
    /// plans one step at a time).
    public var step: StepID?

    public init(only: StageID? = nil, until: StageID? = nil, recheckSucceeded: Bool = false, step: StepID? = nil) {
        self.only = only
        self.until = until
        self.recheckSucceeded = recheckSucceeded
        self.step = step
    }
    public static let all = RunScope()

    enum CodingKeys: String, CodingKey {
        case only, until
        case recheckSucceeded = "recheck_succeeded"
        case step
    }
}

/// How a step is executed.
public enum RunMode: String, Codable, Sendable, Hashable {
    /// Run the check; when satisfied, succeed with its reason (noop); otherwise apply and verify.
    case checkThenApply = "check_then_apply"
    /// Apply and verify without checking first (a forced retry).
    case apply
}

public struct RunCursor: Codable, Sendable, Hashable {
    public var scope: RunScope
    public var current: StepID
    public var mode: RunMode
    public init(scope: RunScope, current: StepID, mode: RunMode) {
        self.scope = scope
        self.current = current
        self.mode = mode
    }
}

/// What the wizard is doing. Persisted, so that a killed run is seen on the next load.
public enum Phase: Codable, Sendable, Hashable {
    case idle
    /// `cursor.current` is executing.
    case running(RunCursor)
    /// Cancel was requested; waiting for `cursor.current` to report back.
    case cancelling(RunCursor)

    public var cursor: RunCursor? {
        switch self {
        case .idle: return nil
        case .running(let c), .cancelling(let c): return c
        }
    }
}

// MARK: - The state

/// Everything the state file holds. No secrets: there is no field for one; secrets are referenced
/// by path (e.g. the server-side secret-key file).
public struct WizardState: Codable, Sendable, Hashable {
    public static let currentSchemaVersion = 2

    public var schemaVersion: Int
    public var profile: String
    public var target: Target?
    /// Validated, normalized input values by key.
    public var inputs: [String: String]
    public var stages: [StageRecord]
    public var phase: Phase
    /// The scope of the last run (used by `retry` to carry on after the retried step).
    public var lastScope: RunScope?
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(profile: String, target: Target? = nil, inputs: [String: String] = [:],
                stages: [StageRecord], at now: Timestamp = .now()) {
        self.schemaVersion = Self.currentSchemaVersion
        self.profile = profile
        self.target = target
        self.inputs = inputs
        self.stages = stages
        self.phase = .idle
        self.lastScope = nil
        self.createdAt = now
        self.updatedAt = now
    }

    public subscript(input key: InputKey) -> String? {
        get { inputs[key.rawValue] }
        set { inputs[key.rawValue] = newValue }
    }

    /// All steps in order.
    public var allSteps: [StepRecord] { stages.flatMap(\.steps) }

    public func step(_ id: StepID) -> StepRecord? {
        for stage in stages { if let s = stage.steps.first(where: { $0.id == id }) { return s } }
        return nil
    }

    public func stage(_ id: StageID) -> StageRecord? { stages.first { $0.id == id } }

    func index(of id: StepID) -> (stage: Int, step: Int)? {
        for (i, stage) in stages.enumerated() {
            if let j = stage.steps.firstIndex(where: { $0.id == id }) { return (i, j) }
        }
        return nil
    }

    mutating func updateStep(_ id: StepID, _ body: (inout StepRecord) -> Void) {
        guard let (i, j) = index(of: id) else { return }
        body(&stages[i].steps[j])
    }

    /// Where a run with this scope would start (nil: nothing to do).
    public func resumePoint(scope: RunScope = .all) -> StepID? {
        stepIDs(in: scope).first { id in
            guard let s = step(id) else { return false }
            return s.status.isRunnable || (scope.recheckSucceeded && s.status == .succeeded)
        }
    }

    /// The step ids a scope covers, in order. Unknown stages give an empty list.
    public func stepIDs(in scope: RunScope) -> [StepID] {
        var chosen: [StageRecord]
        if let only = scope.only {
            chosen = stages.filter { $0.id == only }
        } else {
            chosen = stages
        }
        if let until = scope.until, let idx = chosen.firstIndex(where: { $0.id == until }) {
            chosen = Array(chosen[...idx])
        } else if scope.until != nil {
            chosen = []
        }
        let ids = chosen.flatMap { $0.steps.map(\.id) }
        if let step = scope.step { return ids.filter { $0 == step } }
        return ids
    }

    /// On load: a step recorded as running was cut off (the process died); it becomes interrupted
    /// and the phase idle. Returns the ids changed.
    @discardableResult
    public mutating func markRunningAsInterrupted() -> [StepID] {
        var changed: [StepID] = []
        for i in stages.indices {
            for j in stages[i].steps.indices where stages[i].steps[j].status == .running {
                stages[i].steps[j].status = .interrupted
                stages[i].steps[j].error = stages[i].steps[j].error ?? "interrupted: the wizard stopped while this step was running"
                changed.append(stages[i].steps[j].id)
            }
        }
        phase = .idle
        return changed
    }

    /// Brings the recorded stages in line with a deployment definition (steps added or removed
    /// in a newer version of djdeploy): known steps keep their records, new ones are pending,
    /// titles/reads are refreshed, steps no longer defined are dropped.
    public mutating func reconcile(with deployment: Deployment) {
        var old: [StepID: StepRecord] = [:]
        for s in allSteps { old[s.id] = s }
        stages = deployment.stages.map { stage in
            StageRecord(id: stage.id, title: stage.title, steps: stage.steps.map { def in
                var rec = old[def.id] ?? StepRecord(id: def.id, title: def.title)
                rec.title = def.title
                rec.runsOn = def.runsOn
                rec.needsRoot = def.needsRoot
                rec.reads = def.reads
                return rec
            })
        }
        if let c = phase.cursor, step(c.current) == nil { phase = .idle }
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case profile, target, inputs, stages, phase
        case lastScope = "last_scope"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

extension WizardState {
    /// A fresh state for a deployment: every step pending.
    public init(deployment: Deployment, profile: String, target: Target? = nil,
                inputs: [String: String] = [:], at now: Timestamp = .now()) {
        self.init(profile: profile, target: target, inputs: inputs, stages: [], at: now)
        reconcile(with: deployment)
    }
}
