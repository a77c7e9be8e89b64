import Foundation
import StepRunner
import Testing
@testable import WizardCore

/// TCA TestStore style: send an action, describe the expected change of the whole state, and the
/// exact effects. Also checks the invariants after every step.
struct TestStore {
    var state: WizardState

    mutating func send(_ action: Action, _ effects: [Effect], sourceLocation: SourceLocation = #_sourceLocation,
                       _ update: (inout WizardState) -> Void = { _ in }) {
        var expected = state
        update(&expected)
        let got = reduce(&state, action)
        #expect(got == effects, sourceLocation: sourceLocation)
        #expect(state == expected, sourceLocation: sourceLocation)
        #expect(state.invariantViolations() == [], sourceLocation: sourceLocation)
    }

    /// An illegal action: rejected, nothing changes.
    mutating func reject(_ action: Action, containing text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let before = state
        let got = reduce(&state, action)
        #expect(state == before, sourceLocation: sourceLocation)
        guard got.count == 1, case .rejected(let reason) = got[0] else {
            Issue.record("expected a rejection, got \(got)", sourceLocation: sourceLocation)
            return
        }
        #expect(reason.contains(text), "\(reason)", sourceLocation: sourceLocation)
    }
}

extension WizardState {
    mutating func with(_ id: StepID, _ body: (inout StepRecord) -> Void) { updateStep(id, body) }
}

func cursor(_ id: StepID, _ scope: RunScope = .all, _ mode: RunMode = .checkThenApply) -> Phase {
    .running(RunCursor(scope: scope, current: id, mode: mode))
}

func running(_ r: inout StepRecord, at: Timestamp, attempts: Int = 1) {
    r.status = .running; r.startedAt = at; r.endedAt = nil; r.attempts = attempts
    r.output = []; r.error = nil; r.noopReason = nil; r.exitStatus = nil
}

@Test func freshStateIsAllPending() {
    let s = sampleState()
    #expect(s.allSteps.map(\.id) == ["a.1", "a.2", "b.1", "b.2", "c.1"])
    #expect(s.allSteps.allSatisfy { $0.status == .pending })
    #expect(s.stages.map(\.status) == [.pending, .pending, .pending])
    #expect(s.phase == .idle)
    #expect(s.resumePoint() == "a.1")
    #expect(s.step("a.1")?.runsOn == .operator)
    #expect(s.step("b.1")?.reads == [.email, .domain])
    #expect(s.invariantViolations() == [])
}

