import Foundation
import StepRunner

/// What the runtime tells its observer (the TUI or the line-output CLI). Called on the runtime's
/// executor or a step's task; keep handlers quick.
public enum RuntimeEvent: Sendable, Hashable {
    case stepStarted(StepID, mode: RunMode)
    case stepOutput(StepID, String)
    case stepFinished(StepRecord)
    case log(String)
    case rejected(String)
    case persistFailed(String)
    case runFinished(RunOutcome)
}

/// What a request to the runtime came to.
public enum RunResult: Sendable, Hashable {
    case finished(RunOutcome)
    /// The action was illegal in the current state (nothing changed).
    case rejected(String)
    /// The action was applied and started nothing (setInput, skip, reset, ...).
    case applied
}

/// One step's entry in a plan (`djdeploy plan`).
public struct PlanEntry: Sendable, Hashable {
    public var step: StepID
    public var title: String
    /// nil when the check could not run.
    public var check: CheckOutcome?
    /// nil when the check was satisfied (nothing to do) or planning failed.
    public var plan: StepPlan?
    public var error: String?
}

/// Exit codes of the CLI.
public enum DeployExitCode: Int32, Sendable, CaseIterable {
    case done = 0
    case stepFailed = 1
    case badInput = 2
    case locked = 3
    case interrupted = 130

    public init(_ outcome: RunOutcome) {
        switch outcome {
        case .completed: self = .done
        case .failed: self = .stepFailed
        case .cancelled: self = .interrupted
        }
    }
}

