import Foundation
import Testing
@testable import StepRunner

@Suite struct LocalRunnerTests {
    let runner = SystemRunner(target: .local)

    @Test func exitCodesAreResults() async throws {
        let ok = try await runner.run(Command(["true"]))
        #expect(ok.termination == .exited(0))
        let bad = try await runner.run(Command(["sh", "-c", "exit 7"]))
        #expect(bad.termination == .exited(7))
        #expect(!bad.succeeded)
    }

    @Test func commandThatCannotStartThrows() async throws {
        await #expect(throws: RunnerError.self) {
            _ = try await runner.run(Command(["/nonexistent/program-djdeploy"]))
        }
    }

    @Test func streamsBothStreamsInOrderPerStream() async throws {
        let c = LineCollector()
        let r = try await runner.run(Command(["sh", "-c", "for i in 1 2 3; do echo out$i; echo err$i >&2; done"])) { c.add($0) }
        #expect(r.succeeded)
        #expect(c.all.filter { $0.stream == .stdout }.map(\.text) == ["out1", "out2", "out3"])
        #expect(c.all.filter { $0.stream == .stderr }.map(\.text) == ["err1", "err2", "err3"])
        #expect(r.lineCount == 6)
    }

    @Test func stdinAndEnvironmentAndCwd() async throws {
        let dir = tempDir()
        let r = try await runner.run(Command(["sh", "-c", "cat; printf '%s|%s\\n' \"$FOO\" \"$(pwd)\""],
                                             environment: ["FOO": "a b'c"], stdin: Data("hello\n".utf8),
                                             workingDirectory: dir))
        #expect(r.tail.map(\.text) == ["hello", "a b'c|\(URL(fileURLWithPath: dir).resolvingSymlinksInPath().path)"] ||
                r.tail.map(\.text) == ["hello", "a b'c|\(dir)"])
    }

    @Test func lastLineWithoutNewlineIsKept() async throws {
        let r = try await runner.run(Command(["printf", "a\nlast"]))
        #expect(r.tail.map(\.text) == ["a", "last"])
        let e = try await runner.run(Command(["sh", "-c", "printf err >&2"]))
        #expect(e.stderrText == "err")
    }

    @Test func tailIsBounded() async throws {
        let r = try await runner.run(Command(["seq", "1", "5000"]))
        #expect(r.lineCount == 5000)
        #expect(r.tail.count == runner.tailLimit)
        #expect(r.tail.last?.text == "5000")
    }

    @Test func streamSequenceDeliversEveryLineWithBackpressure() async throws {
        let s = runner.stream(Command(["seq", "1", "200000"]), bufferLines: 1000)
        var count = 0
        var last = ""
        for await line in s.lines {
            count += 1
            last = line.text
            if count % 50_000 == 0 { try await Task.sleep(for: .milliseconds(5)) }
        }
        let r = try await s.result()
        #expect(count == 200_000)
        #expect(last == "200000")
        #expect(r.succeeded)
    }

    @Test func timeoutStopsTheWholeTree() async throws {
        let marker = "djdeploy-timeout-\(UInt32.random(in: 0...UInt32.max))"
        let start = Date()
        let r = try await runner.run(Command(["sh", "-c", "sleep 300 & sleep 301; echo \(marker)"],
                                             timeout: .milliseconds(300)))
        #expect(r.termination == .timedOut)
        #expect(Date().timeIntervalSince(start) < 5)
        try await Task.sleep(for: .milliseconds(200))
        let left = try await runner.run(Command(["pgrep", "-f", "sleep 30[01]"]))
        #expect(left.exitCode == 1, "processes left: \(left.stdoutText)")
        _ = marker
    }

    @Test func cancellationStopsTheWholeTree() async throws {
        let task = Task { try await runner.run(Command(["sh", "-c", "sleep 302 & sleep 303"])) }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        let r = try await task.value
        #expect(r.termination == .cancelled)
        try await Task.sleep(for: .milliseconds(200))
        let left = try await runner.run(Command(["pgrep", "-f", "sleep 30[23]"]))
        #expect(left.exitCode == 1)
    }

    @Test func grandchildHoldingThePipeDoesNotHang() async throws {
        let start = Date()
        let r = try await runner.run(Command(["sh", "-c", "(sleep 3 &) ; echo done"]))
        #expect(r.succeeded)
        #expect(Date().timeIntervalSince(start) < 2.5)
    }

    @Test func nulIsRejected() async throws {
        await #expect(throws: RunnerError.nulInArgument(index: 1)) {
            _ = try await runner.run(Command(["echo", "a\u{0}b"]))
        }
    }

    @Test func sha256MatchesCoreutils() async throws {
        for sample in ["", "abc", String(repeating: "x", count: 1000), "中文\n"] {
            let r = try await runner.run(Command(["sha256sum"], stdin: Data(sample.utf8)))
            #expect(SHA256.hex(sample) == String(r.stdoutText.prefix(64)))
        }
    }

    @Test func localFileOperations() async throws {
        let dir = tempDir()
        let path = dir + "/conf.txt"
        #expect(try await runner.sha256(of: path, asRoot: false) == nil)
        #expect(try await runner.readFile(path, asRoot: false) == nil)
        let w1 = try await runner.writeFile(path, contents: Data("one\n".utf8), mode: 0o640, owner: nil, group: nil, asRoot: false)
        #expect(w1.changed && w1.backupPath == nil)
        let same = try await runner.writeFile(path, contents: Data("one\n".utf8), mode: 0o640, owner: nil, group: nil, asRoot: false)
        #expect(!same.changed)
        let w2 = try await runner.writeFile(path, contents: Data("two\n".utf8), mode: 0o600, owner: nil, group: nil, asRoot: false)
        let backup = try #require(w2.backupPath)
        #expect(try await runner.readFile(backup, asRoot: false) == Data("one\n".utf8))
        #expect(try await runner.readFile(path, asRoot: false) == Data("two\n".utf8))
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attrs[.posixPermissions] as? Int) == 0o600)
        try await runner.restore(backup: backup, to: path, asRoot: false)
        #expect(try await runner.readFile(path, asRoot: false) == Data("one\n".utf8))
        // No temp files left in the directory.
        let left = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(left == ["conf.txt"])
    }
}

