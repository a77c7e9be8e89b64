import Foundation
import StepRunner

// djdeploy-bench: benchmarks that print tables. Not tests: they never fail on a number.
//   swift run -c release djdeploy-bench runner [--quick] [--sshd-env FILE]
//   swift run -c release djdeploy-bench stream [--quick] [--sshd-env FILE]
//   swift run -c release djdeploy-bench state [--quick]
//   swift run -c release djdeploy-bench startup [--quick]
//   swift run -c release djdeploy-bench step [--quick] [--sshd-env FILE]   (vs Ansible, when installed)
//   swift run -c release djdeploy-bench tui [--quick]      (1 M lines into the TUI output pane: key latency, RSS)
//   swift run -c release djdeploy-bench deploy [--quick]   (root, test stack: full deploy vs the hand script)
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

/// Runs argv with stdout and stderr to /dev/null (the shell's `cmd > /dev/null`); wall ms.
func spawnToDevNull(_ argv: [String]) -> Double {
    var fa = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&fa)
    defer { posix_spawn_file_actions_destroy(&fa) }
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0)
    let t0 = now()
    var pid: pid_t = 0
    let rc = withCStrings(argv) { p in posix_spawnp(&pid, argv[0], &fa, nil, UnsafeMutablePointer(mutating: p), environ) }
    precondition(rc == 0, "cannot spawn \(argv[0])")
    var status: Int32 = 0
    _ = waitpid(pid, &status, 0)
    precondition(status == 0, "\(argv) failed: \(status)")
    return now() - t0
}

/// CPU time (user + system) of this process and its reaped children, ms.
func cpuMillis() -> Double {
    var a = rusage(), b = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &a)
    getrusage(Int32(RUSAGE_CHILDREN.rawValue), &b)
    func ms(_ t: timeval) -> Double { Double(t.tv_sec) * 1000 + Double(t.tv_usec) / 1000 }
    return ms(a.ru_utime) + ms(a.ru_stime) + ms(b.ru_utime) + ms(b.ru_stime)
}

/// Counts delivered lines and remembers the last one (proves none was lost or cut).
final class LineCheck: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    private var last = ""
    private(set) var batches = 0
    func batch(_ b: OutputBatch) {
        guard !b.isEmpty else { return }
        let t = b.text(b.count - 1)
        lock.lock(); n += b.count; last = t; batches += 1; lock.unlock()
    }
    func lines(_ l: [OutputLine]) {
        guard let t = l.last?.text else { return }
        lock.lock(); n += l.count; last = t; lock.unlock()
    }
    var value: (Int, String) { lock.lock(); defer { lock.unlock() }; return (n, last) }
}