@Test func fullRunThroughEveryStep() {
    var store = TestStore(state: sampleState())
    store.send(.start(.all, at: t(1)), [.persist, .runStep("a.1", mode: .checkThenApply)]) {
        $0.lastScope = .all; $0.updatedAt = t(1); $0.phase = cursor("a.1")
        $0.with("a.1") { running(&$0, at: t(1)) }
    }
    #expect(store.state.stage("a")?.status == .running)
    store.send(.stepFinished("a.1", StepReport(outcome: .noop(reason: "already there"), output: ["ok"]), at: t(2)),
               [.persist, .runStep("a.2", mode: .checkThenApply)]) {
        $0.updatedAt = t(2); $0.phase = cursor("a.2")
        $0.with("a.1") { $0.status = .succeeded; $0.endedAt = t(2); $0.noopReason = "already there"; $0.output = ["ok"] }
        $0.with("a.2") { running(&$0, at: t(2)) }
    }
    let files = [WrittenFile(path: "/etc/x", sha256: "ab", backupPath: "/etc/x.bak")]
    store.send(.stepFinished("a.2", StepReport(outcome: .applied, exitStatus: 0, writtenFiles: files), at: t(3)),
               [.persist, .runStep("b.1", mode: .checkThenApply)]) {
        // a step changed something: the rest of the run re-checks succeeded steps too
        $0.updatedAt = t(3); $0.phase = cursor("b.1", rechecking(.all))
        $0.with("a.2") { $0.status = .succeeded; $0.endedAt = t(3); $0.exitStatus = 0; $0.writtenFiles = files }
        $0.with("b.1") { running(&$0, at: t(3)) }
    }
    #expect(store.state.stage("a")?.status == .succeeded)
    store.send(.stepFinished("b.1", StepReport(outcome: .applied), at: t(4)), [.persist, .runStep("b.2", mode: .checkThenApply)]) {
        $0.updatedAt = t(4); $0.phase = cursor("b.2", rechecking(.all))
        $0.with("b.1") { $0.status = .succeeded; $0.endedAt = t(4) }
        $0.with("b.2") { running(&$0, at: t(4)) }
    }
    store.send(.stepFinished("b.2", StepReport(outcome: .applied), at: t(5)), [.persist, .runStep("c.1", mode: .checkThenApply)]) {
        $0.updatedAt = t(5); $0.phase = cursor("c.1", rechecking(.all))
        $0.with("b.2") { $0.status = .succeeded; $0.endedAt = t(5) }
        $0.with("c.1") { running(&$0, at: t(5)) }
    }
    store.send(.stepFinished("c.1", StepReport(outcome: .applied), at: t(6)), [.persist, .runFinished(.completed)]) {
        $0.updatedAt = t(6); $0.phase = .idle
        $0.with("c.1") { $0.status = .succeeded; $0.endedAt = t(6) }
    }
    #expect(store.state.stages.map(\.status) == [.succeeded, .succeeded, .succeeded])
    // a second start: nothing to do
    store.send(.start(.all, at: t(7)), [.persist, .log("nothing to do: every step in scope has succeeded or was skipped"), .runFinished(.completed)]) {
        $0.updatedAt = t(7)
    }
    // with recheck, succeeded steps run again (their checks give the noop reasons)
    let re = RunScope(recheckSucceeded: true)
    store.send(.start(re, at: t(8)), [.persist, .runStep("a.1", mode: .checkThenApply)]) {
        $0.updatedAt = t(8); $0.lastScope = re; $0.phase = cursor("a.1", re)
        $0.with("a.1") { running(&$0, at: t(8), attempts: 2) }
    }
    store.send(.stepFinished("a.1", StepReport(outcome: .noop(reason: "still there")), at: t(9)), [.persist, .runStep("a.2", mode: .checkThenApply)]) {
        $0.updatedAt = t(9); $0.phase = cursor("a.2", re)
        $0.with("a.1") { $0.status = .succeeded; $0.endedAt = t(9); $0.noopReason = "still there" }
        $0.with("a.2") { running(&$0, at: t(9), attempts: 2) }
    }
}

@Test func failureStopsTheRunAndRetryCarriesOn() {
    var store = TestStore(state: sampleState())
    let scope = RunScope(only: "b")
    store.send(.start(scope, at: t(1)), [.persist, .runStep("b.1", mode: .checkThenApply)]) {
        $0.lastScope = scope; $0.updatedAt = t(1); $0.phase = cursor("b.1", scope)
        $0.with("b.1") { running(&$0, at: t(1)) }
    }
    store.send(.stepFinished("b.1", StepReport(outcome: .failed(message: "boom"), exitStatus: 2, output: ["err"]), at: t(2)),
               [.persist, .runFinished(.failed("b.1"))]) {
        $0.updatedAt = t(2); $0.phase = .idle
        $0.with("b.1") { $0.status = .failed; $0.endedAt = t(2); $0.exitStatus = 2; $0.output = ["err"]; $0.error = "boom" }
    }
    #expect(store.state.stage("b")?.status == .failed)
    #expect(store.state.resumePoint(scope: scope) == "b.1")
    store.send(.retry("b.1", force: true, at: t(3)), [.persist, .runStep("b.1", mode: .apply)]) {
        $0.updatedAt = t(3); $0.phase = cursor("b.1", scope, .apply)
        $0.with("b.1") { running(&$0, at: t(3), attempts: 2) }
    }
    store.send(.stepFinished("b.1", StepReport(outcome: .applied), at: t(4)), [.persist, .runStep("b.2", mode: .checkThenApply)]) {
        $0.updatedAt = t(4); $0.phase = cursor("b.2", rechecking(scope))
        $0.with("b.1") { $0.status = .succeeded; $0.endedAt = t(4) }
        $0.with("b.2") { running(&$0, at: t(4)) }
    }
    // the scope ends with stage b
    store.send(.stepFinished("b.2", StepReport(outcome: .applied), at: t(5)), [.persist, .runFinished(.completed)]) {
        $0.updatedAt = t(5); $0.phase = .idle
        $0.with("b.2") { $0.status = .succeeded; $0.endedAt = t(5) }
    }
    #expect(store.state.step("a.1")?.status == .pending)
}

