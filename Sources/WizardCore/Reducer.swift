import Foundation
import StepRunner

/// How one attempt of a step ended.
public enum StepOutcome: Sendable, Hashable, Codable {
    /// The check was satisfied: nothing had to be done.
    case noop(reason: String)
    /// Applied (and verified).
    case applied
    case failed(message: String)
    /// Stopped by cancellation; the step becomes interrupted.
    case cancelled
    /// Cut off by something outside the step (the SSH connection was lost); the step becomes
    /// interrupted with this reason, and the run stops (a later run resumes it).
    case interrupted(reason: String)
}

/// What the runtime reports back when a step finishes.
public struct StepReport: Sendable, Hashable, Codable {
    public var outcome: StepOutcome
    public var exitStatus: Int32?
    public var output: [String]
    public var writtenFiles: [WrittenFile]
    /// Inputs the step found (e.g. an allocated IP address).
    public var inputsSet: [String: String]

    public init(outcome: StepOutcome, exitStatus: Int32? = nil, output: [String] = [],
                writtenFiles: [WrittenFile] = [], inputsSet: [String: String] = [:]) {
        self.outcome = outcome
        self.exitStatus = exitStatus
        self.output = output
        self.writtenFiles = writtenFiles
        self.inputsSet = inputsSet
    }
}

public enum Action: Sendable, Hashable {
    /// Run (or resume) the steps in scope, starting at the first that is not done.
    case start(RunScope, at: Timestamp)
    /// The running step finished.
    case stepFinished(StepID, StepReport, at: Timestamp)
    /// Mark a step skipped (not while it runs).
    case skip(StepID, at: Timestamp)
    /// Run a failed/interrupted/skipped/stale step again (force: without checking first), then
    /// carry on with the rest of the last run's scope.
    case retry(StepID, force: Bool, at: Timestamp)
    /// Mark the steps of a stage (nil: all stages) pending again.
    case reset(StageID?, at: Timestamp)
    /// Set an input (validated); succeeded steps that read it become stale.
    case setInput(InputKey, String, at: Timestamp)
    /// Change the target; succeeded server steps become stale.
    case setTarget(Target, at: Timestamp)
    /// Stop the running step; it becomes interrupted when it reports back.
    case cancel(at: Timestamp)
}

public enum RunOutcome: Sendable, Hashable, Codable {
    /// Every step in scope succeeded or was skipped.
    case completed
    case failed(StepID)
    case cancelled
}

/// Work for the runtime. Plain data.
public enum Effect: Sendable, Hashable {
    /// Write the state file (always before a `.runStep`, so a crash leaves "running" on disk).
    case persist
    case runStep(StepID, mode: RunMode)
    case cancelStep(StepID)
    case log(String)
    case runFinished(RunOutcome)
    /// The action was illegal in this state; nothing changed.
    case rejected(String)
}

