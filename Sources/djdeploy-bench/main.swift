import Foundation
import StepRunner

// djdeploy-bench: benchmarks that print tables. Not tests: they never fail on a number.
//   swift run -c release djdeploy-bench runner [--quick] [--sshd-env FILE]
//   swift run -c release djdeploy-bench stream [--quick] [--sshd-env FILE]
//   swift run -c release djdeploy-bench state [--quick]
//   swift run -c release djdeploy-bench startup [--quick]
//   swift run -c release djdeploy-bench step [--quick] [--sshd-env FILE]   (vs Ansible, when installed)
//   swift run -c release djdeploy-bench all [--quick]

let args = Array(CommandLine.arguments.dropFirst())
let quick = args.contains("--quick")
let which = args.first { !$0.hasPrefix("-") && !$0.hasSuffix(".env") } ?? "all"
let envPath = args.firstIndex(of: "--sshd-env").map { args[$0 + 1] }
    ?? ProcessInfo.processInfo.environment["DJDEPLOY_SSHD_ENV"] ?? "/tmp/djdeploy-fixtures/sshd.env"

func loadDestination() -> SSHDestination? {
    guard let text = try? String(contentsOfFile: envPath, encoding: .utf8) else { return nil }
    var kv: [String: String] = [:]
    for line in text.split(separator: "\n") {
        let p = line.split(separator: "=", maxSplits: 1).map(String.init)
        if p.count == 2 { kv[p[0]] = p[1] }
    }
    guard let host = kv["DJ_SSH_HOST"], let port = kv["DJ_SSH_PORT"].flatMap(Int.init) else { return nil }
    return SSHDestination(host: host, port: port, user: kv["DJ_SSH_USER"], identityFile: kv["DJ_SSH_KEY"],
                          knownHostsFile: kv["DJ_SSH_KNOWN_HOSTS"])
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e6 }

struct Stats {
    var samples: [Double]
    var median: Double { let s = samples.sorted(); return s.isEmpty ? 0 : s[s.count / 2] }
    var min: Double { samples.min() ?? 0 }
    var max: Double { samples.max() ?? 0 }
}

func measure(_ n: Int, _ body: () async throws -> Void) async rethrows -> Stats {
    var s: [Double] = []
    s.reserveCapacity(n)
    for _ in 0..<n {
        let t0 = now()
        try await body()
        s.append(now() - t0)
    }
    return Stats(samples: s)
}

func row(_ cols: [String], _ widths: [Int]) -> String {
    zip(cols, widths).map { c, w in c.count >= w ? c : c + String(repeating: " ", count: w - c.count) }.joined(separator: "  ")
}