@Test func startAtFailedStepWithoutRetry() {
    var store = TestStore(state: sampleState())
    store.state.with("a.1") { $0.status = .failed; $0.startedAt = t(0); $0.endedAt = t(0); $0.error = "x"; $0.attempts = 1 }
    store.send(.start(.all, at: t(1)), [.persist, .runStep("a.1", mode: .checkThenApply)]) {
        $0.lastScope = .all; $0.updatedAt = t(1); $0.phase = cursor("a.1")
        $0.with("a.1") { running(&$0, at: t(1), attempts: 2) }
    }
}

@Test func untilScope() {
    var store = TestStore(state: sampleState())
    let scope = RunScope(until: "a")
    #expect(store.state.stepIDs(in: scope) == ["a.1", "a.2"])
    #expect(store.state.stepIDs(in: RunScope(only: "b", until: "b")) == ["b.1", "b.2"])
    store.send(.start(scope, at: t(1)), [.persist, .runStep("a.1", mode: .checkThenApply)]) {
        $0.lastScope = scope; $0.updatedAt = t(1); $0.phase = cursor("a.1", scope)
        $0.with("a.1") { running(&$0, at: t(1)) }
    }
    store.send(.stepFinished("a.1", StepReport(outcome: .applied), at: t(2)), [.persist, .runStep("a.2", mode: .checkThenApply)]) {
        $0.updatedAt = t(2); $0.phase = cursor("a.2", rechecking(scope))
        $0.with("a.1") { $0.status = .succeeded; $0.endedAt = t(2) }
        $0.with("a.2") { running(&$0, at: t(2)) }
    }
    store.send(.stepFinished("a.2", StepReport(outcome: .applied), at: t(3)), [.persist, .runFinished(.completed)]) {
        $0.updatedAt = t(3); $0.phase = .idle
        $0.with("a.2") { $0.status = .succeeded; $0.endedAt = t(3) }
    }
}

@Test func cancelMakesTheStepInterrupted() {
    var store = TestStore(state: sampleState())
    store.send(.start(.all, at: t(1)), [.persist, .runStep("a.1", mode: .checkThenApply)]) {
        $0.lastScope = .all; $0.updatedAt = t(1); $0.phase = cursor("a.1")
        $0.with("a.1") { running(&$0, at: t(1)) }
    }
    store.send(.cancel(at: t(2)), [.persist, .cancelStep("a.1")]) {
        $0.updatedAt = t(2); $0.phase = .cancelling(RunCursor(scope: .all, current: "a.1", mode: .checkThenApply))
    }
    store.reject(.cancel(at: t(3)), containing: "already cancelling")
    store.send(.stepFinished("a.1", StepReport(outcome: .cancelled, output: ["partial"]), at: t(4)), [.persist, .runFinished(.cancelled)]) {
        $0.updatedAt = t(4); $0.phase = .idle
        $0.with("a.1") { $0.status = .interrupted; $0.endedAt = t(4); $0.output = ["partial"]; $0.error = "cancelled" }
    }
    #expect(store.state.stage("a")?.status == .interrupted)
    // resume: the interrupted step is checked first
    store.send(.start(.all, at: t(5)), [.persist, .runStep("a.1", mode: .checkThenApply)]) {
        $0.updatedAt = t(5); $0.phase = cursor("a.1")
        $0.with("a.1") { running(&$0, at: t(5), attempts: 2) }
    }
}

