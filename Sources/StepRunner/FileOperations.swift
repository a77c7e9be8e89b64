import Foundation

/// File operations on any target, as small POSIX `sh` scripts run through the same command path
/// (so they work identically locally and over SSH, with or without sudo).
extension SystemRunner {
    static let absentExit: Int32 = 44

    private func fileCommand(_ script: String, _ args: [String], asRoot: Bool, stdin: Data? = nil,
                             label: String) -> Command {
        Command(["sh", "-c", script, "djdeploy"] + args, asRoot: asRoot, stdin: stdin, label: label)
    }

    private func runChecked(_ command: Command, path: String, captureStdout: Bool = false,
                            allow: Set<Int32> = [0]) async throws -> Executed {
        let privileged = command.asRoot ? try await needsSudo() : false
        let r = try await execute(command, privileged: privileged, onLines: nil, captureStdout: captureStdout)
        guard let code = r.result.exitCode, allow.contains(code) else {
            let why: String
            switch r.result.termination {
            case .sudoPasswordRequired: why = "sudo needs a password"
            case .sudoPasswordRejected: why = "sudo rejected the password"
            default: why = r.result.stderrText.isEmpty ? Self.describe(r.result.termination) : r.result.stderrText
            }
            throw RunnerError.fileOperation(path: path, detail: why)
        }
        return r
    }

    public func readFile(_ path: String, asRoot: Bool) async throws -> Data? {
        let script = "if [ -e \"$1\" ]; then exec cat -- \"$1\"; else exit \(Self.absentExit); fi"
        let r = try await runChecked(fileCommand(script, [path], asRoot: asRoot, label: "djdeploy:read"),
                                     path: path, captureStdout: true, allow: [0, Self.absentExit])
        return r.result.exitCode == Self.absentExit ? nil : r.stdoutData
    }

    public func sha256(of path: String, asRoot: Bool) async throws -> String? {
        try await stat(path, asRoot: asRoot)?.sha256
    }

    /// Content hash, mode (octal text) and owner:group of a file, or nil when it is absent.
    public struct FileFacts: Sendable, Hashable {
        public var sha256: String
        public var mode: String
        public var owner: String
        public var group: String
    }

    public func stat(_ path: String, asRoot: Bool) async throws -> FileFacts? {
        let script = """
        if [ -e "$1" ]; then h=$(sha256sum < "$1") || exit 1; \
        printf '%s %s %s\\n' "${h%% *}" "$(stat -L -c %a -- "$1")" "$(stat -L -c %U:%G -- "$1")"; \
        else exit \(Self.absentExit); fi
        """
        let r = try await runChecked(fileCommand(script, [path], asRoot: asRoot, label: "djdeploy:stat"),
                                     path: path, allow: [0, Self.absentExit])
        if r.result.exitCode == Self.absentExit { return nil }
        let f = r.result.stdoutText.split(separator: " ").map(String.init)
        guard f.count == 3 else { throw RunnerError.fileOperation(path: path, detail: "unexpected stat output") }
        let og = f[2].split(separator: ":", maxSplits: 1).map(String.init)
        return FileFacts(sha256: f[0], mode: f[1], owner: og.first ?? "", group: og.count > 1 ? og[1] : "")
    }

