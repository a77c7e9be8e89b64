import Foundation
import StepRunner
import Testing
@testable import WizardCore

final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var _events: [RuntimeEvent] = []
    var events: [RuntimeEvent] { lock.withLock { _events } }
    func add(_ e: RuntimeEvent) { lock.withLock { _events.append(e) } }
}

func makeRuntime(_ deployment: Deployment = DemoDeployment.make(directory: "/demo"), state: WizardState? = nil,
                 store: StateStore?, runner: FakeRunner, log: EventLog = EventLog(),
                 confirm: @escaping @Sendable (StepID, String) async -> Bool = { _, _ in true }) -> WizardRuntime {
    let s = state ?? WizardState(deployment: deployment, profile: "demo", target: .local)
    return WizardRuntime(deployment: deployment, state: s, store: store, runner: runner, confirm: confirm,
                         events: { log.add($0) })
}

@Test func demoRunsToCompletionAndPersists() async throws {
    let store = StateStore(path: makeTempDir() + "/demo.json")
    let runner = FakeRunner()
    let log = EventLog()
    let rt = makeRuntime(store: store, runner: runner, log: log)
    let result = await rt.run()
    #expect(result == .finished(.completed))
    #expect(DeployExitCode(.completed) == .done)
    #expect(runner.files["/demo/hello.txt"] == Data(DemoDeployment.content.utf8))
    #expect(runner.files["/demo/done"] != nil)
    let s = await rt.state
    #expect(s.allSteps.map(\.status) == [.succeeded, .succeeded])
    #expect(s.step(DemoDeployment.helloStep)?.writtenFiles.map(\.path) == ["/demo/hello.txt"])
    #expect(s.step(DemoDeployment.helloStep)?.output.contains("needs change: /demo/hello.txt does not exist") == true)
    #expect(s.step(DemoDeployment.slowStep)?.exitStatus == 0)
    #expect(try store.load() == s)
    #expect(log.events.contains(.stepStarted(DemoDeployment.helloStep, mode: .checkThenApply)))
    #expect(log.events.contains(.runFinished(.completed)))
    #expect(log.events.contains { if case .stepOutput(DemoDeployment.helloStep, "wrote /demo/hello.txt") = $0 { return true } else { return false } })

    // nothing left to do
    #expect(await rt.run() == .finished(.completed))
    // a re-check of the fully deployed profile: every step is a noop with its reason, nothing written
    let before = runner.files
    let commandsBefore = runner.commands.count
    #expect(await rt.run(RunScope(recheckSucceeded: true)) == .finished(.completed))
    let r = await rt.state
    #expect(r.step(DemoDeployment.helloStep)?.noopReason?.contains("already has the expected content") == true)
    #expect(r.step(DemoDeployment.slowStep)?.noopReason == "/demo/done exists")
    #expect(runner.files == before)
    #expect(!runner.commands[commandsBefore...].contains { $0.first == "sh" || $0.first == "mkdir" })
}

@Test func cancelMidStepThenResumeAppliesAgain() async throws {
    let store = StateStore(path: makeTempDir() + "/demo.json")
    let runner = FakeRunner(sleepScale: 0.05)
    let deployment = DemoDeployment.make(directory: "/demo", sleepSeconds: 100) // 5 s in the fake
    let rt = makeRuntime(deployment, store: store, runner: runner)
    let run = Task { await rt.run() }
    // wait for step 2 to be running (and persisted as such)
    for _ in 0 ..< 200 {
        if await rt.state.step(DemoDeployment.slowStep)?.status == .running { break }
        try await Task.sleep(for: .milliseconds(5))
    }
    #expect(try store.load()?.step(DemoDeployment.slowStep)?.status == .interrupted, "on disk: running → interrupted on load")
    #expect(await rt.cancel() == .applied)
    let result = await run.value
    #expect(result == .finished(.cancelled))
    #expect(DeployExitCode(.cancelled) == .interrupted)
    let s = await rt.state
    #expect(s.step(DemoDeployment.slowStep)?.status == .interrupted)
    #expect(s.step(DemoDeployment.helloStep)?.status == .succeeded)
    #expect(runner.files["/demo/done"] == nil)

    // resume in a new runtime from the file: the check says "not there", so it is applied again
    let loaded = try #require(try store.load())
    let fast = FakeRunner()
    for (p, d) in runner.files { fast.setFile(p, d) }
    let rt2 = makeRuntime(DemoDeployment.make(directory: "/demo", sleepSeconds: 1), state: loaded, store: store, runner: fast)
    #expect(await rt2.run() == .finished(.completed))
    let s2 = await rt2.state
    #expect(s2.step(DemoDeployment.slowStep)?.status == .succeeded)
    #expect(s2.step(DemoDeployment.slowStep)?.noopReason == nil)
    #expect(s2.step(DemoDeployment.slowStep)?.attempts == 2)
    #expect(fast.files["/demo/done"] != nil)
}