@Test func cancelRacingWithSuccessKeepsTheSuccessButStops() {
    var store = TestStore(state: sampleState())
    _ = reduce(&store.state, .start(.all, at: t(1)))
    store.send(.cancel(at: t(2)), [.persist, .cancelStep("a.1")]) {
        $0.updatedAt = t(2); $0.phase = .cancelling(RunCursor(scope: .all, current: "a.1", mode: .checkThenApply))
    }
    store.send(.stepFinished("a.1", StepReport(outcome: .applied), at: t(3)), [.persist, .runFinished(.cancelled)]) {
        $0.updatedAt = t(3); $0.phase = .idle
        $0.with("a.1") { $0.status = .succeeded; $0.endedAt = t(3) }
    }
}

@Test func skipAndReset() {
    var store = TestStore(state: sampleState())
    store.send(.skip("a.1", at: t(1)), [.persist]) {
        $0.updatedAt = t(1)
        $0.with("a.1") { $0.status = .skipped; $0.endedAt = t(1) }
    }
    store.reject(.skip("a.1", at: t(2)), containing: "already skipped")
    store.send(.skip("a.2", at: t(2)), [.persist]) {
        $0.updatedAt = t(2)
        $0.with("a.2") { $0.status = .skipped; $0.endedAt = t(2) }
    }
    #expect(store.state.stage("a")?.status == .skipped)
    #expect(store.state.resumePoint() == "b.1")
    store.send(.reset("a", at: t(3)), [.persist]) {
        $0.updatedAt = t(3)
        $0.with("a.1") { $0.status = .pending; $0.endedAt = nil }
        $0.with("a.2") { $0.status = .pending; $0.endedAt = nil }
    }
    store.reject(.reset("nope", at: t(4)), containing: "unknown stage nope")
    store.reject(.skip("nope", at: t(4)), containing: "unknown step nope")
    // a skipped step can be retried
    _ = reduce(&store.state, .skip("c.1", at: t(5)))
    store.send(.retry("c.1", force: false, at: t(6)), [.persist, .runStep("c.1", mode: .checkThenApply)]) {
        $0.updatedAt = t(6); $0.lastScope = .all; $0.phase = cursor("c.1")
        $0.with("c.1") { running(&$0, at: t(6)) }
    }
    store.reject(.skip("c.1", at: t(7)), containing: "is running")
    // skipping another step during a run is fine
    store.send(.skip("b.2", at: t(7)), [.persist]) {
        $0.updatedAt = t(7)
        $0.with("b.2") { $0.status = .skipped; $0.endedAt = t(7) }
    }
    store.reject(.reset(nil, at: t(8)), containing: "a run is in progress")
}

@Test func resetAllClearsRecordsButKeepsAttempts() {
    var store = TestStore(state: sampleState())
    _ = reduce(&store.state, .start(.all, at: t(1)))
    _ = reduce(&store.state, .stepFinished("a.1", StepReport(outcome: .noop(reason: "r"), exitStatus: 0, output: ["x"]), at: t(2)))
    _ = reduce(&store.state, .cancel(at: t(3)))
    _ = reduce(&store.state, .stepFinished("a.2", StepReport(outcome: .cancelled), at: t(4)))
    store.send(.reset(nil, at: t(5)), [.persist]) {
        $0.updatedAt = t(5)
        $0.with("a.1") { $0.status = .pending; $0.startedAt = nil; $0.endedAt = nil; $0.exitStatus = nil; $0.output = []; $0.noopReason = nil }
        $0.with("a.2") { $0.status = .pending; $0.startedAt = nil; $0.endedAt = nil; $0.error = nil }
    }
    #expect(store.state.step("a.1")?.attempts == 1)
}

