import Foundation
import StepRunner
import Testing
@testable import WizardCore

/// An in-memory target: a file map and a few commands (`sh -c printf $HOME`, `mkdir -p`,
/// `test -e`, the demo's `sh -c 'sleep N && touch "$1"'`, `true`, `false`).
final class FakeRunner: CommandRunning, @unchecked Sendable {
    let target: Target = .local
    private let lock = NSLock()
    private var _files: [String: Data] = [:]
    private var _commands: [[String]] = []
    var files: [String: Data] { lock.withLock { _files } }
    var commands: [[String]] { lock.withLock { _commands } }
    /// Seconds per `sleep` second (speed up the demo).
    let sleepScale: Double
    init(sleepScale: Double = 0.01) { self.sleepScale = sleepScale }

    func setFile(_ path: String, _ data: Data?) { lock.withLock { _files[path] = data } }

    func run(_ command: Command, onOutput: (@Sendable (OutputLine) -> Void)?) async throws -> CommandResult {
        lock.withLock { _commands.append(command.argv) }
        let start = Date()
        func result(_ code: Int32, _ out: String = "") -> CommandResult {
            let lines = out.isEmpty ? [] : [OutputLine(stream: .stdout, text: out, time: 0)]
            for l in lines { onOutput?(l) }
            return CommandResult(termination: .exited(code), tail: lines, lineCount: lines.count, startedAt: start, endedAt: Date())
        }
        let a = command.argv
        switch a.first {
        case "true": return result(0)
        case "false": return result(1)
        case "mkdir": return result(0)
        case "test" where a.count == 3: return result(files[a[2]] != nil ? 0 : 1)
        case "sh" where a.count >= 3 && a[2].contains("HOME"): return result(0, "/home/fake")
        case "sh" where a.count == 5 && a[2].hasPrefix("sleep "):
            let secs = Double(a[2].split(separator: " ")[1]) ?? 0
            do { try await Task.sleep(for: .seconds(secs * sleepScale)) } catch {
                return CommandResult(termination: .cancelled, tail: [], lineCount: 0, startedAt: start, endedAt: Date())
            }
            setFile(a[4], Data())
            return result(0)
        default: return result(127, "fake: unknown command \(a)")
        }
    }
    func readFile(_ path: String, asRoot: Bool) async throws -> Data? { files[path] }
    func sha256(of path: String, asRoot: Bool) async throws -> String? { files[path].map { SHA256.hex($0) } }
    func writeFile(_ path: String, contents: Data, mode: Int, owner: String?, group: String?, asRoot: Bool) async throws -> WriteResult {
        let old = files[path]
        setFile(path, contents)
        return WriteResult(changed: old != contents, backupPath: old.map { _ in path + ".bak-1" }, sha256: SHA256.hex(contents))
    }
    func restore(backup: String, to path: String, asRoot: Bool) async throws {}
    func setSudoPassword(_ password: String?) {}
    func addSecret(_ value: String) {}
    func shutdown() async {}
}

/// A fresh private temp directory.
func makeTempDir() -> String {
    var template = Array((NSTemporaryDirectory() + "/wizardcore-XXXXXX").utf8CString)
    let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    return String(cString: p!)
}

/// The built `djdeploy-testhelper`: `$DJDEPLOY_TESTHELPER`, next to the test bundle, or in a
/// `.build*/…/debug` directory of the package (the newest one).
func testHelperPath() throws -> String {
    let fm = FileManager.default
    if let p = ProcessInfo.processInfo.environment["DJDEPLOY_TESTHELPER"], fm.isExecutableFile(atPath: p) { return p }
    var candidates: [String] = []
    let argv0 = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var dir = argv0.deletingLastPathComponent()
    for _ in 0 ..< 4 {
        candidates.append(dir.appendingPathComponent("djdeploy-testhelper").path)
        dir = dir.deletingLastPathComponent()
    }
    candidates.append(Bundle.main.bundleURL.appendingPathComponent("djdeploy-testhelper").path)
    candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("djdeploy-testhelper").path)
    for c in candidates where fm.isExecutableFile(atPath: c) { return c }
    // #filePath-relative: <package>/Tests/WizardCoreTests/Support.swift
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var found: [(String, Date)] = []
    for build in (try? fm.contentsOfDirectory(atPath: root.path)) ?? [] where build.hasPrefix(".build") {
        let base = root.appendingPathComponent(build).path
        var dirs = [base + "/debug", base + "/release"]
        for sub in (try? fm.contentsOfDirectory(atPath: base)) ?? [] {
            dirs += [base + "/" + sub + "/debug", base + "/" + sub + "/release"]
        }
        for d in dirs {
            let p = d + "/djdeploy-testhelper"
            if fm.isExecutableFile(atPath: p), let m = (try? fm.attributesOfItem(atPath: p))?[.modificationDate] as? Date {
                found.append((p, m))
            }
        }
    }
    if let best = found.max(by: { $0.1 < $1.1 }) { return best.0 }
    throw HelperMissing()
}

struct HelperMissing: Error, CustomStringConvertible {
    var description: String { "djdeploy-testhelper not found; build it first (swift build --build-tests)" }
}

/// A running helper process whose stdout we read line by line.
final class HelperProcess: @unchecked Sendable {
    let process = Process()
    let out = Pipe()
    init(_ args: [String]) throws {
        process.executableURL = URL(fileURLWithPath: try testHelperPath())
        process.arguments = args
        process.standardOutput = out
        process.standardError = FileHandle.standardError
        try process.run()
    }
    var pid: Int32 { process.processIdentifier }
    /// Blocks until a full line arrives (or EOF).
    func readLine() -> String? {
        var buf = Data()
        while true {
            let d = out.fileHandleForReading.readData(ofLength: 1)
            if d.isEmpty { return buf.isEmpty ? nil : String(decoding: buf, as: UTF8.self) }
            if d[d.startIndex] == 0x0A { return String(decoding: buf, as: UTF8.self) }
            buf.append(d)
        }
    }
    func kill9() {
        kill(pid, SIGKILL)
        process.waitUntilExit()
    }
}

let t0 = Timestamp(millisecondsSince1970: 1_750_000_000_000)
func t(_ seconds: Int) -> Timestamp { Timestamp(millisecondsSince1970: t0.millisecondsSince1970 + Int64(seconds) * 1000) }

/// A three-stage deployment definition for reducer tests (closures unused).
func sampleDeployment() -> Deployment {
    func step(_ id: String, reads: [InputKey] = [], on: RunsOn = .server) -> StepDefinition {
        StepDefinition(id: StepID(id), title: "Step \(id)", runsOn: on, reads: reads,
                       check: { _ in .needsChange("x") }, plan: { _ in .empty })
    }
    return Deployment(stages: [
        StageDefinition(id: "a", title: "A", steps: [step("a.1", reads: [.domain], on: .operator), step("a.2")]),
        StageDefinition(id: "b", title: "B", steps: [step("b.1", reads: [.email, .domain]), step("b.2")]),
        StageDefinition(id: "c", title: "C", steps: [step("c.1", reads: [.serverIP])]),
    ])
}

func sampleState() -> WizardState {
    WizardState(deployment: sampleDeployment(), profile: "example.com", target: .local,
                inputs: ["domain": "example.com"], at: t0)
}
