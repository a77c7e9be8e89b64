import Foundation
import StepRunner
import TerminalUI
import WizardCore
import WizardTUI

#if canImport(Glibc)
import Glibc
#endif

/// A headless terminal for the real run loop (`TUIRunLoop.run` with the real `WizardApp`): it
/// presses `a` (run all), then, every `interval`, toggles the help modal (`?`, then Esc) while
/// the step streams its output, and times each key from the moment it is due to the first frame
/// that shows its effect (the modal open or closed). A key that falls due while the loop is busy
/// (draining output, rendering) waits for it, as a real key would: that wait is counted.
@MainActor
final class LatencyBackend: TerminalBackend {
    var screen: TestBackend
    let interval: UInt64
    var keyDueAt: UInt64 = 0
    var pending = false
    var helpOpen = false
    var started = false
    var latencies: [Double] = []
    var framesNotShowingKey = 0
    var frames = 0
    var finished: () -> Bool = { false }
    let deadline: UInt64

    init(width: Int, height: Int, intervalMs: Int, maxSeconds: Int) {
        screen = TestBackend(width: width, height: height)
        interval = UInt64(intervalMs) * 1_000_000
        deadline = DispatchTime.now().uptimeNanoseconds + UInt64(maxSeconds) * 1_000_000_000
    }

    var width: Int { screen.width }
    var height: Int { screen.height }

    static func showsHelp(_ b: Buffer) -> Bool {
        (0..<b.height).contains { b.lineText($0).contains(" Keys ") }
    }

    func draw(_ buffer: Buffer) {
        screen.draw(buffer)
        frames += 1
        guard pending else { return }
        let t = DispatchTime.now().uptimeNanoseconds
        if Self.showsHelp(buffer) == helpOpen {
            latencies.append(Double(t - keyDueAt) / 1e6)
            pending = false
        } else {
            framesNotShowingKey += 1
        }
    }

    func events(timeoutMs: Int) -> [TUIEvent]? {
        let now = DispatchTime.now().uptimeNanoseconds
        if !started {
            started = true
            nextDue = now + interval
            return [.key(.char("a"))]
        }
        if now > deadline { return nil }
        if pending {
            // The frame for the last key is not out yet (give up on it after 5 s: a miss).
            if now - keyDueAt > 5_000_000_000 { misses += 1; pending = false; helpOpen = Self.showsHelp(screen.buffer) }
            usleep(200)
            return []
        }
        if finished() { return nil }
        if now >= nextDue {
            // Latency counts from when the key was due, not from now.
            keyDueAt = nextDue
            nextDue = max(nextDue + interval, now + 1)
            helpOpen.toggle()
            pending = true
            return [.key(helpOpen ? .char("?") : .escape)]
        }
        // Wait for input as a terminal would: until the next key is due or the loop's timeout.
        let waitNs = min(UInt64(max(timeoutMs, 0)) * 1_000_000, nextDue - now)
        if waitNs >= 1000 { usleep(useconds_t(waitNs / 1000)) }
        return []
    }
    var nextDue: UInt64 = 0
    var misses = 0
}

/// Reads a `Vm…` figure (kB) from /proc/self/status.
func procStatus(_ key: String) -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in s.split(separator: "\n") where line.hasPrefix(key + ":") {
        return Int(line.dropFirst(key.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "") ?? 0
    }
    return 0
}