@Test func setInputMarksReadersStale() {
    var store = TestStore(state: sampleState())
    for id: StepID in ["a.1", "a.2", "b.1"] {
        store.state.with(id) { $0.status = .succeeded; $0.startedAt = t(0); $0.endedAt = t(0) }
    }
    store.send(.setInput(.domain, "Bücher.example", at: t(1)), [.persist]) {
        $0.updatedAt = t(1); $0.inputs["domain"] = "xn--bcher-kva.example"
        $0.with("a.1") { $0.status = .stale }
        $0.with("b.1") { $0.status = .stale }
    }
    #expect(store.state.stages.map(\.status) == [.stale, .stale, .pending])
    // same value: no change, no effects
    store.send(.setInput(.domain, "xn--bcher-kva.example", at: t(2)), [])
    // a new input read by a pending step: nothing becomes stale
    store.send(.setInput(.serverIP, "203.0.113.10", at: t(3)), [.persist]) {
        $0.updatedAt = t(3); $0.inputs["server_ip"] = "203.0.113.10"
    }
    store.reject(.setInput(.domain, "-evil.com", at: t(4)), containing: "domain: must not start with '-'")
    store.reject(.setInput(.email, "nope", at: t(4)), containing: "email:")
    store.reject(.setInput(.serverIP, "1.2.3.999", at: t(4)), containing: "server_ip:")
    // stale steps run again on start
    #expect(store.state.resumePoint() == "a.1")
}

@Test func setInputWhileRunning() {
    var store = TestStore(state: sampleState())
    _ = reduce(&store.state, .start(.all, at: t(1)))
    store.reject(.setInput(.domain, "other.example", at: t(2)), containing: "which reads it, is running")
    store.send(.setInput(.email, "a@b.example", at: t(2)), [.persist]) {
        $0.updatedAt = t(2); $0.inputs["email"] = "a@b.example"
    }
}

@Test func stepReportedInputsAreStoredAndMarkOthersStale() {
    var store = TestStore(state: sampleState())
    store.state.with("c.1") { $0.status = .succeeded; $0.startedAt = t(0); $0.endedAt = t(0) }
    _ = reduce(&store.state, .start(RunScope(only: "b"), at: t(1)))
    store.state.updatedAt = t(1)
    store.send(.stepFinished("b.1", StepReport(outcome: .applied, inputsSet: ["server_ip": "203.0.113.7"]), at: t(2)),
               [.persist, .runStep("b.2", mode: .checkThenApply)]) {
        $0.updatedAt = t(2); $0.inputs["server_ip"] = "203.0.113.7"
        $0.phase = cursor("b.2", rechecking(RunScope(only: "b")))
        $0.with("b.1") { $0.status = .succeeded; $0.endedAt = t(2) }
        $0.with("b.2") { running(&$0, at: t(2)) }
        $0.with("c.1") { $0.status = .stale }
    }
    // an invalid reported input fails the step
    store.send(.stepFinished("b.2", StepReport(outcome: .applied, inputsSet: ["server_ip": "nope"]), at: t(3)),
               [.persist, .runFinished(.failed("b.2"))]) {
        $0.updatedAt = t(3); $0.phase = .idle
        $0.with("b.2") {
            $0.status = .failed; $0.endedAt = t(3)
            $0.error = "the step produced an invalid input: server_ip: must be an IPv4 or IPv6 address like 203.0.113.10: \"nope\""
        }
    }
}

@Test func setTargetMarksServerStepsStale() {
    var store = TestStore(state: sampleState())
    for id: StepID in ["a.1", "a.2"] {
        store.state.with(id) { $0.status = .succeeded; $0.startedAt = t(0); $0.endedAt = t(0) }
    }
    let ssh = Target.ssh(SSHDestination(host: "203.0.113.10", user: "deploy"))
    store.send(.setTarget(ssh, at: t(1)), [.persist]) {
        $0.updatedAt = t(1); $0.target = ssh
        $0.with("a.2") { $0.status = .stale }  // a.1 runs on the operator's machine
    }
    store.send(.setTarget(ssh, at: t(2)), [])
    _ = reduce(&store.state, .start(.all, at: t(3)))
    store.reject(.setTarget(.local, at: t(4)), containing: "cannot change the target")
}

