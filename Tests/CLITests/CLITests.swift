import Foundation
import StepRunner
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct CLIHelpAndInputTests {
    @Test func helpReadsWell() async throws {
        let root = try await CLI.run(["--help"])
        #expect(root.code == 0)
        for word in ["run", "plan", "status", "reset", "log", "Exit codes"] { #expect(root.stdout.contains(word)) }
        for sub in ["run", "plan", "status", "reset", "log", "tui"] {
            let h = try await CLI.run([sub, "--help"])
            #expect(h.code == 0, "\(sub) --help")
            #expect(h.stdout.contains("USAGE: djdeploy \(sub)"))
            #expect(h.stdout.contains("--answers"))
        }
        let run = try await CLI.run(["run", "--help"])
        for opt in ["--yes", "--only", "--until", "--state", "--recheck"] { #expect(run.stdout.contains(opt)) }
    }

    @Test func noTerminalPointsToRun() async throws {
        let out = try await CLI.run([], env: ["TERM": "dumb"])
        #expect(out.code == 2)
        #expect(out.stderr.contains("djdeploy run"))
    }

    @Test func unknownAnswersKeyIsExit2NamingIt() async throws {
        let dir = scratchDir()
        try "target: local\ndomian: example.com\n".write(toFile: dir + "/a.yaml", atomically: true, encoding: .utf8)
        let out = try await CLI.run(["run", "--answers", dir + "/a.yaml", "--state", dir + "/s.json", "--yes"])
        #expect(out.code == 2)
        #expect(out.stderr.contains("domian"))
        #expect(out.stderr.contains("domain"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/s.json"))
    }

    @Test func hostileDomainIsRejectedBeforeAnythingRuns() async throws {
        let dir = scratchDir()
        for bad in ["'; rm -rf /'", "\"$(id)\"", "-oProxyCommand=x", "exa mple.com", "../etc"] {
            try "target: local\ndomain: \(bad)\n".write(toFile: dir + "/a.yaml", atomically: true, encoding: .utf8)
            let out = try await CLI.run(["run", "--demo", "--answers", dir + "/a.yaml", "--state", dir + "/s.json", "--yes"])
            #expect(out.code == 2, "accepted \(bad)")
            #expect(out.stderr.contains("domain"))
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/s.json"))
    }

    @Test func unknownStageIsExit2() async throws {
        let dir = scratchDir()
        try "target: local\ndomain: example.com\n".write(toFile: dir + "/a.yaml", atomically: true, encoding: .utf8)
        let out = try await CLI.run(["run", "--demo", "--answers", dir + "/a.yaml", "--state", dir + "/s.json", "--only", "demmo", "--yes"])
        #expect(out.code == 2)
        #expect(out.stderr.contains("did you mean demo"))
    }

    @Test func corruptStateIsAClearErrorAndNotOverwritten() async throws {
        let dir = scratchDir()
        let state = dir + "/s.json"
        try "{ not json".write(toFile: state, atomically: true, encoding: .utf8)
        try "target: local\ndomain: example.com\n".write(toFile: dir + "/a.yaml", atomically: true, encoding: .utf8)
        let out = try await CLI.run(["run", "--demo", "--answers", dir + "/a.yaml", "--state", state, "--yes"])
        #expect(out.code == 2)
        #expect(out.stderr.contains(state))
        #expect(try String(contentsOfFile: state, encoding: .utf8) == "{ not json")
    }

    @Test func lockedStateExits3WithThePid() async throws {
        let dir = scratchDir()
        let state = dir + "/s.json"
        try "target: local\ndomain: example.com\n".write(toFile: dir + "/a.yaml", atomically: true, encoding: .utf8)
        let holder = SystemRunner(target: .local)
        let task = Task { try await holder.run(Command([CLI.testHelper, "hold-lock", state, "5"])) }
        // Wait for the holder to write its pid into the lock file.
        var pid = ""
        for _ in 0..<100 {
            pid = (try? String(contentsOfFile: state + ".lock", encoding: .utf8)) ?? ""
            if !pid.isEmpty { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let out = try await CLI.run(["run", "--demo", "--answers", dir + "/a.yaml", "--state", state, "--yes"])
        #expect(out.code == 3)
        #expect(out.stderr.contains("in use by"))
        if let first = pid.split(whereSeparator: { !$0.isNumber }).first { #expect(out.stderr.contains(String(first))) }
        task.cancel()
        _ = try? await task.value
    }
}

/// The two-step demo deployment over the loopback sshd: SIGKILL and Ctrl-C mid-step, then resume.
@Suite(.serialized, .enabled(if: SSHEnv.available, "loopback sshd fixture not running"))
struct CLIResumeTests {
    func setup() throws -> (dir: String, answers: String, state: String, demoDir: String) {
        let env = try #require(SSHEnv.shared)
        let dir = scratchDir()
        let demoDir = "/tmp/djdeploy-demo-" + String(UUID().uuidString.prefix(8))
        try env.answers().write(toFile: dir + "/a.yaml", atomically: true, encoding: .utf8)
        return (dir, dir + "/a.yaml", dir + "/s.json", demoDir)
    }

    func remoteSleeping(_ seconds: Int) async throws -> String {
        let r = SystemRunner(target: .local)
        return try await r.run(Command(["pgrep", "-af", "^slee[p] \(seconds)$"])).stdoutText
    }

    @Test func sigkillMidStepThenResume() async throws {
        let (_, answers, state, demoDir) = try setup()
        let args = ["run", "--demo", "--demo-dir", demoDir, "--demo-sleep", "41", "--answers", answers, "--state", state, "--yes"]
        let proc = SystemRunner(target: .local)
        let task = Task { try await proc.run(Command([CLI.binary] + args, environment: ["NO_COLOR": "1"])) }
        // Wait until the slow step is recorded as running, then SIGKILL the wizard.
        var seen = false
        for _ in 0..<200 {
            if stepStatus(state, "demo.slow-command") == "running" { seen = true; break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(seen, "the slow step never started")
        try await Task.sleep(for: .milliseconds(300))
        let pids = try await SystemRunner(target: .local).run(Command(["pgrep", "-f", "djdeploy run --demo --demo-dir \(demoDir) --demo-sleep 41"])).stdoutText
        // The wizard's children include the SSH master's watchdog.
        var children: [String] = []
        for p in pids.split(separator: "\n") {
            children += try await SystemRunner(target: .local).run(Command(["pgrep", "-P", String(p)])).stdoutText
                .split(separator: "\n").map(String.init)
        }
        let masters = children.filter { ((try? String(contentsOfFile: "/proc/\($0)/cmdline", encoding: .utf8)) ?? "").contains("djdeploy-ssh-master") }
        #expect(!masters.isEmpty, "no ssh master found among \(children)")
        for p in pids.split(separator: "\n") { kill(pid_t(p)!, SIGKILL) }
        _ = try? await task.value
        // The state file parses and still says running (the process died mid-step).
        #expect(stepStatus(state, "demo.slow-command") == "running")
        #expect(stepStatus(state, "demo.hello-file") == "succeeded")
        // The SSH master's watchdog noticed the wizard's death and closed the connection.
        func alive(_ pid: String) -> Bool {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
            return !(stat.contains(") Z ") || stat.contains(") X "))
        }
        for _ in 0..<40 where masters.contains(where: alive) { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!masters.contains(where: alive), "ssh master left behind: \(masters)")
        // The killed wizard could not stop its remote command: it is still sleeping on the server.
        #expect(try await remoteSleeping(41).contains("sleep 41"))
        // Resume: what the killed run left on the server is stopped first; the interrupted step
        // is checked, then applied again.
        let out = try await CLI.run(["run", "--demo", "--demo-dir", demoDir, "--demo-sleep", "1", "--answers", answers, "--state", state, "--yes"])
        #expect(out.code == 0, "\(out.all)")
        #expect(out.stdout.contains("left on the target"), "\(out.stdout)")
        #expect(try await remoteSleeping(41).isEmpty, "the killed run's remote sleep is still running")
        #expect(out.stdout.contains("resuming at demo.slow-command"))
        let started = out.stdout.split(separator: "\n").filter { $0.hasPrefix("▶") || $0.hasPrefix("[>]") }
        #expect(!started.contains { $0.contains("demo.hello-file") }, "a succeeded step ran again")
        #expect(started.contains { $0.contains("(2/2) demo.slow-command") }, "no progress on the step line: \(started)")
        #expect(stepStatus(state, "demo.slow-command") == "succeeded")
        // A re-run changes nothing and says why.
        let again = try await CLI.run(["run", "--demo", "--demo-dir", demoDir, "--answers", answers, "--state", state, "--yes", "--recheck"])
        #expect(again.code == 0)
        #expect(again.stdout.components(separatedBy: "ok, no change").count - 1 == 2, "\(again.stdout)")
        let status = try await CLI.run(["status", "--demo", "--demo-dir", demoDir, "--state", state])
        #expect(status.stdout.contains("every step has succeeded"))
    }

    @Test func ctrlCStopsTheRemoteCommandAndExits130() async throws {
        let (_, answers, state, demoDir) = try setup()
        let args = ["run", "--demo", "--demo-dir", demoDir, "--demo-sleep", "43", "--answers", answers, "--state", state, "--yes"]
        let proc = SystemRunner(target: .local)
        let task = Task { try await proc.run(Command([CLI.binary] + args, environment: ["NO_COLOR": "1"])) }
        for _ in 0..<200 {
            if stepStatus(state, "demo.slow-command") == "running" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .milliseconds(700))
        #expect(try await remoteSleeping(43).contains("sleep 43"))
        let pids = try await SystemRunner(target: .local).run(Command(["pgrep", "-f", "djdeploy run --demo --demo-dir \(demoDir) --demo-sleep 43"])).stdoutText
        for p in pids.split(separator: "\n") { kill(pid_t(p)!, SIGINT) }
        let r = try await task.value
        #expect(r.termination == .exited(130), "\(r.termination) \(r.stdoutText) \(r.stderrText)")
        #expect(r.stdoutText.contains("interrupted"))
        #expect(stepStatus(state, "demo.slow-command") == "interrupted")
        #expect(try await remoteSleeping(43).isEmpty, "the remote sleep is still running")
        let out = try await CLI.run(["run", "--demo", "--demo-dir", demoDir, "--demo-sleep", "1", "--answers", answers, "--state", state, "--yes"])
        #expect(out.code == 0, "\(out.all)")
        #expect(stepStatus(state, "demo.slow-command") == "succeeded")
    }
}

/// The assets (templates, lessons) are embedded: a copy of the binary started from another
/// directory, with no source tree or resource bundle next to it, still renders them.
@Suite(.enabled(if: getuid() == 0, "plans against this machine as root"))
struct InstalledBinaryTests {
    @Test func aCopiedBinaryStartedElsewhereRendersTheTemplates() async throws {
        let dir = scratchDir()
        try FileManager.default.createDirectory(atPath: dir + "/bin", withIntermediateDirectories: true)
        // cp, not FileManager: a descriptor of a file being written in this process can leak into
        // a child spawned meanwhile by another test, and exec then fails with ETXTBSY
        let runner = SystemRunner(target: .local)
        #expect(try await runner.run(Command(["cp", CLI.binary, dir + "/bin/djdeploy"])).succeeded)
        let domain = "elsewhere-\(UInt32.random(in: 0...UInt32.max)).test"
        try """
        target: local
        domain: \(domain)
        email: admin@\(domain)
        server_ip: 127.0.0.1
        firewall:
          provider: manual
        """.write(toFile: dir + "/a.yaml", atomically: true, encoding: .utf8)
        let r = try await runner.run(Command([dir + "/bin/djdeploy", "plan", "--answers", dir + "/a.yaml", "--state", dir + "/s.json",
                                              "--only", "nginx", "--plain"], environment: ["NO_COLOR": "1"], workingDirectory: "/"))
        let out = r.stdoutText + r.stderrText
        #expect(out.contains("+++ b/etc/nginx/sites-available/\(domain)"), "\(out.suffix(2000))")
        #expect(out.contains("server_name"), "the site template was not rendered")
        #expect(!FileManager.default.fileExists(atPath: "/etc/nginx/sites-available/\(domain)"), "plan wrote the site file")
    }
}
