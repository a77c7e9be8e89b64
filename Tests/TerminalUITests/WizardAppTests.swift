import Foundation
import Testing
import StepRunner
import TerminalUI
import WizardCore
@testable import WizardTUI

/// Drives an app through the real run loop: presses keys, and waits (with a deadline) until the
/// screen shows something or a condition on the app holds. Input closes when the script ends.
@MainActor
final class DriverBackend: TerminalBackend {
    enum Step {
        case press(Key)
        case signal(TUISignal)
        case resize(Int, Int)
        /// Wait until the screen contains the text.
        case waitFor(String, seconds: Double = 20)
        /// Wait until a condition holds (and the frame after it has been drawn).
        case waitUntil(String, seconds: Double = 20, @MainActor () -> Bool)
    }

    private(set) var screen: TestBackend
    var steps: [Step]
    private(set) var failures: [String] = []
    private var waitingSince: ContinuousClock.Instant?
    private var conditionMetAt: ContinuousClock.Instant?

    init(width: Int, height: Int, steps: [Step]) {
        screen = TestBackend(width: width, height: height)
        self.steps = steps
    }

    var width: Int { screen.width }
    var height: Int { screen.height }
    func draw(_ buffer: Buffer) { screen.draw(buffer) }

    func events(timeoutMs: Int) -> [TUIEvent]? {
        guard let step = steps.first else { return nil }
        switch step {
        case .press(let k):
            next()
            return [.key(k)]
        case .signal(let s):
            next()
            return [.signal(s)]
        case .resize(let w, let h):
            next()
            screen.resize(width: w, height: h)
            return [.resize(width: w, height: h)]
        case .waitFor(let text, let seconds):
            if screen.snapshot.contains(text) { next(); return [] }
            return wait(seconds, "the screen to show \(text.debugDescription)")
        case .waitUntil(let what, let seconds, let cond):
            // Keep polling a little after the condition holds, so that the frame showing it is drawn.
            if let t = conditionMetAt {
                if ContinuousClock.now - t > .milliseconds(80) { conditionMetAt = nil; next() }
                usleep(5_000)
                return []
            }
            if cond() { conditionMetAt = .now; return [] }
            return wait(seconds, what)
        }
    }

    private func next() { steps.removeFirst(); waitingSince = nil }

    private func wait(_ seconds: Double, _ what: String) -> [TUIEvent]? {
        let now = ContinuousClock.now
        guard let since = waitingSince else { waitingSince = now; return [] }
        if now - since > .milliseconds(Int(seconds * 1000)) {
            failures.append("timed out waiting for \(what); screen:\n\(screen.snapshot)")
            return nil
        }
        usleep(5_000)
        return []
    }
}

/// A stage before the demo whose step reads the domain (for the Inputs form and missing inputs).
func siteStage() -> StageDefinition {
    StageDefinition(id: "site", title: "Site", steps: [
        StepDefinition(id: "site.domain", title: "Check the domain", reads: [.domain, .email],
                       check: { ctx in .satisfied("the domain is \(ctx.input(.domain) ?? "unset")") },
                       plan: { _ in .empty }),
    ])
}

/// A fixed clock, so that elapsed times and "ago" are the same on every run (snapshots).
let fixedTime = Timestamp(millisecondsSince1970: 1_767_225_600_000)

@MainActor
struct Harness {
    let dir: String
    let deployment: Deployment
    let store: StateStore
    let runner: SystemRunner
    let app: WizardApp

