import Foundation
import StepRunner
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum StateStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file is not a readable state; it is left untouched.
    case corrupt(path: String, detail: String)
    /// Written by a newer djdeploy; it is left untouched.
    case newerSchema(path: String, found: Int, supported: Int)
    /// Another process holds the lock.
    case locked(path: String, pid: Int32?, since: String?)
    case io(path: String, detail: String)

    public var description: String {
        switch self {
        case .corrupt(let p, let d):
            return "the state file \(p) is corrupt (\(d)). It was left untouched: move it away to start over, or restore \(p).bak."
        case .newerSchema(let p, let f, let s):
            return "the state file \(p) has schema_version \(f), but this djdeploy understands up to \(s). Use a newer djdeploy; the file was left untouched."
        case .locked(let p, let pid, let since):
            let who = pid.map { "pid \($0)" } ?? "another process"
            return "the state file \(p) is in use by \(who)" + (since.map { " since \($0)" } ?? "")
                + " (another djdeploy is working on this profile)"
        case .io(let p, let d): return "cannot access \(p): \(d)"
        }
    }
}

/// A held lock on a state file. Released by `release()` or when the process exits (any way,
/// including SIGKILL: the kernel drops flock locks with the descriptor).
public final class StateLock: @unchecked Sendable {
    private let lock = NSLock()
    private var fd: Int32
    public let path: String

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    public func release() {
        lock.withLock {
            guard fd >= 0 else { return }
            _ = flock(fd, LOCK_UN)
            close(fd)
            fd = -1
        }
    }

    deinit { release() }
}