/// One run of the wizard over a step that prints `lines` lines; returns the backend (latencies),
/// the seconds from `a` to the step's end, the frames drawn and the output pane.
@MainActor
func tuiRun(lines: Int, intervalMs: Int) async throws -> (LatencyBackend, Double, Int, ScrollbackBuffer) {
    let dir = NSTemporaryDirectory() + "djdeploy-bench-tui-\(getpid())"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let stepID: StepID = "stream.seq"
    let step = StepDefinition(
        id: stepID, title: "Stream \(lines) lines", runsOn: .server,
        check: { _ in .needsChange("always") },
        plan: { _ in StepPlan(actions: [.command(Command(["seq", "1", String(lines)]))]) })
    let deployment = Deployment(stages: [StageDefinition(id: "stream", title: "Stream", steps: [step])])
    let store = StateStore(path: dir + "/state.json")
    let state = WizardState(deployment: deployment, profile: "bench", target: .local)
    let runner = SystemRunner(target: .local)
    let app = WizardApp(deployment: deployment, state: state, statePath: store.path, transcriptPath: nil,
                        assetsDirectory: nil, runner: runner, theme: Theme()) { confirm, events in
        WizardRuntime(deployment: deployment, state: state, store: store, runner: runner, localRunner: nil,
                      confirm: confirm, events: events)
    }
    let backend = LatencyBackend(width: 120, height: 40, intervalMs: intervalMs, maxSeconds: quick ? 60 : 300)
    backend.finished = { app.lastRunResult != nil }
    let t0 = now()
    _ = await TUIRunLoop.run(app, on: backend)
    let seconds = (now() - t0) / 1000
    let frames = TUIRunLoop.framesRendered
    await app.shutdown()
    await runner.shutdown()
    precondition(app.state.step(stepID)?.status == .succeeded, "the streaming step did not succeed")
    precondition(backend.screen.snapshot.contains(String(lines)), "the last line is not on the screen at the end")
    return (backend, seconds, frames, app.model.output)
}

@MainActor
func benchTUI() async throws {
    let lines = args.firstIndex(of: "--lines").flatMap { Int(args[$0 + 1]) } ?? (quick ? 100_000 : 1_000_000)
    let rounds = args.firstIndex(of: "--rounds").flatMap { Int(args[$0 + 1]) } ?? (quick ? 1 : 5)
    let intervalMs = args.firstIndex(of: "--key-ms").flatMap { Int(args[$0 + 1]) } ?? 10
    let rssBefore = procStatus("VmRSS")
    var lat: [Double] = [], seconds: [Double] = [], frames = 0, notShown = 0, misses = 0
    var pane = ScrollbackBuffer()
    var hwmAfterFirst = 0
    for r in 0..<rounds {
        let (b, s, f, p) = try await tuiRun(lines: lines, intervalMs: intervalMs)
        lat += b.latencies; seconds.append(s); frames += f; notShown += b.framesNotShowingKey; misses += b.misses
        pane = p
        if r == 0 { hwmAfterFirst = procStatus("VmHWM") }
    }
    let hwm = procStatus("VmHWM")
    let rssAfter = procStatus("VmRSS")
    lat.sort()
    precondition(!lat.isEmpty, "no key latency measured")
    func pct(_ p: Double) -> Double { lat[min(lat.count - 1, Int(Double(lat.count) * p))] }
    let secs = Stats(samples: seconds).median
    let totalS = seconds.reduce(0, +)
    let w = [52, 14]
    print("\n== tui: \(lines) lines into the output pane, \(rounds) run(s) (real WizardApp + TUIRunLoop, TestBackend 120×40, no curses)")
    print(row(["what", "value"], w))
    print(row(["run time (a pressed → step done), median", fmt(secs, 2) + " s"], w))
    print(row(["lines/s into the pane (last run)", fmt(Double(pane.totalLines) / seconds.last!, 0)], w))
    print(row(["frames drawn", "\(frames) (\(fmt(Double(frames) / totalS, 0))/s)"], w))
    print(row(["keys (help open/close every \(intervalMs) ms)", "\(lat.count)"], w))
    print(row(["key → frame latency p50", fmt(pct(0.5)) + " ms"], w))
    print(row(["key → frame latency p99", fmt(pct(0.99)) + " ms"], w))
    print(row(["key → frame latency max", fmt(lat.last ?? 0) + " ms"], w))
    print(row(["frames before the key showed / keys never shown", "\(notShown) / \(misses)"], w))
    print(row(["pane (last run): lines appended / kept (ring)", "\(pane.totalLines) / \(pane.count)"], w))
    print(row(["RSS before / peak after run 1 / peak after all / now", "\(fmt(Double(rssBefore) / 1024, 1)) / \(fmt(Double(hwmAfterFirst) / 1024, 1)) / \(fmt(Double(hwm) / 1024, 1)) / \(fmt(Double(rssAfter) / 1024, 1)) MiB"], w))
    print("RESULT tui_lines=\(lines) tui_key_p50_ms=\(fmt(pct(0.5), 2)) tui_key_p99_ms=\(fmt(pct(0.99), 2)) tui_keys=\(lat.count) tui_peak_rss_mib=\(fmt(Double(hwm) / 1024, 1)) tui_run_s=\(fmt(secs, 2)) target_p99_ms=50")
}