@Test func crashAfterTheCommandFinishedResumesAsNoop() async throws {
    // the process died after the remote command completed but before the result was recorded
    let store = StateStore(path: makeTempDir() + "/demo.json")
    let deployment = DemoDeployment.make(directory: "/demo")
    var s = WizardState(deployment: deployment, profile: "demo")
    _ = reduce(&s, .start(.all, at: t(1)))
    _ = reduce(&s, .stepFinished(DemoDeployment.helloStep, StepReport(outcome: .applied), at: t(2)))
    #expect(s.step(DemoDeployment.slowStep)?.status == .running)
    try store.save(s)
    let runner = FakeRunner()
    runner.setFile("/demo/hello.txt", Data(DemoDeployment.content.utf8))
    runner.setFile("/demo/done", Data())
    let loaded = try #require(try store.load())
    #expect(loaded.step(DemoDeployment.slowStep)?.status == .interrupted)
    let rt = makeRuntime(deployment, state: loaded, store: store, runner: runner)
    #expect(await rt.run() == .finished(.completed))
    let after = await rt.state
    #expect(after.step(DemoDeployment.slowStep)?.status == .succeeded)
    #expect(after.step(DemoDeployment.slowStep)?.noopReason == "/demo/done exists")
    #expect(!runner.commands.contains { $0.first == "sh" }, "the slow command was not run again")
}

@Test func failingStepStopsTheRun() async throws {
    let d = Deployment(stages: [StageDefinition(id: "s", title: "S", steps: [
        StepDefinition(id: "s.fail", title: "Fails", check: { _ in .needsChange("always") }, plan: { _ in
            StepPlan(actions: [.command(Command(["false"]))])
        }),
        StepDefinition(id: "s.never", title: "Never", check: { _ in .needsChange("x") }, plan: { _ in .empty }),
    ])])
    let rt = makeRuntime(d, store: nil, runner: FakeRunner())
    #expect(await rt.run() == .finished(.failed("s.fail")))
    #expect(DeployExitCode(.failed("s.fail")) == .stepFailed)
    let s = await rt.state
    #expect(s.step("s.fail")?.status == .failed)
    #expect(s.step("s.fail")?.error == "`false` exited with status 1")
    #expect(s.step("s.fail")?.exitStatus == 1)
    #expect(s.step("s.never")?.status == .pending)
    // illegal requests are rejected by the runtime too
    #expect(await rt.retry("s.never", force: false) != .rejected(""))
    #expect(await rt.perform(.skip("nope", at: t(1))) == .rejected("unknown step nope"))
    #expect(await rt.cancel() == .rejected("nothing is running"))
}

@Test func confirmationIsAskedAndDecliningFails() async throws {
    let d = Deployment(stages: [StageDefinition(id: "s", title: "S", steps: [
        StepDefinition(id: "s.hsts", title: "HSTS", confirmation: "Raise HSTS to 30 days?",
                       check: { _ in .needsChange("short") }, plan: { _ in .empty }),
    ])])
    let asked = EventLog()
    let rt = makeRuntime(d, store: nil, runner: FakeRunner(), confirm: { id, text in
        asked.add(.log("\(id): \(text)"))
        return false
    })
    #expect(await rt.run() == .finished(.failed("s.hsts")))
    #expect(asked.events == [.log("s.hsts: Raise HSTS to 30 days?")])
    #expect(await rt.state.step("s.hsts")?.error == "not confirmed: Raise HSTS to 30 days?")
}

@Test func stepsCanRecordInputsAndVerifyFailuresAreReported() async throws {
    let d = Deployment(stages: [StageDefinition(id: "s", title: "S", steps: [
        StepDefinition(id: "s.ip", title: "Allocate IP", check: { ctx in
            ctx.input(.serverIP) == nil ? .needsChange("no IP yet") : .satisfied("have \(ctx.input(.serverIP)!)")
        }, plan: { _ in .empty }, apply: { ctx in try ctx.setInput(.serverIP, "198.51.100.20") }),
        StepDefinition(id: "s.uses", title: "Uses IP", reads: [.serverIP], check: { ctx in
            .needsChange("x \(try ctx.require(.serverIP))")
        }, plan: { _ in .empty }, verify: { _ in throw StepError.verificationFailed("HTTP 502") }),
    ])])
    let rt = makeRuntime(d, store: nil, runner: FakeRunner())
    #expect(await rt.run() == .finished(.failed("s.uses")))
    let s = await rt.state
    #expect(s.inputs["server_ip"] == "198.51.100.20")
    #expect(s.step("s.uses")?.error == "verification failed: HTTP 502")
    #expect(s.step("s.uses")?.output == ["needs change: x 198.51.100.20"])
}