/// The JSON state file: atomic writes, a `.bak` of the previous version, a lock, migrations.
public struct StateStore: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public var backupPath: String { path + ".bak" }
    public var lockPath: String { path + ".lock" }
    var directory: String { (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent }
    var fileName: String { (path as NSString).lastPathComponent }

    // MARK: default location

    /// `$XDG_STATE_HOME/djdeploy/<profile>.json`, falling back to `~/.local/state/djdeploy/`.
    public static func defaultPath(profile: String,
                                   environment: [String: String] = ProcessInfo.processInfo.environment) throws(ValidationError) -> String {
        let name = try Validate.profileName(profile, field: "profile")
        let base: String
        if let x = environment["XDG_STATE_HOME"], x.hasPrefix("/") {
            base = x
        } else {
            let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
            base = home + "/.local/state"
        }
        return base + "/djdeploy/" + name + ".json"
    }

    // MARK: lock

    /// Takes the lock (`<name>.json.lock`, flock LOCK_EX|LOCK_NB) and writes our pid and start
    /// time into it. Fails at once when another process holds it. Also removes temp files left by
    /// a writer that was killed.
    public func acquireLock(now: Timestamp = .now()) throws -> StateLock {
        try ensureDirectory()
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd < 0 { throw StateStoreError.io(path: lockPath, detail: String(cString: strerror(errno))) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            if e == EWOULDBLOCK || e == EAGAIN {
                var holder = ""
                // the holder may be between flock and writing its pid: give it a moment
                for _ in 0 ..< 20 {
                    holder = readAll(fd: fd)
                    if !holder.isEmpty { break }
                    usleep(5000)
                }
                close(fd)
                let parts = holder.split(separator: " ", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                throw StateStoreError.locked(path: path, pid: parts.first.flatMap { Int32($0) },
                                             since: parts.count > 1 ? parts[1] : nil)
            }
            close(fd)
            throw StateStoreError.io(path: lockPath, detail: String(cString: strerror(e)))
        }
        let info = "\(getpid()) \(now.iso8601)\n"
        _ = ftruncate(fd, 0)
        _ = info.withCString { pwrite(fd, $0, strlen($0), 0) }
        removeLeftoverTempFiles()
        return StateLock(fd: fd, path: lockPath)
    }

    private func readAll(fd: Int32) -> String {
        var buf = [UInt8](repeating: 0, count: 256)
        let n = pread(fd, &buf, buf.count, 0)
        guard n > 0 else { return "" }
        return String(decoding: buf[0 ..< n], as: UTF8.self)
    }

    private var tempPrefix: String { "." + fileName + ".tmp-" }

    private func removeLeftoverTempFiles() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for n in names where n.hasPrefix(tempPrefix) { unlink(directory + "/" + n) }
    }

    // MARK: save

    /// Creates missing directories with mode 0700.
    func ensureDirectory() throws {
        var missing: [String] = []
        var d = directory
        while !d.isEmpty, d != "/", access(d, F_OK) != 0 {
            missing.append(d)
            d = (d as NSString).deletingLastPathComponent
        }
        for dir in missing.reversed() {
            if mkdir(dir, 0o700) != 0 && errno != EEXIST {
                throw StateStoreError.io(path: dir, detail: String(cString: strerror(errno)))
            }
            chmod(dir, 0o700)
        }
    }

    public static func encode(_ state: WizardState) throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try enc.encode(state)
        data.append(0x0A)
        return data
    }

    /// Writes atomically: temp file in the same directory (0600), write, fsync, keep the current
    /// file as `.bak`, rename over, fsync the directory. A crash at any moment leaves either the old
    /// or the new complete file.
    public func save(_ state: WizardState) throws {
        let data = try Self.encode(state)
        try ensureDirectory()
        let tmp = directory + "/" + tempPrefix + String(getpid())
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        if fd < 0 { throw StateStoreError.io(path: tmp, detail: String(cString: strerror(errno))) }
        fchmod(fd, 0o600)
        var ok = data.withUnsafeBytes { raw -> Bool in
            var off = 0
            while off < raw.count {
                let n = write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; return false }
                off += n
            }
            return true
        }
        ok = ok && fsync(fd) == 0
        let werr = errno
        close(fd)
        if !ok {
            unlink(tmp)
            throw StateStoreError.io(path: tmp, detail: String(cString: strerror(werr)))
        }
        // keep the previous version as .bak (a hard link: no copy, atomic rename)
        if access(path, F_OK) == 0 {
            let bakTmp = directory + "/" + tempPrefix + "bak-" + String(getpid())
            unlink(bakTmp)
            if link(path, bakTmp) != 0 {
                if let old = FileManager.default.contents(atPath: path) {
                    _ = FileManager.default.createFile(atPath: bakTmp, contents: old, attributes: [.posixPermissions: 0o600])
                }
            }
            if access(bakTmp, F_OK) == 0 { rename(bakTmp, backupPath) }
        }
        if rename(tmp, path) != 0 {
            let e = errno
            unlink(tmp)
            throw StateStoreError.io(path: path, detail: String(cString: strerror(e)))
        }
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }

    // MARK: load

    /// Reads the state; nil when there is no file. Steps recorded as running become interrupted.
    public func load() throws -> WizardState? {
        guard let data = FileManager.default.contents(atPath: path) else {
            if access(path, F_OK) == 0 { throw StateStoreError.io(path: path, detail: "cannot read") }
            return nil
        }
        var state = try Self.decode(data, path: path)
        state.markRunningAsInterrupted()
        return state
    }

    /// Loads, or creates a fresh state for the deployment; either way reconciled with it.
    public func loadOrCreate(deployment: Deployment, profile: String, target: Target?,
                             inputs: [String: String] = [:]) throws -> WizardState {
        if var s = try load() {
            s.reconcile(with: deployment)
            return s
        }
        return WizardState(deployment: deployment, profile: profile, target: target, inputs: inputs)
    }

    /// Decodes (and migrates) a state file's bytes.
    public static func decode(_ data: Data, path: String = "state") throws -> WizardState {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw StateStoreError.corrupt(path: path, detail: "not valid JSON")
        }
        guard var dict = object as? [String: Any] else {
            throw StateStoreError.corrupt(path: path, detail: "not a JSON object")
        }
        guard let version = dict["schema_version"] as? Int else {
            throw StateStoreError.corrupt(path: path, detail: "no schema_version")
        }
        if version > WizardState.currentSchemaVersion {
            throw StateStoreError.newerSchema(path: path, found: version, supported: WizardState.currentSchemaVersion)
        }
        if version < 1 { throw StateStoreError.corrupt(path: path, detail: "schema_version \(version) is unknown") }
        var json = data
        if version == 1 {
            dict = try Migrations.v1ToV2(dict, path: path)
            json = try JSONSerialization.data(withJSONObject: dict)
        }
        do {
            let state = try JSONDecoder().decode(WizardState.self, from: json)
            return state
        } catch let e as DecodingError {
            throw StateStoreError.corrupt(path: path, detail: describe(e))
        }
    }

    static func describe(_ e: DecodingError) -> String {
        func at(_ c: DecodingError.Context) -> String {
            c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch e {
        case .keyNotFound(let k, let c): return "missing key \(at(c)).\(k.stringValue)"
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            return "bad value at \(at(c)): \(c.debugDescription)"
        @unknown default: return "\(e)"
        }
    }
}