func fmt(_ x: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", x) }

func benchRunner(_ dest: SSHDestination) async throws {
    let n = quick ? 20 : 200
    let nFresh = quick ? 3 : 20
    let dir = NSTemporaryDirectory() + "djdeploy-bench-\(getpid())"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let runner = SystemRunner(target: .ssh(dest), transcript: try Transcript(path: dir + "/transcript.jsonl"))
    try await runner.connect()
    let raw = try await runner.rawSSHArguments()
    // Warm up both paths.
    for _ in 0..<5 { _ = try await runner.run(Command(["true"])); try await RawProcess.run(raw + ["true"]) }
    // Interleave the two so that machine noise hits both alike.
    var runnerSamples: [Double] = [], rawSamples: [Double] = []
    for _ in 0..<n {
        var t0 = now()
        let r = try await runner.run(Command(["true"]))
        precondition(r.succeeded, "runner command failed: \(r.termination)")
        runnerSamples.append(now() - t0)
        t0 = now()
        let code = try await RawProcess.run(raw + ["true"]).exitCode
        precondition(code == 0, "raw ssh failed")
        rawSamples.append(now() - t0)
    }
    let fresh = try await measure(nFresh) {
        let argv = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-p", String(dest.port ?? 22),
                    "-l", dest.user ?? "root", "-i", dest.identityFile ?? "", "-o", "IdentitiesOnly=yes",
                    "-o", "UserKnownHostsFile=\(dest.knownHostsFile ?? "")", "--", dest.host, "true"]
        try await RawProcess.run(argv)
    }
    await runner.shutdown()
    let rs = Stats(samples: runnerSamples), ws = Stats(samples: rawSamples)
    let w = [40, 6, 12, 18, 10]
    print("\n== runner: per-command cost over SSH (loopback sshd, `true`)")
    print(row(["what", "N", "median ms", "min–max ms", "ratio"], w))
    print(row(["djdeploy runner (ControlMaster)", "\(n)", fmt(rs.median), "\(fmt(rs.min))–\(fmt(rs.max))", fmt(rs.median / ws.median) + "×"], w))
    print(row(["raw ssh -o ControlPath=… host true", "\(n)", fmt(ws.median), "\(fmt(ws.min))–\(fmt(ws.max))", "1.00×"], w))
    print(row(["fresh ssh host true", "\(nFresh)", fmt(fresh.median), "\(fmt(fresh.min))–\(fmt(fresh.max))", fmt(fresh.median / ws.median) + "×"], w))
    print("RESULT runner_ratio=\(fmt(rs.median / ws.median, 3)) runner_ms=\(fmt(rs.median, 3)) raw_ms=\(fmt(ws.median, 3)) fresh_ms=\(fmt(fresh.median, 3))")
    print("reproduce the baseline: hyperfine -N --warmup 5 'ssh -o ControlMaster=no -o ControlPath=SOCK -p \(dest.port ?? 22) \(dest.user ?? "root")@\(dest.host) true'")
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add(_ k: Int) { lock.lock(); n += k; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}

func benchStream(_ dest: SSHDestination?) async throws {
    let lines = quick ? 100_000 : 1_000_000
    let w = [44, 10, 10, 14, 10]
    print("\n== stream: \(lines) lines (`seq 1 \(lines)`)")
    print(row(["what", "lines", "seconds", "lines/s", "ratio"], w))
    // Local: raw (output discarded by the same spawn path) vs the runner with every line delivered.
    let rawLocal = now()
    let rl = try await RawProcess.run(["seq", "1", String(lines)])
    let rawLocalS = (now() - rawLocal) / 1000
    let local = SystemRunner(target: .local)
    let counter = Counter()
    let t0 = now()
    let r = try await local.run(Command(["seq", "1", String(lines)]), lines: { counter.add($0.count) })
    let localS = (now() - t0) / 1000
    precondition(r.succeeded && counter.value == lines, "lost lines: \(counter.value)")
    print(row(["raw local seq (spawn + split, discard)", "\(rl.lines)", fmt(rawLocalS, 3), fmt(Double(lines) / rawLocalS, 0), "1.00×"], w))
    print(row(["runner local (every line delivered)", "\(counter.value)", fmt(localS, 3), fmt(Double(lines) / localS, 0), fmt(rawLocalS / localS) + "×"], w))
    // AsyncSequence consumer.
    let s = local.stream(Command(["seq", "1", String(lines)]))
    let t1 = now()
    var seqCount = 0
    for await _ in s.lines { seqCount += 1 }
    let seqS = (now() - t1) / 1000
    precondition(seqCount == lines)
    print(row(["runner local (AsyncSequence consumer)", "\(seqCount)", fmt(seqS, 3), fmt(Double(lines) / seqS, 0), fmt(rawLocalS / seqS) + "×"], w))
    var result = "RESULT local_lines_per_s=\(fmt(Double(lines) / localS, 0)) asyncseq_lines_per_s=\(fmt(Double(lines) / seqS, 0))"
    if let dest {
        let runner = SystemRunner(target: .ssh(dest))
        try await runner.connect()
        let raw = try await runner.rawSSHArguments()
        // Alternate raw and runner runs; report the median of each.
        var rawRuns: [Double] = [], runRuns: [Double] = []
        let c2 = Counter()
        for _ in 0..<(quick ? 1 : 5) {
            let t2 = now()
            try await RawProcess.run(raw + ["seq", "1", String(lines)])
            rawRuns.append((now() - t2) / 1000)
            let before = c2.value
            let t3 = now()
            let rr = try await runner.run(Command(["seq", "1", String(lines)]), lines: { c2.add($0.count) })
            runRuns.append((now() - t3) / 1000)
            precondition(rr.succeeded && c2.value - before == lines, "lost lines over ssh: \(c2.value - before)")
        }
        let rawS = Stats(samples: rawRuns).median, runS = Stats(samples: runRuns).median
        await runner.shutdown()
        print(row(["raw ssh host seq (ControlMaster)", "\(lines)", fmt(rawS, 3), fmt(Double(lines) / rawS, 0), "1.00×"], w))
        print(row(["runner over ssh (every line delivered)", "\(lines)", fmt(runS, 3), fmt(Double(lines) / runS, 0), fmt(rawS / runS) + "×"], w))
        result += " ssh_ratio=\(fmt(rawS / runS, 3)) lost=0"
    }
    print(result)
}

do {
    let dest = loadDestination()
    if which == "runner" || which == "all" {
        guard let dest else {
            FileHandle.standardError.write(Data("djdeploy-bench: no sshd fixture at \(envPath); start Tests/fixtures/sshd-up.sh\n".utf8))
            exit(2)
        }
        try await benchRunner(dest)
    }
    if which == "stream" || which == "all" { try await benchStream(dest) }
    if which == "state" || which == "all" { try benchState() }
    if which == "startup" || which == "all" { try benchStartup() }
    if which == "step" || which == "all" {
        guard let dest else { FileHandle.standardError.write(Data("djdeploy-bench: step needs the sshd fixture\n".utf8)); exit(2) }
        try await benchStep(dest)
    }
} catch {
    FileHandle.standardError.write(Data("djdeploy-bench: \(error)\n".utf8))
    exit(1)
}
