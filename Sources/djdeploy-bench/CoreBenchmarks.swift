import Foundation
import StepRunner
import WizardCore

#if canImport(Glibc)
import Glibc
#endif

/// A state like a finished deployment: 12 stages, 4 steps each, every step with a full output
/// tail (50 lines), written files and times.
func bigState() -> WizardState {
    let stages = (0..<12).map { i in
        StageRecord(id: StageID("stage-\(i)"), title: "Stage \(i)", steps: (0..<4).map { j in
            var r = StepRecord(id: StepID("stage-\(i).step-\(j)"), title: "Step \(j) of stage \(i)")
            r.status = .succeeded
            r.startedAt = .now()
            r.endedAt = .now()
            r.exitStatus = 0
            r.output = (0..<StepRecord.outputTailLimit).map { "output line \($0) of step \(j): some typical text from apt or pip" }
            r.writtenFiles = [WrittenFile(path: "/etc/nginx/sites-available/example.com", sha256: String(repeating: "a", count: 64),
                                          backupPath: "/var/backups/djdeploy/etc/nginx/sites-available/example.com.20261125T000000.000Z-abcd")]
            r.noopReason = "already as desired"
            return r
        })
    }
    return WizardState(profile: "example.com", target: .local,
                       inputs: ["domain": "example.com", "email": "admin@example.com", "server_ip": "203.0.113.10"],
                       stages: stages)
}

func benchState() throws {
    let n = quick ? 50 : 1000
    let dir = NSTemporaryDirectory() + "djdeploy-bench-state-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let store = StateStore(path: dir + "/bench.json")
    var state = bigState()
    let size = try StateStore.encode(state).count
    var samples: [Double] = []
    for k in 0..<n {
        state.inputs["counter"] = String(k)
        let t0 = now()
        try store.save(state)
        samples.append(now() - t0)
    }
    let s = Stats(samples: samples)
    let sorted = samples.sorted()
    let p99 = sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))]
    let w = [44, 6, 10, 10, 14]
    print("\n== state: atomic save of a 12-stage state (\(size / 1024) KiB: write, fsync, rename, fsync dir)")
    print(row(["what", "N", "p50 ms", "p99 ms", "min–max ms"], w))
    print(row(["StateStore.save", "\(n)", fmt(s.median, 3), fmt(p99, 3), "\(fmt(s.min, 3))–\(fmt(s.max, 3))"], w))
    print("RESULT state_save_p50_ms=\(fmt(s.median, 3)) state_save_p99_ms=\(fmt(p99, 3)) target_p99_ms=5")
}

/// Runs a program N times (output discarded); wall time per run, and its peak RSS measured once
/// with GNU time (`/usr/bin/time -f %M`). wait4's own ru_maxrss is useless here: posix_spawn's
/// vfork-style child inherits the benchmark's high-water mark until exec.
func spawnStats(_ argv: [String], n: Int) -> (Stats, Int) {
    var times: [Double] = []
    var fa = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&fa)
    defer { posix_spawn_file_actions_destroy(&fa) }
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0)
    for _ in 0..<n {
        let t0 = now()
        var pid: pid_t = 0
        let rc = withCStrings(argv) { p in
            posix_spawnp(&pid, argv[0], &fa, nil, UnsafeMutablePointer(mutating: p), environ)
        }
        guard rc == 0 else { break }
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
        times.append(now() - t0)
    }
    var peakKiB = 0
    let out = NSTemporaryDirectory() + "djdeploy-bench-rss-\(getpid())"
    if FileManager.default.isExecutableFile(atPath: "/usr/bin/time") {
        let targv = ["/usr/bin/time", "-f", "%M", "-o", out] + argv
        var pid: pid_t = 0
        if withCStrings(targv, { p in posix_spawn(&pid, targv[0], &fa, nil, UnsafeMutablePointer(mutating: p), environ) }) == 0 {
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
            peakKiB = Int(((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            try? FileManager.default.removeItem(atPath: out)
        }
    }
    return (Stats(samples: times), peakKiB)
}

func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var ptrs: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    ptrs.append(nil)
    defer { for p in ptrs { free(p) } }
    return ptrs.withUnsafeBufferPointer { body($0.baseAddress!) }
}

func benchStartup() throws {
    let n = quick ? 5 : 30
    // The djdeploy binary next to the benchmark, or DJDEPLOY_BIN (e.g. a --static-swift-stdlib build).
    let exe = ProcessInfo.processInfo.environment["DJDEPLOY_BIN"]
        ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        .appendingPathComponent("djdeploy").path
    guard FileManager.default.isExecutableFile(atPath: exe) else {
        print("\n== startup: skipped (no djdeploy binary next to the benchmark at \(exe); build it with `swift build -c release`)")
        return
    }
    let dir = NSTemporaryDirectory() + "djdeploy-bench-start-\(getpid())"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try StateStore(path: dir + "/s.json").save(bigState())
    let (status, statusRSS) = spawnStats([exe, "status", "--state", dir + "/s.json", "--plain"], n: n)
    let (help, helpRSS) = spawnStats([exe, "--help"], n: n)
    let (sshV, sshRSS) = spawnStats(["ssh", "-V"], n: n)
    let (tru, trueRSS) = spawnStats(["true"], n: n)
    let w = [40, 6, 12, 18, 14]
    print("\n== startup: cold start of the headless CLI (wall time; peak RSS from GNU time): \(exe)")
    print(row(["what", "N", "median ms", "min–max ms", "peak RSS MiB"], w))
    for (name, s, rss) in [("djdeploy status (12-stage state)", status, statusRSS), ("djdeploy --help", help, helpRSS),
                           ("ssh -V (baseline)", sshV, sshRSS), ("true (baseline)", tru, trueRSS)] {
        print(row([name, "\(n)", fmt(s.median), "\(fmt(s.min))–\(fmt(s.max))", fmt(Double(rss) / 1024, 1)], w))
    }
    // The "< 25 MB" is read as 25,000,000 bytes (23.84 MiB), the stricter of the two.
    print("RESULT status_ms=\(fmt(status.median)) status_rss_mib=\(fmt(Double(statusRSS) / 1024, 1)) status_rss_bytes=\(statusRSS * 1024) target_ms=60 target_rss_bytes=25000000")
    print("reproduce: hyperfine -N --warmup 3 '\(exe) status --state FILE' 'ssh -V'; /usr/bin/time -v \(exe) status --state FILE")
}