/// The pure state machine. Illegal actions leave `state` unchanged and return `[.rejected(reason)]`.
public func reduce(_ state: inout WizardState, _ action: Action) -> [Effect] {
    switch action {
    case .start(let scope, let at):
        if let c = state.phase.cursor { return [.rejected("a run is already in progress (step \(c.current))")] }
        if let r = scopeError(state, scope) { return [.rejected(r)] }
        state.lastScope = scope
        state.updatedAt = at
        guard let first = state.resumePoint(scope: scope) else {
            return [.persist, .log("nothing to do: every step in scope has succeeded or was skipped"), .runFinished(.completed)]
        }
        begin(&state, first, scope: scope, mode: .checkThenApply, at: at)
        return [.persist, .runStep(first, mode: .checkThenApply)]

    case .stepFinished(let id, let report, let at):
        guard let cursor = state.phase.cursor else {
            return [.rejected("step \(id) reported back, but no step is running")]
        }
        guard cursor.current == id else {
            return [.rejected("step \(id) reported back, but the running step is \(cursor.current)")]
        }
        let wasCancelling: Bool
        if case .cancelling = state.phase { wasCancelling = true } else { wasCancelling = false }
        var outcome = report.outcome
        // inputs found by the step (validated here too: the state never holds an invalid input)
        var newInputs: [(InputKey, String)] = []
        for (k, v) in report.inputsSet.sorted(by: { $0.key < $1.key }) {
            let key = InputKey(k)
            do { newInputs.append((key, try key.validate(v))) } catch {
                if case .failed = outcome {} else { outcome = .failed(message: "the step produced an invalid input: \(error)") }
            }
        }
        state.updatedAt = at
        state.updateStep(id) { r in
            r.endedAt = max(at, r.startedAt ?? at)
            r.exitStatus = report.exitStatus
            r.output = Array(report.output.suffix(StepRecord.outputTailLimit))
            if !report.writtenFiles.isEmpty { r.writtenFiles = report.writtenFiles }
            switch outcome {
            case .noop(let reason): r.status = .succeeded; r.noopReason = reason; r.error = nil
            case .applied: r.status = .succeeded; r.noopReason = nil; r.error = nil
            case .failed(let m): r.status = .failed; r.noopReason = nil; r.error = m
            case .cancelled: r.status = .interrupted; r.noopReason = nil; r.error = "cancelled"
            case .interrupted(let why): r.status = .interrupted; r.noopReason = nil; r.error = why
            }
        }
        if case .failed = outcome {} else if case .cancelled = outcome {} else if case .interrupted = outcome {} else {
            for (k, v) in newInputs where state.inputs[k.rawValue] != v {
                state.inputs[k.rawValue] = v
                markStale(&state, reading: k, except: id)
            }
        }
        switch outcome {
        case .failed:
            state.phase = .idle
            return [.persist, .runFinished(.failed(id))]
        case .cancelled, .interrupted:
            state.phase = .idle
            return [.persist, .runFinished(.cancelled)]
        case .noop, .applied:
            if wasCancelling {
                state.phase = .idle
                return [.persist, .runFinished(.cancelled)]
            }
            // A step that changed the target may have undone what later steps did (a site file
            // rendered again, a service restarted): once something changed, the steps after it
            // are checked again even if they succeeded before (each is a cheap no-op if still fine).
            var scope = cursor.scope
            if case .applied = outcome { scope.recheckSucceeded = true }
            guard let next = nextStep(state, after: id, scope: scope) else {
                state.phase = .idle
                return [.persist, .runFinished(.completed)]
            }
            begin(&state, next, scope: scope, mode: .checkThenApply, at: at)
            return [.persist, .runStep(next, mode: .checkThenApply)]
        }

    case .skip(let id, let at):
        guard let rec = state.step(id) else { return [.rejected("unknown step \(id)")] }
        switch rec.status {
        case .running: return [.rejected("step \(id) is running; cancel it first")]
        case .succeeded: return [.rejected("step \(id) has already succeeded; reset its stage to run or skip it again")]
        case .skipped: return [.rejected("step \(id) is already skipped")]
        case .pending, .failed, .interrupted, .stale:
            state.updatedAt = at
            state.updateStep(id) { r in
                r.status = .skipped
                r.noopReason = nil
                r.endedAt = max(at, r.startedAt ?? at)
            }
            return [.persist]
        }

    case .retry(let id, let force, let at):
        if let c = state.phase.cursor { return [.rejected("a run is in progress (step \(c.current)); wait for it or cancel it")] }
        guard let rec = state.step(id) else { return [.rejected("unknown step \(id)")] }
        switch rec.status {
        case .failed, .interrupted, .skipped, .stale, .pending: break
        case .succeeded: return [.rejected("step \(id) has already succeeded; reset its stage to run it again")]
        case .running: return [.rejected("step \(id) is running")]
        }
        var scope = state.lastScope ?? .all
        if !state.stepIDs(in: scope).contains(id) { scope = .all }
        state.lastScope = scope
        state.updatedAt = at
        let mode: RunMode = force ? .apply : .checkThenApply
        begin(&state, id, scope: scope, mode: mode, at: at)
        return [.persist, .runStep(id, mode: mode)]

    case .reset(let stage, let at):
        if let c = state.phase.cursor { return [.rejected("a run is in progress (step \(c.current)); cancel it first")] }
        if let stage, state.stage(stage) == nil { return [.rejected("unknown stage \(stage)")] }
        state.updatedAt = at
        for i in state.stages.indices where stage == nil || state.stages[i].id == stage {
            for j in state.stages[i].steps.indices { state.stages[i].steps[j].resetToPending() }
        }
        return [.persist]

    case .setInput(let key, let raw, let at):
        let value: String
        do { value = try key.validate(raw) } catch { return [.rejected(error.description)] }
        if let c = state.phase.cursor, let running = state.step(c.current), running.reads.contains(key) {
            return [.rejected("cannot change \(key) while step \(c.current), which reads it, is running")]
        }
        if state.inputs[key.rawValue] == value { return [] }
        state.inputs[key.rawValue] = value
        state.updatedAt = at
        markStale(&state, reading: key, except: nil)
        return [.persist]

    case .setTarget(let target, let at):
        if let c = state.phase.cursor { return [.rejected("cannot change the target while step \(c.current) is running")] }
        if state.target == target { return [] }
        state.target = target
        state.updatedAt = at
        for i in state.stages.indices {
            for j in state.stages[i].steps.indices
            where state.stages[i].steps[j].status == .succeeded && state.stages[i].steps[j].runsOn == .server {
                state.stages[i].steps[j].status = .stale
            }
        }
        return [.persist]

    case .cancel(let at):
        switch state.phase {
        case .idle: return [.rejected("nothing is running")]
        case .cancelling(let c): return [.rejected("already cancelling step \(c.current)")]
        case .running(let c):
            state.phase = .cancelling(c)
            state.updatedAt = at
            return [.persist, .cancelStep(c.current)]
        }
    }
}

