import Foundation
import StepRunner
import Testing
@testable import WizardCore

func mode(_ path: String) -> Int {
    var st = stat()
    stat(path, &st)
    return Int(st.st_mode & 0o777)
}

@Test func saveLoadRoundTripWithBackupAndModes() throws {
    let dir = makeTempDir() + "/state/sub"
    let store = StateStore(path: dir + "/example.com.json")
    var s = sampleState()
    s.target = .ssh(SSHDestination(host: "203.0.113.10", port: 2222, user: "deploy", identityFile: "/k", knownHostsFile: "/kh"))
    _ = reduce(&s, .start(.all, at: t(1)))
    _ = reduce(&s, .stepFinished("a.1", StepReport(outcome: .applied, exitStatus: 0, output: ["line 1", "line 2"],
                                                 writtenFiles: [WrittenFile(path: "/etc/a", sha256: "00", backupPath: nil)]), at: t(2)))
    _ = reduce(&s, .stepFinished("a.2", StepReport(outcome: .noop(reason: "fine")), at: t(3)))
    try store.save(s)
    #expect(mode(store.path) == 0o600)
    #expect(mode(dir) == 0o700)
    #expect(mode((dir as NSString).deletingLastPathComponent) == 0o700)
    #expect(access(store.backupPath, F_OK) != 0, "no .bak before a second save")

    // the state on disk has b.1 running; load turns it into interrupted
    let loaded = try #require(try store.load())
    var expected = s
    expected.markRunningAsInterrupted()
    #expect(loaded == expected)
    #expect(loaded.step("b.1")?.status == .interrupted)

    var s2 = s
    s2.inputs["email"] = "a@example.com"
    try store.save(s2)
    let bak = try StateStore.decode(Data(contentsOf: URL(fileURLWithPath: store.backupPath)))
    #expect(bak == s, "the .bak holds the previous version")
    #expect(try StateStore.decode(Data(contentsOf: URL(fileURLWithPath: store.path))) == s2)

    // the file is readable JSON with the documented keys
    let text = try String(contentsOfFile: store.path, encoding: .utf8)
    #expect(text.contains("\"schema_version\" : 2"))
    #expect(text.contains("\"noop_reason\" : \"fine\""))
    #expect(text.contains("\"started_at\" : \"2025-06-15T"))
    // no temp files left behind
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["example.com.json", "example.com.json.bak"])
}

@Test func missingFileLoadsAsNil() throws {
    let store = StateStore(path: makeTempDir() + "/none.json")
    #expect(try store.load() == nil)
    let s = try store.loadOrCreate(deployment: DemoDeployment.make(), profile: "p", target: .local)
    #expect(s.allSteps.map(\.id) == [DemoDeployment.helloStep, DemoDeployment.slowStep])
}

@Test func corruptFileIsAnErrorAndLeftUntouched() throws {
    let dir = makeTempDir()
    let store = StateStore(path: dir + "/p.json")
    let cases: [(String, String)] = [
        ("{ not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ("{\"profile\": \"x\"}", "no schema_version"),
        ("{\"schema_version\": 2, \"profile\": \"x\"}", "missing key"),
        ("{\"schema_version\": 0}", "unknown"),
        ("", "not valid JSON"),
    ]
    for (content, detail) in cases {
        try Data(content.utf8).write(to: URL(fileURLWithPath: store.path))
        #expect {
            _ = try store.load()
        } throws: { error in
            guard case StateStoreError.corrupt(let p, let d) = error else { return false }
            return p == store.path && d.contains(detail) && "\(error)".contains("left untouched")
        }
        #expect(try String(contentsOfFile: store.path, encoding: .utf8) == content)
    }
    // truncated real state
    let full = try StateStore.encode(sampleState())
    try full.prefix(full.count / 2).write(to: URL(fileURLWithPath: store.path))
    #expect(throws: StateStoreError.self) { try store.load() }
}

@Test func newerSchemaIsRefused() throws {
    let store = StateStore(path: makeTempDir() + "/p.json")
    let content = "{\"schema_version\": 3, \"whatever\": true}"
    try Data(content.utf8).write(to: URL(fileURLWithPath: store.path))
    #expect(throws: StateStoreError.newerSchema(path: store.path, found: 3, supported: 2)) { try store.load() }
    #expect(try String(contentsOfFile: store.path, encoding: .utf8) == content)
    #expect("\(StateStoreError.newerSchema(path: "f", found: 3, supported: 2))".contains("schema_version 3"))
}

/// A v1 file as djdeploy 0.1 wrote it (frozen: do not edit).
let frozenV1 = """
{
  "schema_version": 1,
  "profile": "example.com",
  "target": {"host": "203.0.113.10", "port": 2222, "user": "deploy"},
  "inputs": {"domain": "example.com", "email": "admin@example.com"},
  "created": "2024-03-01T10:00:00.000Z",
  "updated": "2024-03-01T10:05:00.000Z",
  "steps": [
    {"stage": "demo", "id": "demo.hello-file", "title": "Write hello.txt", "state": "done",
     "started": "2024-03-01T10:00:01.000Z", "finished": "2024-03-01T10:00:02.500Z", "exit_code": 0,
     "files": [{"path": "/home/deploy/djdeploy-demo/hello.txt", "sha256": "abc123", "backup": "/home/deploy/djdeploy-demo/hello.txt.bak"}]},
    {"stage": "demo", "id": "demo.slow-command", "title": "Run a slow command", "state": "running",
     "started": "2024-03-01T10:00:03.000Z"},
    {"stage": "later", "id": "later.one", "title": "Later", "state": "error", "message": "it broke",
     "started": "2024-03-01T09:00:00.000Z", "finished": "2024-03-01T09:00:01.000Z", "exit_code": 3}
  ]
}
"""