func benchStream(_ dest: SSHDestination?) async throws {
    let lines = quick ? 100_000 : 1_000_000
    let rounds = args.firstIndex(of: "--rounds").flatMap { Int(args[$0 + 1]) } ?? (quick ? 1 : 7)
    let seq = ["seq", "1", String(lines)]
    let w = [52, 10, 10, 14, 10]
    func ok(_ c: LineCheck, _ r: CommandResult, _ what: String) {
        let (n, last) = c.value
        precondition(r.succeeded && n == lines && last == String(lines), "\(what): lost lines: \(n), last \(last)")
    }
    /// Alternates the subjects `rounds` times (noise hits all alike); medians in seconds.
    var cpu: [Double] = []
    func alternate(_ subjects: [() async throws -> Double]) async throws -> [Double] {
        var samples = Array(repeating: [Double](), count: subjects.count)
        var cpuSamples = Array(repeating: [Double](), count: subjects.count)
        for _ in 0..<rounds {
            for (i, s) in subjects.enumerated() {
                let c0 = cpuMillis()
                samples[i].append(try await s() / 1000)
                cpuSamples[i].append(cpuMillis() - c0)
            }
        }
        cpu = cpuSamples.map { Stats(samples: $0).median }
        return samples.map { Stats(samples: $0).median }
    }
    func show(_ name: String, _ secs: Double, _ base: Double, cpu: Double) {
        print(row([name, "\(lines)", fmt(secs, 3), fmt(Double(lines) / secs, 0), fmt(base / secs) + "×", fmt(cpu, 1)], w + [20]))
    }
    print("\n== stream: \(lines) lines (`seq 1 \(lines)`), median of \(rounds) alternating rounds; every runner line delivered, 0 lost (asserted)")
    print(row(["what", "lines", "seconds", "lines/s", "ratio", "CPU ms (us+children)"], w + [20]))

    let local = SystemRunner(target: .local)
    let localSecret = SystemRunner(target: .local)
    localSecret.addSecret("s3cr3t-not-in-the-output")
    let lt = try await alternate([
        { spawnToDevNull(seq) },
        { let t0 = now(); try await RawProcess.run(seq); return now() - t0 },
        { let c = LineCheck(); let t0 = now(); let r = try await local.run(Command(seq), batches: { c.batch($0) }); let t = now() - t0; ok(c, r, "local batches"); return t },
        { let c = LineCheck(); let t0 = now(); let r = try await localSecret.run(Command(seq), batches: { c.batch($0) }); let t = now() - t0; ok(c, r, "local batches+secret"); return t },
        { let c = LineCheck(); let t0 = now(); let r = try await local.run(Command(seq), lines: { c.lines($0) }); let t = now() - t0; ok(c, r, "local lines"); return t },
        { spawnToDevNull(["sh", "-c", "\"$@\" | cat", "sh"] + seq) },
        { let s = local.stream(Command(seq)); let t0 = now(); var n = 0; var last = ""
          for await l in s.lines { n += 1; last = l.text }
          let t = now() - t0; precondition(n == lines && last == String(lines), "stream lost lines"); return t },
    ])
    let ltcpu = cpu
    show("local seq > /dev/null (baseline)", lt[0], lt[0], cpu: ltcpu[0])
    show("local seq through the spawn path + line split", lt[1], lt[0], cpu: ltcpu[1])
    show("runner local, OutputBatch consumer", lt[2], lt[0], cpu: ltcpu[2])
    show("runner local, OutputBatch, a secret registered", lt[3], lt[0], cpu: ltcpu[3])
    show("runner local, [OutputLine] consumer (String/line)", lt[4], lt[0], cpu: ltcpu[4])
    show("local seq | cat > /dev/null (any pipe reader)", lt[5], lt[0], cpu: ltcpu[5])
    show("runner local, AsyncSequence consumer", lt[6], lt[0], cpu: ltcpu[6])
    var result = "RESULT local_lines_per_s=\(fmt(Double(lines) / lt[2], 0)) local_ratio=\(fmt(lt[0] / lt[2], 3)) asyncseq_lines_per_s=\(fmt(Double(lines) / lt[6], 0))"
    if let dest {
        let runner = SystemRunner(target: .ssh(dest))
        try await runner.connect()
        let withSecret = SystemRunner(target: .ssh(dest))
        withSecret.addSecret("s3cr3t-not-in-the-output")
        try await withSecret.connect()
        let raw = try await runner.rawSSHArguments()
        var sshBatches = 0
        let st = try await alternate([
            { spawnToDevNull(raw + seq) },
            { let t0 = now(); try await RawProcess.run(raw + seq); return now() - t0 },
            { let c = LineCheck(); let t0 = now(); let r = try await runner.run(Command(seq), batches: { c.batch($0) }); let t = now() - t0; ok(c, r, "ssh batches"); sshBatches = c.batches; return t },
            { let c = LineCheck(); let t0 = now(); let r = try await withSecret.run(Command(seq), batches: { c.batch($0) }); let t = now() - t0; ok(c, r, "ssh batches+secret"); return t },
            { let c = LineCheck(); let t0 = now(); let r = try await runner.run(Command(seq), lines: { c.lines($0) }); let t = now() - t0; ok(c, r, "ssh lines"); return t },
            { spawnToDevNull(["sh", "-c", "\"$@\" | cat", "sh"] + raw + seq) },
        ])
        await runner.shutdown()
        await withSecret.shutdown()
        let stcpu = cpu
        print("(over ssh the runner received \(sshBatches) reads: \(lines / max(sshBatches, 1)) lines per batch)")
        show("raw ssh host seq > /dev/null, same master (baseline)", st[0], st[0], cpu: stcpu[0])
        show("raw ssh through the spawn path + line split", st[1], st[0], cpu: stcpu[1])
        show("runner over ssh, OutputBatch consumer", st[2], st[0], cpu: stcpu[2])
        show("runner over ssh, OutputBatch, a secret registered", st[3], st[0], cpu: stcpu[3])
        show("runner over ssh, [OutputLine] consumer (String/line)", st[4], st[0], cpu: stcpu[4])
        show("raw ssh host seq | cat > /dev/null (any pipe reader)", st[5], st[0], cpu: stcpu[5])
        result += " ssh_ratio=\(fmt(st[0] / st[2], 3)) ssh_ratio_secret=\(fmt(st[0] / st[3], 3)) ssh_ratio_lines=\(fmt(st[0] / st[4], 3)) raw_devnull_s=\(fmt(st[0], 4)) runner_s=\(fmt(st[2], 4)) lost=0"
        print("reproduce the baseline: ssh -M -N -f -o ControlPath=SOCK -p \(dest.port ?? 22) \(dest.user ?? "root")@\(dest.host); hyperfine -N 'ssh -o ControlMaster=no -o ControlPath=SOCK -p \(dest.port ?? 22) \(dest.user ?? "root")@\(dest.host) seq 1 \(lines)' (output to /dev/null)")
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
    if which == "tui" || which == "all" { try await benchTUI() }
    if which == "state" || which == "all" { try benchState() }
    if which == "startup" || which == "all" { try benchStartup() }
    if which == "step" || which == "all" {
        guard let dest else { FileHandle.standardError.write(Data("djdeploy-bench: step needs the sshd fixture\n".utf8)); exit(2) }
        try await benchStep(dest)
    }
    if which == "deploy" || which == "all" { benchDeploy() }
} catch {
    FileHandle.standardError.write(Data("djdeploy-bench: \(error)\n".utf8))
    exit(1)
}
