import Foundation
import PropertyBased
import StepRunner
import Testing
@testable import WizardCore

// MARK: - SIGKILL during saves

/// Mirrors the helper: the pad's length and letter follow the counter's parity.
func checkComplete(_ s: WizardState, file: String) throws -> Int {
    let counter = try #require(Int(s.inputs["counter"] ?? ""), "\(file): no counter")
    let pad = try #require(s.inputs["pad"], "\(file): no pad")
    let even = counter % 2 == 0
    #expect(pad.count == (even ? 16 : 6000), "\(file): pad length \(pad.count) for counter \(counter)")
    #expect(pad.allSatisfy { $0 == (even ? "e" : "o") }, "\(file): pad content for counter \(counter)")
    #expect(s.invariantViolations() == [], "\(file)")
    return counter
}

@Test(.timeLimit(.minutes(1)))
func stateFileSurvivesSIGKILLDuringSaves() throws {
    let dir = makeTempDir()
    let path = dir + "/crash.json"
    var last = 0
    var killsWhileSaving = 0
    var generator = SystemRandomNumberGenerator()
    let started = Date()
    for i in 0 ..< 200 {
        let helper = try HelperProcess(["save-loop", path])
        if i % 2 == 0 {
            // kill at a random moment after it started saving
            #expect(helper.readLine() == "ready \(helper.pid)")
            usleep(UInt32.random(in: 0 ... 20_000, using: &generator))
            killsWhileSaving += 1
        } else {
            // kill at a random moment from process start (often before or during the first save)
            usleep(UInt32.random(in: 2_000 ... 30_000, using: &generator))
        }
        helper.kill9()
        guard let data = FileManager.default.contents(atPath: path) else {
            #expect(last == 0, "the state file vanished after kill \(i)")
            continue
        }
        let state = try StateStore.decode(data, path: path)
        let counter = try checkComplete(state, file: "kill \(i)")
        #expect(counter >= last, "went back from \(last) to \(counter)")
        last = counter
        if let bak = FileManager.default.contents(atPath: path + ".bak") {
            let b = try StateStore.decode(bak, path: path + ".bak")
            #expect(try checkComplete(b, file: "bak \(i)") <= counter)
        }
    }
    #expect(last > 50, "the helper saved only \(last) times")
    #expect(killsWhileSaving == 100)
    #expect(Date().timeIntervalSince(started) < 30)
    // the lock was released by every kill: we can take it now
    let lock = try StateStore(path: path).acquireLock()
    lock.release()
}

// MARK: - Random action sequences

let propertyStepIDs: [StepID] = ["a.1", "a.2", "b.1", "b.2", "c.1", "zz"]
let propertyStages: [StageID?] = [nil, "a", "b", "c", "zz"]
let propertyInputs: [(InputKey, String)] = [
    (.domain, "example.com"), (.domain, "bücher.example"), (.domain, "-bad"), (.email, "a@example.com"),
    (.serverIP, "203.0.113.10"), (.serverIP, "999.1.1.1"), (.serverIP, "2001:DB8::1"),
]
let propertyScopes: [RunScope] = [.all, RunScope(only: "b"), RunScope(until: "b"), RunScope(recheckSucceeded: true),
                                  RunScope(only: "zz")]

/// Decodes a number into an action (so that generated sequences shrink well).
func action(from n: Int, state: WizardState, at: Timestamp) -> Action {
    let k = n % 10, r = n / 10
    let current = state.phase.cursor?.current ?? propertyStepIDs[r % propertyStepIDs.count]
    switch k {
    case 0: return .start(propertyScopes[r % propertyScopes.count], at: at)
    case 1, 8, 9:
        let outcomes: [StepReport] = [
            StepReport(outcome: .noop(reason: "ok")),
            StepReport(outcome: .applied, exitStatus: 0, output: (0 ..< (r % 70)).map { "line \($0)" },
                       writtenFiles: [WrittenFile(path: "/f", sha256: "aa", backupPath: "/f.bak")]),
            StepReport(outcome: .failed(message: "boom"), exitStatus: 1),
            StepReport(outcome: .cancelled),
            StepReport(outcome: .applied, inputsSet: ["server_ip": r % 2 == 0 ? "198.51.100.1" : "bad ip"]),
        ]
        let id = k == 1 ? propertyStepIDs[r % propertyStepIDs.count] : current
        return .stepFinished(id, outcomes[(r / 7) % outcomes.count], at: at)
    case 2: return .skip(propertyStepIDs[r % propertyStepIDs.count], at: at)
    case 3: return .retry(propertyStepIDs[r % propertyStepIDs.count], force: r % 2 == 0, at: at)
    case 4: return .reset(propertyStages[r % propertyStages.count], at: at)
    case 5:
        let (key, v) = propertyInputs[r % propertyInputs.count]
        return .setInput(key, v, at: at)
    case 6: return .setTarget(r % 2 == 0 ? .local : .ssh(SSHDestination(host: "h\(r % 3).example")), at: at)
    default: return .cancel(at: at)
    }
}

@Test func randomActionSequencesKeepTheInvariants() async {
    await propertyCheck(count: 300, input: Gen.int(in: 0 ... 100_000).array(of: 1 ... 80)) { numbers in
        var state = sampleState()
        for (i, n) in numbers.enumerated() {
            let a = action(from: n, state: state, at: t(i + 1))
            let before = state
            let effects = reduce(&state, a)
            let violations = state.invariantViolations()
            #expect(violations == [], "after \(a): \(violations)")
            if effects.contains(where: { if case .rejected = $0 { return true } else { return false } }) {
                #expect(effects.count == 1)
                #expect(state == before, "a rejected action changed the state: \(a)")
            }
            // a step is run only right after the state that says so is persisted
            if let idx = effects.firstIndex(where: { if case .runStep = $0 { return true } else { return false } }) {
                #expect(idx > 0 && effects[idx - 1] == .persist)
                guard case .runStep(let id, _) = effects[idx] else { continue }
                #expect(state.step(id)?.status == .running)
            }
            if effects.contains(where: { if case .runFinished = $0 { return true } else { return false } }) {
                #expect(state.phase == .idle)
            }
        }
        // save → load is the identity (in memory, and through a real file)
        do {
            let data = try StateStore.encode(state)
            #expect(try StateStore.decode(data) == state)
        } catch {
            Issue.record("encode/decode failed: \(error)")
        }
    }
}

@Test func saveLoadIdentityThroughFiles() async throws {
    let dir = makeTempDir()
    await propertyCheck(count: 60, input: Gen.int(in: 0 ... 100_000).array(of: 0 ... 40)) { numbers in
        var state = sampleState()
        for (i, n) in numbers.enumerated() { _ = reduce(&state, action(from: n, state: state, at: t(i + 1))) }
        let store = StateStore(path: dir + "/p.json")
        do {
            try store.save(state)
            var expected = state
            expected.markRunningAsInterrupted()
            #expect(try store.load() == expected)
            #expect(expected.invariantViolations() == [])
        } catch {
            Issue.record("\(error)")
        }
    }
}