private func scopeError(_ state: WizardState, _ scope: RunScope) -> String? {
    if let only = scope.only, state.stage(only) == nil {
        return "unknown stage \(only); stages: \(state.stages.map(\.id.rawValue).joined(separator: ", "))"
    }
    if let until = scope.until, state.stage(until) == nil {
        return "unknown stage \(until); stages: \(state.stages.map(\.id.rawValue).joined(separator: ", "))"
    }
    if let only = scope.only, let until = scope.until, only != until,
       let oi = state.stages.firstIndex(where: { $0.id == only }),
       let ui = state.stages.firstIndex(where: { $0.id == until }), ui < oi {
        return "--until \(until) comes before --only \(only)"
    }
    if state.stepIDs(in: scope).isEmpty && !state.stages.isEmpty && (scope.only != nil || scope.until != nil) {
        return "the scope covers no steps"
    }
    return nil
}

private func begin(_ state: inout WizardState, _ id: StepID, scope: RunScope, mode: RunMode, at: Timestamp) {
    state.updateStep(id) { r in
        r.status = .running
        r.startedAt = at
        r.endedAt = nil
        r.exitStatus = nil
        r.output = []
        r.noopReason = nil
        r.error = nil
        r.attempts += 1
    }
    state.phase = .running(RunCursor(scope: scope, current: id, mode: mode))
}

private func nextStep(_ state: WizardState, after id: StepID, scope: RunScope) -> StepID? {
    let ids = state.stepIDs(in: scope)
    guard let idx = ids.firstIndex(of: id) else { return nil }
    return ids[(idx + 1)...].first { sid in
        guard let s = state.step(sid) else { return false }
        return s.status.isRunnable || (scope.recheckSucceeded && s.status == .succeeded)
    }
}

private func markStale(_ state: inout WizardState, reading key: InputKey, except: StepID?) {
    for i in state.stages.indices {
        for j in state.stages[i].steps.indices {
            let s = state.stages[i].steps[j]
            if s.status == .succeeded, s.reads.contains(key), s.id != except {
                state.stages[i].steps[j].status = .stale
            }
        }
    }
}

// MARK: - Invariants

extension WizardState {
    /// Everything that must hold for any state the reducer produces. Empty when fine.
    public func invariantViolations() -> [String] {
        var v: [String] = []
        if schemaVersion != Self.currentSchemaVersion { v.append("schema_version \(schemaVersion) is not current") }
        let ids = allSteps.map(\.id)
        if Set(ids).count != ids.count { v.append("duplicate step ids") }
        if Set(stages.map(\.id)).count != stages.count { v.append("duplicate stage ids") }
        let running = allSteps.filter { $0.status == .running }
        if running.count > 1 { v.append("more than one step running: \(running.map(\.id))") }
        switch phase {
        case .idle:
            if !running.isEmpty { v.append("idle, but \(running.map(\.id)) running") }
        case .running(let c), .cancelling(let c):
            if running.map(\.id) != [c.current] { v.append("phase points at \(c.current), running: \(running.map(\.id))") }
        }
        for s in allSteps {
            if s.output.count > StepRecord.outputTailLimit { v.append("\(s.id): output tail longer than \(StepRecord.outputTailLimit)") }
            if s.status == .running && (s.startedAt == nil || s.endedAt != nil) { v.append("\(s.id): running without start time or with end time") }
            if s.status == .succeeded || s.status == .failed {
                if s.startedAt == nil || s.endedAt == nil { v.append("\(s.id): \(s.status) without times") }
            }
            if let a = s.startedAt, let b = s.endedAt, b < a { v.append("\(s.id): ends before it starts") }
            if s.noopReason != nil && s.status != .succeeded && s.status != .stale { v.append("\(s.id): noop reason on a \(s.status) step") }
            if s.status == .failed && s.error == nil { v.append("\(s.id): failed without an error message") }
            if s.attempts < 0 { v.append("\(s.id): negative attempts") }
        }
        for stage in stages {
            let st = stage.status
            let has = { (x: StepStatus) in stage.steps.contains { $0.status == x } }
            if (st == .running) != has(.running) { v.append("stage \(stage.id): status \(st) inconsistent with running steps") }
            if st == .succeeded && !stage.steps.allSatisfy({ $0.status == .succeeded || $0.status == .skipped }) {
                v.append("stage \(stage.id): succeeded with unfinished steps")
            }
            if st == .pending && !has(.pending) { v.append("stage \(stage.id): pending without pending steps") }
        }
        for (k, value) in inputs {
            do {
                if try InputKey(k).validate(value) != value { v.append("input \(k) is not normalized") }
            } catch { v.append("input \(k) invalid: \(error)") }
        }
        return v
    }
}