@Suite struct QuotingTests {
    @Test func quoteRoundTripsThroughLocalShell() async throws {
        let runner = SystemRunner(target: .local)
        for s in HostileStrings.all {
            let script = "printf '%s' " + (try ShellQuote.quote(s))
            let r = try await runner.readRaw(Command(["sh", "-c", script]))
            #expect(r == Data(s.utf8), "round trip failed for \(s.debugDescription)")
        }
    }

    @Test func nulGivesClearError() {
        #expect(throws: RunnerError.nulInArgument(index: 0)) { try ShellQuote.quote("a\u{0}") }
    }
}

extension SystemRunner {
    /// Raw stdout of a command (test helper).
    func readRaw(_ command: Command) async throws -> Data {
        let privileged = command.asRoot ? try await needsSudo() : false
        return try await execute(command, privileged: privileged, onLines: nil, captureStdout: true).stdoutData
    }
}

enum HostileStrings {
    static let all: [String] = [
        "", " ", "  two  spaces ", "'", "''", "\"", "\"\"", "'\"'\"", "\\", "\\\\", "\\'", "a\\nb",
        ";", "; rm -rf /", "&& echo pwned", "|| true", "| cat", "$(id)", "`id`", "${HOME}", "$HOME",
        "$((1+1))", "$'\\x41'", "!", "!!", "!$", "*", "?", "[a-z]*", "~", "~root", "#comment", "a#b",
        "-", "--", "-n", "-e", "--help", "-rf", "\n", "a\nb", "\r\n", "\t", "a\tb", "\u{1B}[31mred",
        "héllo", "中文字符", "😀", "\u{202E}rtl", "\u{00A0}nbsp", "<>", ">/tmp/x", "<(id)", "{a,b}",
        "%s%n", "a=b", "=", "&", "a&b", "(", ")", "{", "}", "'$(id)'", "\"$(id)\"", "\\$(id)",
        String(repeating: "x", count: 5000), String(repeating: "'", count: 100),
    ]
}