@Test func migratesFrozenV1() throws {
    let store = StateStore(path: makeTempDir() + "/example.com.json")
    try Data(frozenV1.utf8).write(to: URL(fileURLWithPath: store.path))
    let s = try #require(try store.load())
    #expect(s.schemaVersion == 2)
    #expect(s.profile == "example.com")
    #expect(s.target == .ssh(SSHDestination(host: "203.0.113.10", port: 2222, user: "deploy")))
    #expect(s.inputs == ["domain": "example.com", "email": "admin@example.com"])
    #expect(s.createdAt == Timestamp(iso8601: "2024-03-01T10:00:00.000Z"))
    #expect(s.stages.map(\.id) == ["demo", "later"])
    let hello = try #require(s.step("demo.hello-file"))
    #expect(hello.status == .succeeded)
    #expect(hello.exitStatus == 0)
    #expect(hello.endedAt == Timestamp(iso8601: "2024-03-01T10:00:02.5Z"))
    #expect(hello.writtenFiles == [WrittenFile(path: "/home/deploy/djdeploy-demo/hello.txt", sha256: "abc123",
                                               backupPath: "/home/deploy/djdeploy-demo/hello.txt.bak")])
    #expect(s.step("demo.slow-command")?.status == .interrupted, "running in v1 → interrupted on load")
    #expect(s.step("later.one")?.status == .failed)
    #expect(s.step("later.one")?.error == "it broke")
    #expect(s.phase == .idle)
    #expect(s.invariantViolations() == [])
    // reconciled with the demo deployment, the unknown stage goes and the step metadata is filled in
    var r = s
    r.reconcile(with: DemoDeployment.make())
    #expect(r.stages.map(\.id) == ["demo"])
    #expect(r.step("demo.hello-file")?.status == .succeeded)
    // saved back as v2
    try store.save(r)
    #expect(try String(contentsOfFile: store.path, encoding: .utf8).contains("\"schema_version\" : 2"))
    #expect(try store.load() == r)
}

@Test func defaultPathFollowsXDG() throws {
    #expect(try StateStore.defaultPath(profile: "example.com", environment: ["XDG_STATE_HOME": "/x/state", "HOME": "/h"])
        == "/x/state/djdeploy/example.com.json")
    #expect(try StateStore.defaultPath(profile: "example.com", environment: ["HOME": "/h"]) == "/h/.local/state/djdeploy/example.com.json")
    // a relative XDG_STATE_HOME is ignored (XDG spec)
    #expect(try StateStore.defaultPath(profile: "p", environment: ["XDG_STATE_HOME": "rel", "HOME": "/h"]) == "/h/.local/state/djdeploy/p.json")
    #expect(throws: ValidationError.self) { try StateStore.defaultPath(profile: "../../etc/passwd", environment: [:]) }
}

@Test func lockInProcessFailsAtOnceAndIsReleased() throws {
    let store = StateStore(path: makeTempDir() + "/p.json")
    let lock = try store.acquireLock(now: t(0))
    // flock locks are per open file description: a second open in the same process conflicts too
    let start = Date()
    #expect {
        _ = try store.acquireLock()
    } throws: { error in
        guard case StateStoreError.locked(_, let pid, let since) = error else { return false }
        return pid == getpid() && since == t(0).iso8601
            && "\(error)".contains("is in use by pid \(getpid()) since \(t(0).iso8601)")
    }
    #expect(Date().timeIntervalSince(start) < 1)
    #expect(mode(store.lockPath) == 0o600)
    lock.release()
    let again = try store.acquireLock()
    again.release()
}

@Test func lockHeldByAnotherProcess() throws {
    let store = StateStore(path: makeTempDir() + "/p.json")
    let helper = try HelperProcess(["hold-lock", store.path, "20"])
    defer { helper.kill9() }
    let line = helper.readLine()
    #expect(line == "locked \(helper.pid)")
    let start = Date()
    #expect {
        _ = try store.acquireLock()
    } throws: { error in
        guard case StateStoreError.locked(let path, let pid, let since) = error else { return false }
        return path == store.path && pid == helper.pid && since != nil
            && "\(error)".contains("in use by pid \(helper.pid) since ")
    }
    #expect(Date().timeIntervalSince(start) < 1, "fails at once")
    // SIGKILL releases the lock
    helper.kill9()
    let lock = try store.acquireLock()
    lock.release()
}

@Test func leftoverTempFilesAreRemovedByTheLockHolder() throws {
    let dir = makeTempDir()
    let store = StateStore(path: dir + "/p.json")
    try Data("partial".utf8).write(to: URL(fileURLWithPath: dir + "/.p.json.tmp-99999"))
    let lock = try store.acquireLock()
    defer { lock.release() }
    #expect(!FileManager.default.fileExists(atPath: dir + "/.p.json.tmp-99999"))
}

@Test func timestampsRoundTrip() throws {
    for ms: Int64 in [0, 1, 999, 1_750_000_000_123, -1, -1001, 253_402_300_799_999] {
        let ts = Timestamp(millisecondsSince1970: ms)
        #expect(Timestamp(iso8601: ts.iso8601) == ts, "\(ms) \(ts.iso8601)")
    }
    #expect(Timestamp(millisecondsSince1970: 0).iso8601 == "1970-01-01T00:00:00.000Z")
    #expect(Timestamp(iso8601: "2024-03-01T10:00:00Z") == Timestamp(millisecondsSince1970: 1_709_287_200_000))
    for bad in ["", "2024-03-01", "2024-03-01T10:00:00", "2024-03-01T10:00:00.1234Z", "2024-03-01T10:00:00+01:00", "x024-03-01T10:00:00Z"] {
        #expect(Timestamp(iso8601: bad) == nil, "\(bad)")
    }
}