    /// A wizard over the demo deployment in `dir` (local target, real runner and runtime).
    /// `name` gives a fixed directory (for snapshots); state is kept between harnesses on the
    /// same directory (for resume).
    init(name: String, fresh: Bool = true, sleep: Int = 1, site: Bool = false, domain: String? = "example.com",
         fixedClock: Bool = false, language: Language = .en, training: Bool = false, stageID: StageID? = nil) {
        dir = "/tmp/djdeploy-tui-" + name      // fixed: paths appear in the snapshots
        if fresh { try? FileManager.default.removeItem(atPath: dir) }
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var d = DemoDeployment.make(directory: dir + "/demo", sleepSeconds: sleep)
        if site { d.stages.insert(siteStage(), at: 0) }
        if let stageID { d.stages[d.stages.count - 1].id = stageID }   // e.g. a real stage's lesson
        deployment = d
        store = StateStore(path: dir + "/state.json")
        var state = (try? store.load()) ?? WizardState(deployment: d, profile: "test", target: .local)
        if fresh, let domain {
            state.inputs["domain"] = domain
            state.inputs["email"] = "ops@" + domain
        }
        let runner = SystemRunner(target: .local)
        self.runner = runner
        let fixed = fixedTime
        let clock: @Sendable () -> Timestamp
        if fixedClock { clock = { fixed } } else { clock = { Timestamp.now() } }
        let store = self.store
        let initial = state
        app = WizardApp(deployment: d, state: state, statePath: store.path, transcriptPath: nil, assetsDirectory: nil,
                        runner: runner, theme: Theme(), language: language, training: training, now: clock) { confirm, events in
            WizardRuntime(deployment: d, state: initial, store: store, runner: runner, localRunner: nil,
                          confirm: confirm, clock: clock, events: events)
        }
    }

    /// Runs the script through the real run loop, then stops what runs.
    func drive(_ steps: [DriverBackend.Step], width: Int = 100, height: Int = 30) async -> DriverBackend {
        let backend = DriverBackend(width: width, height: height, steps: steps)
        _ = await TUIRunLoop.run(app, on: backend, idleWaitMs: 10)
        for f in backend.failures { Issue.record(Comment(rawValue: f)) }
        await app.shutdown()
        await runner.shutdown()
        return backend
    }

    func status(_ id: StepID) -> StepStatus? { app.state.step(id)?.status }
}

/// Rows of the stage list (the left column) of a screen.
func stageRows(_ t: TestBackend) -> [String] { t.lines.map { String($0.prefix(30)) } }

@MainActor
@Suite(.serialized) struct WizardAppTests {
    @Test(arguments: [(80, 24), (120, 40)])
    func runAllSucceedsAndShowsDoneGlyphs(size: (Int, Int)) async {
        let h = Harness(name: "runall-\(size.0)x\(size.1)", fixedClock: true)
        let b = await h.drive([
            .press(.char("a")),
            .waitUntil("the run to complete") { h.app.lastRunResult == .finished(.completed) },
            .waitUntil("both steps to show as done") { h.app.state.allSteps.allSatisfy { $0.status == .succeeded } },
        ], width: size.0, height: size.1)
        #expect(h.status(DemoDeployment.helloStep) == .succeeded)
        #expect(h.status(DemoDeployment.slowStep) == .succeeded)
        #expect(FileManager.default.fileExists(atPath: h.dir + "/demo/done"))
        let rows = stageRows(b.screen)
        #expect(rows.contains { $0.contains("✔ demo") })
        #expect(rows.contains { $0.contains("✔ Write hello.txt") })
        #expect(rows.contains { $0.contains("✔ Run a slow command") })
        #expect(b.screen.snapshot.contains("Stages 1/1"))
        #expect(b.screen.snapshot.contains("2/2 steps done") || b.screen.snapshot.contains("done: every step"))
        // The state on disk agrees.
        #expect((try? h.store.load())?.allSteps.allSatisfy { $0.status == .succeeded } == true)
        assertSnapshot(b.screen.snapshot, named: "wizard-run-all-\(size.0)x\(size.1)")
    }

    @Test func ctrlCWhileAStepRunsCancelsTheStep() async {
        let h = Harness(name: "cancel", sleep: 60)
        let started = ContinuousClock.now
        let b = await h.drive([
            .press(.char("a")),
            .waitUntil("the slow step to run") { h.app.state.step(DemoDeployment.slowStep)?.status == .running },
            .press(.ctrl("c")),
            .waitFor("Cancel step?"),
            .press(.char("n")),                         // keep running
            .waitUntil("the modal to close") { h.app.state.step(DemoDeployment.slowStep)?.status == .running },
            .signal(.interrupt),                        // SIGINT asks the same question
            .waitFor("Cancel step?"),
            .press(.char("y")),
            .waitUntil("the run to end cancelled") { h.app.lastRunResult == .finished(.cancelled) },
            .waitUntil("the step to show as interrupted") { h.app.state.step(DemoDeployment.slowStep)?.status == .interrupted },
        ])
        #expect(ContinuousClock.now - started < .seconds(30))  // did not wait for the 60 s sleep
        #expect(h.status(DemoDeployment.helloStep) == .succeeded)
        #expect(h.status(DemoDeployment.slowStep) == .interrupted)
        #expect(!FileManager.default.fileExists(atPath: h.dir + "/demo/done"))
        #expect(stageRows(b.screen).contains { $0.contains("⏸ Run a slow command") })
        #expect(b.screen.snapshot.contains("interrupted; Enter or a resumes"))
        #expect((try? h.store.load())?.step(DemoDeployment.slowStep)?.status == .interrupted)
    }

