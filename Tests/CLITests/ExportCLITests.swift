import Foundation
import StepRunner
import Testing

/// `djdeploy export` and `djdeploy log --as-script` from the command line: formats, bad usage,
/// files written (mode, backup).
@Suite struct ExportCLITests {
    func answers(_ dir: String, app: String = "app: sample") throws -> String {
        let path = dir + "/a.yaml"
        try """
        target:
          host: 127.0.0.1
          port: 2222
          user: djdeploy
        domain: example.test
        email: admin@example.test
        \(app)
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func shToStandardOutput() async throws {
        let dir = scratchDir()
        let out = try await CLI.run(["export", "--format", "sh", "--answers", try answers(dir)])
        #expect(out.code == 0, "\(out.all)")
        // (the test runner keeps only the tail of a long output: the whole script is checked
        // through --out below and in ShellExportTests)
        #expect(out.stdout.contains("# --- step verify.report: "))
        #expect(out.stdout.contains("deploy.sh: done, %d change(s)"), "\(out.stdout.suffix(300))")
    }

    @Test func shToAFileKeepsABackupOfTheOldOne() async throws {
        let dir = scratchDir()
        let a = try answers(dir)
        try "old script\n".write(toFile: dir + "/deploy.sh", atomically: true, encoding: .utf8)
        let out = try await CLI.run(["export", "--format", "sh", "--answers", a, "--out", dir + "/deploy.sh"])
        #expect(out.code == 0, "\(out.all)")
        #expect(try String(contentsOfFile: dir + "/deploy.sh.bak", encoding: .utf8) == "old script\n")
        let attrs = try FileManager.default.attributesOfItem(atPath: dir + "/deploy.sh")
        #expect((attrs[.posixPermissions] as? Int) == 0o755)
        #expect(try String(contentsOfFile: dir + "/deploy.sh", encoding: .utf8).hasPrefix("#!/usr/bin/env bash"))
    }

    @Test func badUsageIsExit2WithAReason() async throws {
        let dir = scratchDir()
        let a = try answers(dir)
        let noOut = try await CLI.run(["export", "--format", "ansible", "--answers", a])
        #expect(noOut.code == 2)
        #expect(noOut.stderr.contains("--out"))
        let hosts = try await CLI.run(["export", "--format", "sh", "--answers", a, "--hosts", "h1"])
        #expect(hosts.code == 2)
        let format = try await CLI.run(["export", "--format", "zip", "--answers", a])
        #expect(format.code == 2)
        let own = try await CLI.run(["export", "--format", "sh", "--answers", try answers(dir, app: "app:\n  path: /srv/site")])
        #expect(own.code == 2)
        #expect(own.stderr.contains("sample app"), "\(own.all)")
        let missing = try await CLI.run(["export", "--format", "sh", "--answers", dir + "/nope.yaml"])
        #expect(missing.code == 2)
        let badHost = try await CLI.run(["export", "--format", "ansible", "--answers", a, "--out", dir + "/pb", "--hosts", "a;rm -rf /"])
        #expect(badHost.code == 2)
        #expect(!FileManager.default.fileExists(atPath: dir + "/pb"))
    }
}

/// `log --as-script` after a real (demo) run over the loopback sshd: a bash script of what ran.
@Suite(.serialized, .enabled(if: SSHEnv.available, "loopback sshd fixture not running"))
struct LogAsScriptTests {
    @Test func transcriptAsAScript() async throws {
        let env = try #require(SSHEnv.shared)
        let dir = scratchDir()
        let demoDir = "/tmp/djdeploy-demo-" + String(UUID().uuidString.prefix(8))
        try env.answers().write(toFile: dir + "/a.yaml", atomically: true, encoding: .utf8)
        let common = ["--demo", "--demo-dir", demoDir, "--answers", dir + "/a.yaml", "--state", dir + "/s.json"]
        let run = try await CLI.run(["run"] + common + ["--demo-sleep", "0", "--yes"])
        #expect(run.code == 0, "\(run.all)")
        let log = try await CLI.run(["log", "--as-script"] + common)
        #expect(log.code == 0, "\(log.all)")
        #expect(log.stdout.hasPrefix("#!/usr/bin/env bash\n"))
        #expect(log.stdout.contains("# --- demo.hello-file on "))
        #expect(log.stdout.contains("# --- demo.slow-command on "))
        try log.stdout.write(toFile: dir + "/log.sh", atomically: true, encoding: .utf8)
        let check = try await SystemRunner(target: .local).run(Command(["bash", "-n", dir + "/log.sh"]))
        #expect(check.succeeded, "\(check.stderrText)")
        _ = try? await SystemRunner(target: .local).run(Command(["rm", "-rf", demoDir]))
    }
}