@Test func planChangesNothingAndShowsDiffs() async throws {
    let runner = FakeRunner()
    runner.setFile("/demo/hello.txt", Data("old content\n".utf8))
    let rt = makeRuntime(store: nil, runner: runner)
    let before = await rt.state
    let plan = await rt.plan()
    #expect(plan.map(\.step) == [DemoDeployment.helloStep, DemoDeployment.slowStep])
    let hello = try #require(plan[0].plan)
    #expect(hello.commands.map(\.argv) == [["mkdir", "-p", "/demo"]])
    #expect(hello.files.first?.diff.contains("-old content\n+Hello from djdeploy.\n") == true)
    #expect(plan[1].plan?.commands.first?.argv.first == "sh")
    #expect(await rt.state == before)
    #expect(runner.files["/demo/hello.txt"] == Data("old content\n".utf8))
    #expect(runner.files["/demo/done"] == nil)
}

@Test func persistFailureNeverRunsTheStep() async throws {
    let dir = makeTempDir()
    let blocker = dir + "/file"
    try Data().write(to: URL(fileURLWithPath: blocker))
    let store = StateStore(path: blocker + "/sub/state.json") // parent is a file: cannot save
    let runner = FakeRunner()
    let log = EventLog()
    let rt = makeRuntime(store: store, runner: runner, log: log)
    let r = await rt.run()
    #expect(r == .finished(.failed(DemoDeployment.helloStep)))
    #expect(runner.commands.isEmpty, "no command ran")
    #expect(log.events.contains { if case .persistFailed = $0 { return true } else { return false } })
    #expect(await rt.state.step(DemoDeployment.helloStep)?.error?.hasPrefix("cannot write the state file") == true)
}

/// A runner whose commands all lose the connection (ssh exit 255 mid-command).
final class CutRunner: CommandRunning, @unchecked Sendable {
    let target: Target = .local
    func run(_ command: Command, onOutput: (@Sendable (OutputLine) -> Void)?) async throws -> CommandResult {
        CommandResult(termination: .connectionLost("Connection to 127.0.0.1 closed by remote host."), tail: [], lineCount: 0,
                      startedAt: Date(), endedAt: Date())
    }
    func readFile(_ path: String, asRoot: Bool) async throws -> Data? { nil }
    func sha256(of path: String, asRoot: Bool) async throws -> String? { nil }
    func writeFile(_ path: String, contents: Data, mode: Int, owner: String?, group: String?, asRoot: Bool) async throws -> WriteResult {
        throw RunnerError.connectionFailed(host: "127.0.0.1", detail: "Connection refused")
    }
    func restore(backup: String, to path: String, asRoot: Bool) async throws {}
    func setSudoPassword(_ password: String?) {}
    func addSecret(_ value: String) {}
    func shutdown() async {}
}

@Test func lostConnectionLeavesTheStepInterruptedWithTheReason() async throws {
    let store = StateStore(path: makeTempDir() + "/cut.json")
    let step = StepDefinition(id: "cut.cmd", title: "a command",
                              check: { _ in .needsChange("not yet") },
                              plan: { _ in StepPlan(actions: [.command(Command(["true"]))]) })
    let deployment = Deployment(stages: [StageDefinition(id: "cut", title: "cut", steps: [step])])
    let rt = WizardRuntime(deployment: deployment, state: WizardState(deployment: deployment, profile: "cut"),
                           store: store, runner: CutRunner())
    let result = await rt.run()
    #expect(result == .finished(.cancelled))
    let rec = try #require(await rt.state.step("cut.cmd"))
    #expect(rec.status == .interrupted)
    #expect(rec.error?.contains("connection to the server was lost") == true)
    #expect(rec.error?.contains("djdeploy run") == true)
    // A file write that cannot reconnect is interrupted too, not failed.
    let write = StepDefinition(id: "cut.file", title: "a file", check: { _ in .needsChange("absent") },
                               plan: { _ in StepPlan(actions: [.file(FileChange(path: "/x", newContent: Data("x".utf8), currentContent: nil))]) })
    let d2 = Deployment(stages: [StageDefinition(id: "cut", title: "cut", steps: [write])])
    let rt2 = WizardRuntime(deployment: d2, state: WizardState(deployment: d2, profile: "cut2"), store: nil, runner: CutRunner())
    _ = await rt2.run()
    #expect(await rt2.state.step("cut.file")?.status == .interrupted)
    #expect(try store.load()?.step("cut.cmd")?.status == .interrupted)
}
