import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Full deploy on the loopback stack, `djdeploy run` against the tutorial's steps by hand as one
/// shell script over one ssh session (Benchmarks/deploy-bench.sh does the work; see there). It
/// changes this machine, so it runs under `flock /tmp/djd-machine.lock` (the lock the deploy
/// tests take too). Skipped, with the reason, when it cannot run here.
func benchDeploy() {
    let rounds = args.firstIndex(of: "--rounds").flatMap { Int(args[$0 + 1]) } ?? (quick ? 1 : 2)
    let stackEnv = ProcessInfo.processInfo.environment["DJDEPLOY_STACK_ENV"] ?? "/tmp/djdeploy-stack/stack.env"
    let script = FileManager.default.currentDirectoryPath + "/Benchmarks/deploy-bench.sh"
    let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        .appendingPathComponent("djdeploy").path
    func skip(_ why: String) { print("\n== deploy: skipped (\(why))") }
    guard geteuid() == 0 else { return skip("needs root: it deploys to this machine") }
    guard FileManager.default.fileExists(atPath: stackEnv) else {
        return skip("no test stack at \(stackEnv); start Tests/fixtures/stack-up.sh")
    }
    guard FileManager.default.fileExists(atPath: script) else { return skip("run from the repository root: no \(script)") }
    guard FileManager.default.isExecutableFile(atPath: exe) else {
        return skip("no djdeploy binary next to the benchmark at \(exe); swift build -c release --product djdeploy")
    }
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/flock") else { return skip("flock(1) is missing") }
    print("\n== deploy: full deploy on the loopback stack, \(rounds) round(s) (hand script vs djdeploy run; waits for /tmp/djd-machine.lock)")
    fflush(nil)   // our buffered table lines before the script's output
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
    p.arguments = ["/tmp/djd-machine.lock", "bash", script, exe, String(rounds)]
    do { try p.run() } catch { return skip("cannot start flock: \(error)") }
    p.waitUntilExit()
    if p.terminationStatus != 0 {
        // Not a number: the benchmark itself is broken (numbers never fail a build; this does).
        FileHandle.standardError.write(Data("djdeploy-bench: deploy failed (exit \(p.terminationStatus)); see above\n".utf8))
        exit(1)
    }
    print("reproduce: flock /tmp/djd-machine.lock bash Benchmarks/deploy-bench.sh \(exe) \(rounds)")
}
