import Foundation
import Testing
@testable import StepRunner

/// Integration tests against the real loopback sshd (Tests/fixtures/sshd-up.sh).
/// They run serially: several of them count processes and connections on the server.
@Suite(.serialized, .enabled(if: SSHFixture.available, "loopback sshd fixture not running"))
struct SSHRunnerTests {
    func makeRunner(user: String? = nil, transcript: Transcript? = nil) throws -> SystemRunner {
        let f = try SSHFixture.require()
        return SystemRunner(target: .ssh(f.destination(user: user)), transcript: transcript)
    }

    @Test func streamingAndExitCodes() async throws {
        let runner = try makeRunner()
        defer { Task { await runner.shutdown() } }
        let c = LineCollector()
        let r = try await runner.run(Command(["sh", "-c", "echo one; echo two >&2; echo three; exit 3"])) { c.add($0) }
        #expect(r.termination == .exited(3))
        #expect(c.all.filter { $0.stream == .stdout }.map(\.text) == ["one", "three"])
        #expect(c.all.filter { $0.stream == .stderr }.map(\.text) == ["two"])
        let big = try await runner.run(Command(["seq", "1", "100000"]))
        #expect(big.lineCount == 100_000)
        #expect(big.tail.last?.text == "100000")
        await runner.shutdown()
    }