    @Test func restartShowsTheResumeBannerAndTheCursorOnTheStoppedStage() async {
        // First session: run, cancel the slow step.
        let first = Harness(name: "resume", sleep: 60, site: true, fixedClock: true)
        _ = await first.drive([
            .press(.char("a")),
            .waitUntil("the slow step to run") { first.app.state.step(DemoDeployment.slowStep)?.status == .running },
            .press(.ctrl("c")), .waitFor("Cancel step?"), .press(.char("y")),
            .waitUntil("the run to end cancelled") { first.app.lastRunResult == .finished(.cancelled) },
        ])
        // Second session on the same state file.
        let second = Harness(name: "resume", fresh: false, sleep: 1, site: true, fixedClock: true)
        #expect(second.app.resumeStep == DemoDeployment.slowStep)
        #expect(second.app.model.selected == 1)       // the demo stage, not the first one
        let b = await second.drive([.waitFor("Resume test")], width: 80, height: 24)
        #expect(b.screen.snapshot.contains("Resume test: stopped at demo / Run a slow command (interrupted 0 s ago)"))
        assertSnapshot(b.screen.snapshot, named: "wizard-resume-80x24")

        // Enter resumes: the interrupted step is checked and run again, and the banner goes.
        let third = Harness(name: "resume", fresh: false, sleep: 1, site: true)
        let c = await third.drive([
            .waitFor("Resume test"),
            .press(.enter),
            .waitUntil("the resumed run to complete") { third.app.lastRunResult == .finished(.completed) },
            .waitUntil("the step to show as done") { third.app.state.step(DemoDeployment.slowStep)?.status == .succeeded },
        ])
        #expect(!c.screen.snapshot.contains("Resume test"))
        #expect(FileManager.default.fileExists(atPath: third.dir + "/demo/done"))
    }

    @Test func planTabShowsTheCommandsAndTheDiff() async {
        let h = Harness(name: "plan", fixedClock: true)
        let b = await h.drive([
            .press(.char("p")),
            .waitFor("+Hello from djdeploy."),
        ], width: 80, height: 24)
        let s = b.screen.snapshot
        #expect(s.contains("File \(h.dir)/demo/hello.txt"))
        #expect(s.contains("+This file was written by the demo deployment."))
        #expect(s.contains("$ mkdir -p \(h.dir)/demo"))
        #expect(s.contains("needs change:"))
        // Planning changed nothing.
        #expect(!FileManager.default.fileExists(atPath: h.dir + "/demo/hello.txt"))
        #expect(h.status(DemoDeployment.helloStep) == .pending)
        assertSnapshot(s, named: "wizard-plan-80x24")
    }

    @Test func inputsFormRejectsABadDomainWithTheValidatorsMessage() async throws {
        let h = Harness(name: "inputs", site: true, domain: nil, fixedClock: true)
        let bad = "bad_domain!"
        var message = ""
        do { _ = try InputKey.domain.validate(bad) } catch { message = error.message }
        #expect(!message.isEmpty)
        let b = await h.drive([
            // Run all: the domain is missing, so the form opens on it instead of running.
            .press(.char("a")),
            .waitFor("missing inputs: Domain"),
            .press(.char("x")), .press(.backspace),
        ] + bad.map { .press(.char($0)) } + [
            .press(.enter),
            .waitUntil("the validator's message") { h.app.model.inputs.first?.error != nil },
        ], width: 80, height: 24)
        #expect(h.app.model.inputs.first?.error == message)
        #expect(h.app.state.inputs["domain"] == nil)
        let s = b.screen.snapshot
        #expect(s.contains(bad))
        #expect(s.contains(message.split(separator: " ").prefix(3).joined(separator: " ")), "screen:\n\(s)")
        #expect(h.app.lastRunResult == nil)            // nothing ran
        assertSnapshot(s, named: "wizard-inputs-error-80x24")

        // A good value is applied through the runtime (and saved).
        let good = Harness(name: "inputs", fresh: false, site: true, domain: nil)
        _ = await good.drive([
            .press(.char("e")),
        ] + "example.org".map { .press(.char($0)) } + [
            .press(.enter),
            .waitUntil("the input to be saved") { (try? good.store.load())?.inputs["domain"] == "example.org" },
        ])
        #expect((try? good.store.load())?.inputs["domain"] == "example.org")
    }