// MARK: - Migrations

/// Schema history.
///
/// v1 (djdeploy 0.1): a flat `steps` list, each step naming its `stage`; statuses `pending`,
/// `running`, `done`, `error`, `skipped`; times `started`/`finished`; `exit_code`; `message`;
/// `files` with `path`/`sha256`/`backup`; `target` as `"local"` or `{host, port, user}`;
/// `created`/`updated`. No output tail, noop reason, phase, or per-step metadata.
///
/// v2 (current): stages with nested steps; see `WizardState`.
public enum Migrations {
    public static func v1ToV2(_ v1: [String: Any], path: String) throws -> [String: Any] {
        func bad(_ d: String) -> StateStoreError { .corrupt(path: path, detail: "v1: \(d)") }
        guard let profile = v1["profile"] as? String else { throw bad("no profile") }
        guard let steps = v1["steps"] as? [[String: Any]] else { throw bad("no steps list") }
        let now = Timestamp.now().iso8601
        var stages: [[String: Any]] = []
        for s in steps {
            guard let id = s["id"] as? String, let stage = s["stage"] as? String else { throw bad("step without id or stage") }
            let status: String
            switch s["state"] as? String ?? "pending" {
            case "done": status = "succeeded"
            case "error": status = "failed"
            case "running": status = "running"
            case "skipped": status = "skipped"
            case "pending": status = "pending"
            case let other: throw bad("unknown step state \(other)")
            }
            var rec: [String: Any] = [
                "id": id, "title": s["title"] as? String ?? id, "runs_on": "server", "needs_root": false,
                "reads": [String](), "status": status, "output": [String](), "attempts": status == "pending" ? 0 : 1,
            ]
            if let t = s["started"] as? String { rec["started_at"] = t }
            if let t = s["finished"] as? String { rec["ended_at"] = t }
            if let c = s["exit_code"] as? Int { rec["exit_status"] = c }
            if let m = s["message"] as? String { rec["error"] = m }
            if status == "failed", rec["error"] == nil { rec["error"] = "failed (migrated from v1)" }
            if status == "succeeded" || status == "failed" {
                if rec["started_at"] == nil { rec["started_at"] = rec["ended_at"] ?? now }
                if rec["ended_at"] == nil { rec["ended_at"] = rec["started_at"] }
            }
            rec["written_files"] = (s["files"] as? [[String: Any]] ?? []).map { f -> [String: Any] in
                var w: [String: Any] = ["path": f["path"] as? String ?? "", "sha256": f["sha256"] as? String ?? ""]
                if let b = f["backup"] as? String { w["backup_path"] = b }
                return w
            }
            if let i = stages.lastIndex(where: { ($0["id"] as? String) == stage }), i == stages.count - 1 {
                var st = stages[i]
                st["steps"] = (st["steps"] as? [[String: Any]] ?? []) + [rec]
                stages[i] = st
            } else {
                stages.append(["id": stage, "title": stage, "steps": [rec]])
            }
        }
        var v2: [String: Any] = [
            "schema_version": 2, "profile": profile, "inputs": v1["inputs"] as? [String: String] ?? [:],
            "stages": stages, "phase": ["idle": [String: Any]()],
            "created_at": v1["created"] as? String ?? now, "updated_at": v1["updated"] as? String ?? now,
        ]
        // a step recorded running needs a matching phase; load() then marks it interrupted
        for st in stages {
            for rec in st["steps"] as? [[String: Any]] ?? [] where rec["status"] as? String == "running" {
                v2["phase"] = ["running": ["_0": ["scope": ["recheck_succeeded": false], "current": rec["id"]!, "mode": "check_then_apply"]]]
            }
        }
        if let t = v1["target"] {
            if let s = t as? String, s == "local" {
                v2["target"] = try encodeTarget(.local)
            } else if let m = t as? [String: Any], let host = m["host"] as? String {
                v2["target"] = try encodeTarget(.ssh(SSHDestination(host: host, port: m["port"] as? Int, user: m["user"] as? String)))
            } else {
                throw bad("unknown target")
            }
        }
        return v2
    }

    private static func encodeTarget(_ t: Target) throws -> Any {
        try JSONSerialization.jsonObject(with: JSONEncoder().encode(t), options: [.fragmentsAllowed])
    }
}