    @Test func hostileStringsRoundTripByteForByte() async throws {
        let runner = try makeRunner()
        #expect(HostileStrings.all.count >= 50)
        for s in HostileStrings.all {
            let out = try await runner.readRaw(Command(["printf", "%s", s]))
            #expect(out == Data(s.utf8), "round trip failed for \(s.debugDescription)")
        }
        // Through the environment as well.
        for s in HostileStrings.all.prefix(30) where !s.isEmpty {
            let out = try await runner.readRaw(Command(["sh", "-c", "printf '%s' \"$V\""], environment: ["V": s]))
            #expect(out == Data(s.utf8), "env round trip failed for \(s.debugDescription)")
        }
        await #expect(throws: RunnerError.nulInArgument(index: 2)) {
            _ = try await runner.run(Command(["printf", "%s", "a\u{0}b"]))
        }
        await runner.shutdown()
    }

    @Test func sudoWithoutPassword() async throws {
        let runner = try makeRunner()
        let r = try await runner.run(Command(["id", "-u"], asRoot: true))
        #expect(r.succeeded)
        #expect(r.stdoutText == "0")
        let me = try await runner.run(Command(["id", "-un"]))
        #expect(me.stdoutText == SSHFixture.shared?.user)
        await runner.shutdown()
    }

    @Test func sudoPasswordPath() async throws {
        let f = try SSHFixture.require()
        let dir = tempDir()
        let transcript = try Transcript(path: dir + "/transcript.jsonl")
        let runner = try makeRunner(user: f.pwUser, transcript: transcript)
        let without = try await runner.run(Command(["id", "-u"], asRoot: true))
        #expect(without.termination == .sudoPasswordRequired)
        runner.setSudoPassword(f.password)
        let with = try await runner.run(Command(["sh", "-c", "id -u; cat"], asRoot: true, stdin: Data("payload\n".utf8)))
        #expect(with.succeeded)
        #expect(with.tail.filter { $0.stream == .stdout }.map(\.text) == ["0", "payload"])
        // A root-owned file through the password path.
        let w = try await runner.writeFile("/tmp/djdeploy-pw-test.txt", contents: Data("x\n".utf8), mode: 0o600,
                                           owner: "root", group: "root", asRoot: true)
        #expect(w.sha256 == SHA256.hex("x\n"))
        runner.setSudoPassword("wrong-password-djdeploy")
        let wrong = try await runner.run(Command(["true"], asRoot: true))
        #expect(wrong.termination == .sudoPasswordRejected)
        await runner.shutdown()
        // The password never reaches the transcript.
        let text = try String(contentsOfFile: transcript.path, encoding: .utf8)
        #expect(!text.contains(f.password))
        #expect(!text.contains("wrong-password-djdeploy"))
        #expect(text.contains("sudo password required"))
    }

    @Test func timeoutAndCancellationLeaveNothingOnTheServer() async throws {
        let runner = try makeRunner()
        let tag = "30\(Int.random(in: 100...999))"
        // Timeout: a remote shell with a `sleep` child.
        let r = try await runner.run(Command(["sh", "-c", "sleep \(tag); echo never"], timeout: .milliseconds(500)))
        #expect(r.termination == .timedOut)
        // Cancellation, as root through sudo.
        let task = Task { try await runner.run(Command(["sh", "-c", "sleep \(tag)1 & sleep \(tag)2; echo never"], asRoot: true)) }
        try await Task.sleep(for: .milliseconds(800))
        task.cancel()
        let c = try await task.value
        #expect(c.termination == .cancelled)
        // Nothing left running on the server.
        let left = try await runner.run(Command(["pgrep", "-af", "slee[p] \(tag)"]))
        #expect(left.exitCode == 1, "left on the server: \(left.stdoutText)")
        await runner.shutdown()
    }

    @Test func fileWriteBackupRestoreOnServer() async throws {
        let runner = try makeRunner()
        let path = "/etc/djdeploy-test-\(UInt32.random(in: 0...UInt32.max)).conf"
        defer { Task { _ = try? await runner.run(Command(["rm", "-f", path], asRoot: true)); await runner.shutdown() } }
        #expect(try await runner.sha256(of: path, asRoot: true) == nil)
        let w1 = try await runner.writeFile(path, contents: Data("v1\n".utf8), mode: 0o644, owner: "root", group: "root", asRoot: true)
        #expect(w1.changed && w1.backupPath == nil)
        #expect(try await runner.sha256(of: path, asRoot: false) == SHA256.hex("v1\n"))
        let again = try await runner.writeFile(path, contents: Data("v1\n".utf8), mode: 0o644, owner: "root", group: "root", asRoot: true)
        #expect(!again.changed)
        let secret = "s3cr3t-" + UUID().uuidString
        let w2 = try await runner.writeFile(path, contents: Data("v2 \(secret)\n".utf8), mode: 0o600, owner: "root", group: "root", asRoot: true)
        let backup = try #require(w2.backupPath)
        #expect(backup.hasPrefix("/var/backups/djdeploy/etc/"))
        #expect(try await runner.readFile(backup, asRoot: true) == Data("v1\n".utf8))
        // 0600 root file: not readable without root.
        await #expect(throws: RunnerError.self) { _ = try await runner.readFile(path, asRoot: false) }
        let facts = try #require(try await runner.stat(path, asRoot: true))
        #expect(facts.mode == "600" && facts.owner == "root")
        try await runner.restore(backup: backup, to: path, asRoot: true)
        #expect(try await runner.readFile(path, asRoot: true) == Data("v1\n".utf8))
        // A file in the login user's home.
        let name = "djdeploy-home-test-\(UInt32.random(in: 0...UInt32.max)).txt"
        let home = try await runner.writeFile("~/" + name, contents: Data("h\n".utf8), mode: 0o600, owner: nil, group: nil, asRoot: false)
        #expect(home.changed)
        let homeDir = try await runner.homeDirectory()
        #expect(try await runner.readFile(homeDir + "/" + name, asRoot: false) == Data("h\n".utf8))
        _ = try await runner.run(Command(["rm", "-f", homeDir + "/" + name]))
    }

    @Test func unknownHostKeyIsRefusedWithAClearError() async throws {
        let f = try SSHFixture.require()
        let runner = SystemRunner(target: .ssh(f.destination(knownHosts: f.knownHostsEmpty)))
        do {
            _ = try await runner.run(Command(["true"]))
            Issue.record("connected to a host with an unknown key")
        } catch let e as RunnerError {
            guard case .unknownHostKey = e else { Issue.record("wrong error: \(e)"); return }
            #expect(e.description.contains("--accept-new-host-key"))
        }
        await runner.shutdown()
        // StrictHostKeyChecking=no can never be smuggled in.
        var d = f.destination()
        d.options = ["StrictHostKeyChecking=no"]
        let r2 = SystemRunner(target: .ssh(d))
        await #expect(throws: RunnerError.self) { _ = try await r2.run(Command(["true"])) }
    }

    @Test func authenticationFailureIsAnErrorNotAPrompt() async throws {
        let f = try SSHFixture.require()
        var d = f.destination(user: "root")
        d.identityFile = f.key
        let runner = SystemRunner(target: .ssh(d))
        do {
            _ = try await runner.run(Command(["true"]))
            Issue.record("logged in as root unexpectedly")
        } catch let e as RunnerError {
            guard case .authenticationFailed = e else { Issue.record("wrong error: \(e)"); return }
        }
    }

    @Test func controlMasterIsReused() async throws {
        // A key of its own, so that sshd's log lines for it are this test's alone (other suites
        // log in to the same sshd in parallel).
        let f = try SSHFixture.require()
        let dir = tempDir()
        let local = SystemRunner(target: .local)
        _ = try await local.run(Command(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "djdeploy-reuse-test", "-f", dir + "/key"]))
        let pub = try String(contentsOfFile: dir + "/key.pub", encoding: .utf8)
        let fp = try await local.run(Command(["ssh-keygen", "-lf", dir + "/key.pub"])).stdoutText
            .split(separator: " ").dropFirst().first.map(String.init) ?? "?"
        let authorized = (f.key as NSString).deletingLastPathComponent + "/authorized_keys." + f.user
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: authorized))
        handle.seekToEndOfFile()
        handle.write(Data(pub.utf8))
        try handle.close()
        var d = f.destination()
        d.identityFile = dir + "/key"
        let runner = SystemRunner(target: .ssh(d))
        for _ in 0..<20 { _ = try await runner.run(Command(["true"])) }
        await runner.shutdown()
        let log = (try? String(contentsOfFile: f.log, encoding: .utf8)) ?? ""
        let logins = log.split(separator: "\n").filter { $0.contains("Accepted publickey") && $0.contains(fp) }.count
        #expect(logins == 1, "20 commands opened \(logins) connections (key \(fp))")
        // The control directory is removed on shutdown.
        #expect(await runner.controlPath() == nil)
    }

    @Test func cutConnectionIsReportedAndReconnects() async throws {
        let runner = try makeRunner()
        _ = try await runner.run(Command(["true"]))
        let task = Task { try await runner.run(Command(["sleep", "30"])) }
        try await Task.sleep(for: .milliseconds(500))
        await runner.killMasterForTesting()
        let start = Date()
        let r = try await task.value
        #expect(Date().timeIntervalSince(start) < 10)
        if case .connectionLost = r.termination {} else { Issue.record("expected connectionLost, got \(r.termination)") }
        // The next command reconnects.
        let again = try await runner.run(Command(["echo", "back"]))
        #expect(again.stdoutText == "back")
        await runner.shutdown()
    }

    @Test func transcriptRedactsSecrets() async throws {
        let dir = tempDir()
        let transcript = try Transcript(path: dir + "/t.jsonl")
        let runner = try makeRunner(transcript: transcript)
        let secret = "SECRET-" + UUID().uuidString
        runner.addSecret(secret)
        let perCommand = "PERCMD-" + UUID().uuidString
        let c = LineCollector()
        _ = try await runner.run(Command(["sh", "-c", "echo key=$K; echo \(secret) >&2"], environment: ["K": perCommand],
                                         secrets: [perCommand], label: "test:step")) { c.add($0) }
        await runner.shutdown()
        let text = try String(contentsOfFile: transcript.path, encoding: .utf8)
        #expect(!text.contains(secret))
        #expect(!text.contains(perCommand))
        #expect(text.contains("[REDACTED]"))
        #expect(c.all.allSatisfy { !$0.text.contains(secret) && !$0.text.contains(perCommand) })
        let attrs = try FileManager.default.attributesOfItem(atPath: transcript.path)
        #expect((attrs[.posixPermissions] as? Int) == 0o600)
        let records = try Transcript.read(path: transcript.path)
        #expect(records.contains { $0.label == "test:step" && $0.exitStatus == 0 })
    }

}