    @Test func quitAsksWhileAStepRunsAndShutdownStopsIt() async {
        let h = Harness(name: "quit", sleep: 60)
        let backend = DriverBackend(width: 100, height: 30, steps: [
            .press(.char("a")),
            .waitUntil("the slow step to run") { h.app.state.step(DemoDeployment.slowStep)?.status == .running },
            .press(.char("q")),
            .waitFor("Quit?"),
            .press(.char("y")),
        ])
        let exit = await TUIRunLoop.run(h.app, on: backend, idleWaitMs: 10)
        #expect(exit == .quit)
        #expect(backend.failures.isEmpty, "\(backend.failures)")
        #expect(h.app.isRunning)
        let stopped = await h.app.shutdown()
        await h.runner.shutdown()
        #expect(stopped == DemoDeployment.slowStep)
        #expect(!h.app.isRunning)
        #expect((try? h.store.load())?.step(DemoDeployment.slowStep)?.status == .interrupted)
    }

    @Test func confirmationModalAnswersTheRuntime() async {
        let dir = NSTemporaryDirectory() + "djdeploy-tui-confirm"
        try? FileManager.default.removeItem(atPath: dir)
        let marker = dir + "/confirmed"
        let step = StepDefinition(
            id: "danger.step", title: "Do something irreversible", confirmation: "This deletes the default nginx site.",
            check: { _ in .needsChange("not done") },
            plan: { _ in StepPlan(actions: [.command(Command(["sh", "-c", "mkdir -p \"$1\" && touch \"$1/x\"", "sh", marker]))]) })
        let d = Deployment(stages: [StageDefinition(id: "danger", title: "Danger", steps: [step])])
        let runner = SystemRunner(target: .local)
        let state = WizardState(deployment: d, profile: "test", target: .local)
        let app = WizardApp(deployment: d, state: state, statePath: dir + "/state.json", transcriptPath: nil,
                            assetsDirectory: nil, runner: runner, theme: Theme()) { confirm, events in
            WizardRuntime(deployment: d, state: state, store: nil, runner: runner, confirm: confirm, events: events)
        }
        let backend = DriverBackend(width: 100, height: 30, steps: [
            .press(.enter),
            .waitFor("This deletes the default nginx site."),
            .press(.char("n")),
            .waitUntil("the step to fail") { app.state.step("danger.step")?.status == .failed },
            .press(.char("r")),
            .waitFor("This deletes the default nginx site."),
            .press(.char("y")),
            .waitUntil("the step to succeed") { app.state.step("danger.step")?.status == .succeeded },
        ])
        _ = await TUIRunLoop.run(app, on: backend, idleWaitMs: 10)
        #expect(backend.failures.isEmpty, "\(backend.failures)")
        await app.shutdown()
        #expect(FileManager.default.fileExists(atPath: marker + "/x"))
    }
}

@Suite struct WizardFormattingTests {
    @Test func elapsedAndAgo() {
        #expect(WizardApp.formatElapsed(ms: 0) == "0s")
        #expect(WizardApp.formatElapsed(ms: 12_400) == "12s")
        #expect(WizardApp.formatElapsed(ms: 108_000) == "1m48s")
        #expect(WizardApp.formatElapsed(ms: 7_380_000) == "2h03m")
        #expect(WizardApp.formatAgo(ms: 42_000) == "42 s")
        #expect(WizardApp.formatAgo(ms: 300_000) == "5 min")
        #expect(WizardApp.formatAgo(ms: 11_520_000) == "3 h 12 min")
    }