@Test func illegalTransitionsAreRejected() {
    var store = TestStore(state: sampleState())
    store.reject(.stepFinished("a.1", StepReport(outcome: .applied), at: t(1)), containing: "no step is running")
    store.reject(.cancel(at: t(1)), containing: "nothing is running")
    store.reject(.start(RunScope(only: "zzz"), at: t(1)), containing: "unknown stage zzz")
    store.reject(.start(RunScope(until: "zzz"), at: t(1)), containing: "unknown stage zzz")
    store.reject(.start(RunScope(only: "c", until: "a"), at: t(1)), containing: "comes before")
    store.reject(.retry("a.1x", force: false, at: t(1)), containing: "unknown step")
    _ = reduce(&store.state, .start(.all, at: t(1)))
    store.reject(.start(.all, at: t(2)), containing: "already in progress (step a.1)")
    store.reject(.retry("a.2", force: false, at: t(2)), containing: "a run is in progress")
    store.reject(.stepFinished("a.2", StepReport(outcome: .applied), at: t(2)), containing: "the running step is a.1")
    store.reject(.reset("a", at: t(2)), containing: "a run is in progress")
    _ = reduce(&store.state, .stepFinished("a.1", StepReport(outcome: .applied), at: t(3)))
    _ = reduce(&store.state, .cancel(at: t(3)))
    _ = reduce(&store.state, .stepFinished("a.2", StepReport(outcome: .applied), at: t(4)))
    store.reject(.skip("a.1", at: t(5)), containing: "already succeeded")
    store.reject(.retry("a.1", force: false, at: t(5)), containing: "already succeeded")
}

@Test func markRunningAsInterruptedOnLoad() {
    var s = sampleState()
    _ = reduce(&s, .start(.all, at: t(1)))
    let changed = s.markRunningAsInterrupted()
    #expect(changed == ["a.1"])
    #expect(s.phase == .idle)
    #expect(s.step("a.1")?.status == .interrupted)
    #expect(s.invariantViolations() == [])
    #expect(s.resumePoint() == "a.1")
}

@Test func stageStatusRule() {
    #expect(deriveStageStatus([.succeeded, .running, .failed]) == .running)
    #expect(deriveStageStatus([.succeeded, .failed, .interrupted]) == .failed)
    #expect(deriveStageStatus([.interrupted, .stale]) == .interrupted)
    #expect(deriveStageStatus([.stale, .pending]) == .stale)
    #expect(deriveStageStatus([.succeeded, .pending]) == .pending)
    #expect(deriveStageStatus([.skipped, .skipped]) == .skipped)
    #expect(deriveStageStatus([]) == .skipped)
    #expect(deriveStageStatus([.skipped, .succeeded]) == .succeeded)
}

@Test func reconcileKeepsKnownStepsAndAddsNewOnes() {
    var s = sampleState()
    s.with("a.1") { $0.status = .succeeded; $0.startedAt = t(0); $0.endedAt = t(0) }
    var d = sampleDeployment()
    d.stages[0].steps.removeLast()
    d.stages[2].steps.append(StepDefinition(id: "c.2", title: "new", check: { _ in .needsChange("") }, plan: { _ in .empty }))
    s.reconcile(with: d)
    #expect(s.allSteps.map(\.id) == ["a.1", "b.1", "b.2", "c.1", "c.2"])
    #expect(s.step("a.1")?.status == .succeeded)
    #expect(s.step("c.2")?.status == .pending)
    #expect(d.definitionErrors.isEmpty)
}

/// The scope a run continues with once a step changed something.
func rechecking(_ s: RunScope) -> RunScope {
    var r = s
    r.recheckSucceeded = true
    return r
}