/// Carries out the reducer's effects: persists the state, runs steps with a `StepContext`, and
/// feeds their results back as actions.
public actor WizardRuntime {
    public private(set) var state: WizardState
    public nonisolated let deployment: Deployment
    let store: StateStore?
    let serverRunner: any CommandRunning
    let localRunner: (any CommandRunning)?
    let events: @Sendable (RuntimeEvent) -> Void
    let confirm: @Sendable (StepID, String) async -> Bool
    let clock: @Sendable () -> Timestamp

    private var current: (id: StepID, task: Task<Void, Never>, handle: CancellationHandle)?
    private var waiters: [CheckedContinuation<RunOutcome, Never>] = []

    /// - Parameters:
    ///   - runner: runs `.server` steps (and `.operator` steps when `localRunner` is nil).
    ///   - confirm: asked before applying a step with a `confirmation`; false fails the step.
    public init(deployment: Deployment, state: WizardState, store: StateStore?, runner: any CommandRunning,
                localRunner: (any CommandRunning)? = nil,
                confirm: @escaping @Sendable (StepID, String) async -> Bool = { _, _ in false },
                clock: @escaping @Sendable () -> Timestamp = { .now() },
                events: @escaping @Sendable (RuntimeEvent) -> Void = { _ in }) {
        var s = state
        s.reconcile(with: deployment)
        self.state = s
        self.deployment = deployment
        self.store = store
        self.serverRunner = runner
        self.localRunner = localRunner
        self.confirm = confirm
        self.clock = clock
        self.events = events
    }

    // MARK: requests

    /// Runs (or resumes) the steps in scope until done, failed or cancelled.
    public func run(_ scope: RunScope = .all) async -> RunResult {
        await perform(.start(scope, at: clock()))
    }

    /// Retries a failed/interrupted step, then carries on with the rest of the last scope.
    public func retry(_ id: StepID, force: Bool = false) async -> RunResult {
        await perform(.retry(id, force: force, at: clock()))
    }

    /// Requests cancellation of the running step (it becomes interrupted).
    @discardableResult
    public func cancel() -> RunResult {
        let effects = send(.cancel(at: clock()))
        if case .rejected(let r)? = effects.first { return .rejected(r) }
        return .applied
    }

    /// Sends an action and, when it starts a step, waits for the run to finish.
    public func perform(_ action: Action) async -> RunResult {
        let effects = send(action)
        for e in effects {
            if case .rejected(let r) = e { return .rejected(r) }
            if case .runFinished(let o) = e { return .finished(o) }
        }
        guard effects.contains(where: { if case .runStep = $0 { return true } else { return false } }) else {
            return .applied
        }
        let outcome = await withCheckedContinuation { (c: CheckedContinuation<RunOutcome, Never>) in
            waiters.append(c)
        }
        return .finished(outcome)
    }

    /// Applies an action to the state and carries out its effects. Returns the effects.
    @discardableResult
    public func send(_ action: Action) -> [Effect] {
        send(action, afterReduce: nil)
    }

    /// `afterReduce` runs once the state has changed and before any effect is carried out (so an
    /// observer hears "step finished" before "next step started").
    @discardableResult
    private func send(_ action: Action, afterReduce: (() -> Void)?) -> [Effect] {
        let effects = reduce(&state, action)
        afterReduce?()
        var i = 0
        while i < effects.count {
            let effect = effects[i]
            i += 1
            switch effect {
            case .persist:
                if let err = persist() {
                    // never run a step whose "running" mark is not on disk
                    if i < effects.count, case .runStep(let id, _) = effects[i] {
                        i += 1
                        let report = StepReport(outcome: .failed(message: "cannot write the state file: \(err)"))
                        let more = send(.stepFinished(id, report, at: clock()))
                        return effects + more
                    }
                }
            case .runStep(let id, let mode):
                startStep(id, mode: mode)
            case .cancelStep(let id):
                if let c = current, c.id == id {
                    c.handle.cancel()
                    c.task.cancel()
                }
            case .log(let s):
                events(.log(s))
            case .runFinished(let o):
                events(.runFinished(o))
                let w = waiters
                waiters = []
                for c in w { c.resume(returning: o) }
            case .rejected(let r):
                events(.rejected(r))
            }
        }
        return effects
    }

    /// Persists the state now. Returns the error text, if any.
    private func persist() -> String? {
        guard let store else { return nil }
        do {
            try store.save(state)
            return nil
        } catch {
            events(.persistFailed("\(error)"))
            return "\(error)"
        }
    }

    // MARK: steps

    private func context(for def: StepDefinition, handle: CancellationHandle) -> StepContext {
        let runner = def.runsOn == .operator ? (localRunner ?? serverRunner) : serverRunner
        let events = self.events
        let id = def.id
        return StepContext(stepID: def.id, runner: runner, inputs: state.inputs, needsRoot: def.needsRoot,
                           cancellation: handle, output: { line in events(.stepOutput(id, line)) })
    }

    private func startStep(_ id: StepID, mode: RunMode) {
        guard let def = deployment.step(id) else {
            let report = StepReport(outcome: .failed(message: "step \(id) is not defined in this version of djdeploy"))
            Task { self.send(.stepFinished(id, report, at: self.clock())) }
            return
        }
        let handle = CancellationHandle()
        let ctx = context(for: def, handle: handle)
        let confirm = self.confirm
        events(.stepStarted(id, mode: mode))
        let task = Task.detached { [weak self] in
            let outcome = await Self.execute(def, mode: mode, ctx: ctx, confirm: confirm)
            let rec = ctx.recorded.value
            let report = StepReport(outcome: outcome, exitStatus: rec.exitStatus, output: rec.output,
                                    writtenFiles: rec.written, inputsSet: rec.inputsSet)
            await self?.stepDone(id, report)
        }
        current = (id, task, handle)
    }

    private func stepDone(_ id: StepID, _ report: StepReport) {
        if current?.id == id { current = nil }
        send(.stepFinished(id, report, at: clock())) {
            if let rec = self.state.step(id) { self.events(.stepFinished(rec)) }
        }
    }

    /// Check, then (unless satisfied) confirm, apply and verify.
    static func execute(_ def: StepDefinition, mode: RunMode, ctx: StepContext,
                        confirm: @Sendable (StepID, String) async -> Bool) async -> StepOutcome {
        do {
            if mode == .checkThenApply {
                switch try await def.check(ctx) {
                case .satisfied(let reason):
                    ctx.log("ok: \(reason)")
                    return .noop(reason: reason)
                case .needsChange(let reason):
                    ctx.log("needs change: \(reason)")
                }
            }
            try ctx.cancellation.check()
            if let text = def.confirmation {
                guard await confirm(def.id, text) else { throw StepError.notConfirmed(text) }
            }
            if let apply = def.apply {
                try await apply(ctx)
            } else {
                try await ctx.execute(try await def.plan(ctx))
            }
            try ctx.cancellation.check()
            if let verify = def.verify { try await verify(ctx) }
            return .applied
        } catch {
            if ctx.cancellation.isCancelled || error is CancellationError || (error as? StepError) == .cancelled {
                return .cancelled
            }
            if case .connectionLost? = error as? StepError { return .interrupted(reason: "\(error)") }
            if let re = error as? RunnerError, case .connectionFailed = re {
                return .interrupted(reason: "\(re); `djdeploy run` retries this step when the server is reachable")
            }
            return .failed(message: "\(error)")
        }
    }

    // MARK: plan

    /// What a run would do, from live facts on the target: each step's check and, where it is not
    /// satisfied, its plan. Changes nothing (not even the state).
    public func plan(_ scope: RunScope = .all) async -> [PlanEntry] {
        var out: [PlanEntry] = []
        for id in state.stepIDs(in: scope) {
            guard let def = deployment.step(id) else { continue }
            let ctx = context(for: def, handle: CancellationHandle())
            var entry = PlanEntry(step: id, title: def.title)
            do {
                let c = try await def.check(ctx)
                entry.check = c
                if case .needsChange = c { entry.plan = try await def.plan(ctx) }
            } catch {
                entry.error = "\(error)"
            }
            out.append(entry)
        }
        return out
    }
}