    public func writeFile(_ path: String, contents: Data, mode: Int, owner: String?, group: String?,
                          asRoot: Bool) async throws -> WriteResult {
        guard path.hasPrefix("/") || path.hasPrefix("~/") else {
            throw RunnerError.fileOperation(path: path, detail: "the path must be absolute")
        }
        for name in [owner, group].compactMap({ $0 }) where name.range(of: "^[a-z_][a-z0-9_-]{0,31}$", options: .regularExpression) == nil {
            throw RunnerError.fileOperation(path: path, detail: "invalid owner or group \(name.debugDescription)")
        }
        let want = SHA256.hex(contents)
        let modeText = String(mode, radix: 8)
        let realPath = try await expandHome(path, asRoot: asRoot)
        // Compare first: a file that already matches is never sent (pyinfra's rule).
        if let facts = try await stat(realPath, asRoot: asRoot), facts.sha256 == want, facts.mode == modeText,
           owner == nil || owner == facts.owner, group == nil || group == facts.group {
            return WriteResult(changed: false, backupPath: nil, sha256: want)
        }
        let script = """
        set -eu
        p=$1; mode=$2; owner=$3; group=$4; want=$5; ts=$6
        if [ "$(id -u)" = 0 ]; then bdir=/var/backups/djdeploy; else bdir=${HOME:-/tmp}/.local/state/djdeploy/backups; fi
        d=$(dirname -- "$p"); b=$(basename -- "$p")
        [ -d "$d" ] || mkdir -p -- "$d"
        # temp files of an earlier write of this file that was killed half-way
        for old in "$d/.$b.djdeploy."??????; do [ -f "$old" ] && rm -f -- "$old"; done
        tmp=$(mktemp -- "$d/.$b.djdeploy.XXXXXX")
        trap 'rm -f -- "$tmp"' EXIT
        cat > "$tmp"
        got=$(sha256sum < "$tmp"); got=${got%% *}
        if [ "$got" != "$want" ]; then echo "upload arrived damaged (sha256 $got, expected $want)" >&2; exit 4; fi
        chmod -- "$mode" "$tmp"
        if [ -n "$owner$group" ]; then chown -- "$owner${group:+:$group}" "$tmp"; fi
        if [ -e "$p" ]; then
          bk="$bdir$p.$ts"
          mkdir -p -m 0700 -- "$bdir"
          mkdir -p -- "$(dirname -- "$bk")"
          cp -p -- "$p" "$bk"
          echo "backup=$bk"
        fi
        sync -- "$tmp" 2>/dev/null || true
        mv -f -- "$tmp" "$p"
        trap - EXIT
        sync -- "$d" 2>/dev/null || true
        """
        let r = try await runChecked(
            fileCommand(script, [realPath, modeText, owner ?? "", group ?? "", want, Self.timestamp()],
                        asRoot: asRoot, stdin: contents, label: "djdeploy:write"),
            path: path)
        let backup = r.result.tail.first { $0.stream == .stdout && $0.text.hasPrefix("backup=") }
            .map { String($0.text.dropFirst("backup=".count)) }
        return WriteResult(changed: true, backupPath: backup, sha256: want)
    }

    public func restore(backup: String, to path: String, asRoot: Bool) async throws {
        let script = """
        set -eu
        bk=$1; p=$2
        [ -e "$bk" ] || { echo "backup $bk does not exist" >&2; exit 1; }
        d=$(dirname -- "$p"); b=$(basename -- "$p")
        tmp=$(mktemp -- "$d/.$b.djdeploy.XXXXXX")
        trap 'rm -f -- "$tmp"' EXIT
        cp -p -- "$bk" "$tmp"
        sync -- "$tmp" 2>/dev/null || true
        mv -f -- "$tmp" "$p"
        trap - EXIT
        """
        let realPath = try await expandHome(path, asRoot: asRoot)
        _ = try await runChecked(fileCommand(script, [backup, realPath], asRoot: asRoot, label: "djdeploy:restore"),
                                 path: path)
    }

    /// `~/x` means the login user's home on the target (even when writing as root).
    private func expandHome(_ path: String, asRoot: Bool) async throws -> String {
        guard path.hasPrefix("~/") else { return path }
        let home = try await homeDirectory()
        return home + path.dropFirst(1)
    }

    public func homeDirectory() async throws -> String {
        if case .local = target { return NSHomeDirectory() }
        let r = try await execute(Command(["sh", "-c", "printf '%s\\n' \"$HOME\""], label: "djdeploy:home"),
                                  privileged: false, onLines: nil)
        let home = r.result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        guard home.hasPrefix("/") else { throw RunnerError.fileOperation(path: "~", detail: "cannot find the home directory") }
        return home
    }

    static func timestamp() -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss.SSS'Z'"
        return f.string(from: Date()) + "-" + String(UInt32.random(in: 0..<0xffff), radix: 16)
    }
}