    @Test func mailboxKeepsOrderAndBoundsOutput() {
        let m = WizardMailbox(maxLines: 10)
        m.push(.stepStarted("a", mode: .checkThenApply))
        for i in 0..<25 { m.push(.stepOutput("a", "line \(i)")) }
        m.push(.log("end"))
        let c = m.drain()
        #expect(c.droppedLines == 11)
        guard case .stepStarted? = c.events.first, case .log("end")? = c.events.last else {
            Issue.record("order lost: \(c.events)")
            return
        }
        #expect(c.events.count == 16)
        #expect(c.events[1] == .stepOutput("a", "line 11"))
        #expect(m.drain().events.isEmpty)
    }
}

/// The loopback sshd fixture (Tests/fixtures/sshd-up.sh), when it is up.
struct SSHFixture {
    var host: String, port: Int, key: String, knownHosts: String, pwUser: String, password: String

    static let shared: SSHFixture? = {
        let path = ProcessInfo.processInfo.environment["DJDEPLOY_SSHD_ENV"] ?? "/tmp/djdeploy-fixtures/sshd.env"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var kv: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let p = line.split(separator: "=", maxSplits: 1).map(String.init)
            if p.count == 2 { kv[p[0]] = p[1] }
        }
        guard let key = kv["DJ_SSH_KEY"], let kh = kv["DJ_SSH_KNOWN_HOSTS"], let pwFile = kv["DJ_SSH_PW_FILE"],
              let pw = try? String(contentsOfFile: pwFile, encoding: .utf8) else { return nil }
        return SSHFixture(host: kv["DJ_SSH_HOST"] ?? "127.0.0.1", port: Int(kv["DJ_SSH_PORT"] ?? "") ?? 2222, key: key,
                          knownHosts: kh, pwUser: kv["DJ_SSH_PW_USER"] ?? "djpw",
                          password: pw.trimmingCharacters(in: .whitespacesAndNewlines))
    }()
    static var available: Bool { shared != nil || ProcessInfo.processInfo.environment["DJDEPLOY_TEST_CI"] != nil }
}

@MainActor
@Suite(.serialized) struct WizardSudoTests {
    /// Over SSH as a user whose sudo needs a password: the step fails with "needs a sudo
    /// password", the no-echo modal opens, the password goes to the runner and the step is retried.
    @Test(.enabled(if: SSHFixture.available)) func sudoPasswordModalRetriesTheStep() async throws {
        let fx = try #require(SSHFixture.shared, "the sshd fixture is not up (DJDEPLOY_SSHD_ENV)")
        let step = StepDefinition(
            id: "root.id", title: "Run a command as root", needsRoot: true,
            check: { _ in .needsChange("always") },
            plan: { _ in StepPlan(actions: [.command(Command(["id", "-u"], asRoot: true))]) })
        let d = Deployment(stages: [StageDefinition(id: "root", title: "Root", steps: [step])])
        let target = Target.ssh(SSHDestination(host: fx.host, port: fx.port, user: fx.pwUser, identityFile: fx.key,
                                               knownHostsFile: fx.knownHosts))
        let runner = SystemRunner(target: target)
        let state = WizardState(deployment: d, profile: "test", target: target)
        let app = WizardApp(deployment: d, state: state, statePath: "/tmp/djdeploy-tui-sudo.json", transcriptPath: nil,
                            assetsDirectory: nil, runner: runner, theme: Theme()) { confirm, events in
            WizardRuntime(deployment: d, state: state, store: nil, runner: runner, confirm: confirm, events: events)
        }
        let backend = DriverBackend(width: 100, height: 30, steps: [
            .press(.enter),
            .waitFor("┌ sudo password"),
        ] + fx.password.map { .press(.char($0)) } + [
            .waitUntil("the typed password to be kept off the screen") { true },
            .press(.enter),
            .waitUntil("the retried step to succeed", seconds: 30) { app.state.step("root.id")?.status == .succeeded },
        ])
        var sawPassword = false
        _ = await TUIRunLoop.run(app, on: backend, idleWaitMs: 10)
        sawPassword = backend.screen.snapshot.contains(fx.password)
        #expect(backend.failures.isEmpty, "\(backend.failures)")
        #expect(!sawPassword)
        #expect(app.state.step("root.id")?.attempts == 2)
        #expect(app.model.output.search("0").count > 0)   // `id -u` printed 0 (root)
        await app.shutdown()
        await runner.shutdown()
    }
}
