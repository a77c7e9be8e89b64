import Foundation
import StepRunner
import WizardCore

/// Facts read from the target. Every fact is one small command; nothing here changes the target.
enum Facts {
    /// sha256, mode (octal text), owner and group of a file; nil when absent.
    struct FileFacts: Sendable, Equatable {
        var sha256: String
        var mode: String
        var owner: String
        var group: String
    }

    /// Facts about several paths with one command (as root: the files may be private).
    static func files(_ ctx: StepContext, _ paths: [String]) async throws -> [String: FileFacts] {
        guard !paths.isEmpty else { return [:] }
        let script = """
        for p in "$@"; do
          if [ -f "$p" ]; then h=$(sha256sum < "$p") || exit 1
            printf '%s\\t%s\\t%s\\n' "$p" "${h%% *}" "$(stat -L -c '%a %U %G' -- "$p")"
          fi
        done
        """
        let r = try await ctx.run(Command(["sh", "-c", script, "sh"] + paths, asRoot: true))
        var out: [String: FileFacts] = [:]
        for line in r.stdoutText.split(separator: "\n") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 3 else { continue }
            let s = f[2].split(separator: " ").map(String.init)
            guard s.count == 3 else { continue }
            out[f[0]] = FileFacts(sha256: f[1], mode: s[0], owner: s[1], group: s[2])
        }
        return out
    }

    /// "OWNER GROUP MODE" of a directory, nil when it is not a directory.
    static func directory(_ ctx: StepContext, _ path: String) async throws -> (owner: String, group: String, mode: String)? {
        let r = try await ctx.run(Command(["sh", "-c", "[ -d \"$1\" ] || exit 3; exec stat -c '%U %G %a' -- \"$1\"", "sh", path],
                                          asRoot: true), allowFailure: true)
        guard r.succeeded else { return nil }
        let f = r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ").map(String.init)
        guard f.count == 3 else { return nil }
        return (f[0], f[1], f[2])
    }

    static func exists(_ ctx: StepContext, _ path: String) async throws -> Bool {
        try await ctx.succeeds(["test", "-e", path], asRoot: true)
    }

    static func isExecutable(_ ctx: StepContext, _ path: String) async throws -> Bool {
        try await ctx.succeeds(["test", "-x", path], asRoot: true)
    }

    /// Where a symlink points, nil when `path` is not a symlink.
    static func symlinkTarget(_ ctx: StepContext, _ path: String) async throws -> String? {
        let r = try await ctx.run(Command(["sh", "-c", "[ -L \"$1\" ] || exit 3; exec readlink -- \"$1\"", "sh", path],
                                          asRoot: true), allowFailure: true)
        return r.succeeded ? r.stdoutText.trimmingCharacters(in: .newlines) : nil
    }

    /// The live (not zombie) process whose pid is in `pidFile`, optionally checking that its
    /// command line contains `commandContains`. PID 1 on a container may not reap orphans: a
    /// zombie counts as dead.
    static func livePID(_ ctx: StepContext, pidFile: String, commandContains: String? = nil) async throws -> Int? {
        let r = try await ctx.run(livePIDCommand(pidFile: pidFile, commandContains: commandContains), allowFailure: true)
        guard r.succeeded else { return nil }
        return Int(r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Prints the live pid and exits 0, or exits 3 (no pidfile, no process, a zombie, another command).
    static func livePIDCommand(pidFile: String, commandContains: String? = nil) -> Command {
        let script = """
        p=$(cat -- "$1" 2>/dev/null) || exit 3
        case "$p" in ''|*[!0-9]*) exit 3;; esac
        kill -0 "$p" 2>/dev/null || exit 3
        grep -q '^State:[[:space:]]*Z' "/proc/$p/status" 2>/dev/null && exit 3
        if [ -n "$2" ]; then tr '\\0' ' ' < "/proc/$p/cmdline" | grep -qF -- "$2" || exit 3; fi
        echo "$p"
        """
        return Command(["sh", "-c", script, "sh", pidFile, commandContains ?? ""], asRoot: true)
    }

    /// An HTTP request made with curl on the server. Returns status, lower-cased header names →
    /// values, and the body's sha256 (nil when the connection failed).
    struct HTTPResponse: Sendable {
        var status: Int
        var headers: [String: String]
        var bodySHA256: String
        var body: String
    }

    /// `curlArgs` go before the URL (e.g. `--resolve NAME:443:127.0.0.1`, `--cacert FILE`).
    static func http(_ ctx: StepContext, url: String, host: String?, timeout: Int = 5,
                     curlArgs: [String] = []) async throws -> HTTPResponse? {
        // one request: headers, a separator line, the body's sha256, then the start of the body
        let script = """
        t=$(mktemp) || exit 1; h=$(mktemp) || exit 1; trap 'rm -f "$t" "$h"' EXIT
        curl -sS -D "$h" -o "$t" "$@" || exit $?
        cat "$h"; printf '\\036\\n'; sha256sum < "$t"; head -c 4000 "$t"
        """
        var argv = ["sh", "-c", script, "sh", "-m", String(timeout)]
        if let host { argv += ["-H", "Host: \(host)"] }
        argv += curlArgs
        argv.append(url)
        let r = try await ctx.run(Command(argv, asRoot: false), allowFailure: true)
        guard r.succeeded else { return nil }
        let out = r.stdoutText
        guard let sep = out.range(of: "\u{1E}\n") else { return nil }
        var status = 0
        var headers: [String: String] = [:]
        for raw in out[..<sep.lowerBound].split(separator: "\n") {
            let line = raw.hasSuffix("\r") ? String(raw.dropLast()) : String(raw)
            if line.hasPrefix("HTTP/") {
                status = Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
                headers = [:]
            } else if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        let rest = out[sep.upperBound...]
        let first = rest.prefix { $0 != "\n" }
        let sha = String(first.split(separator: " ").first ?? "")
        let body = String(rest.dropFirst(min(rest.count, first.count + 1)))
        return HTTPResponse(status: status, headers: headers, bodySHA256: sha, body: body)
    }

    /// Whether `/run/systemd/system` exists (systemd is PID 1).
    static func hasSystemd(_ ctx: StepContext) async throws -> Bool {
        try await ctx.succeeds(["test", "-d", "/run/systemd/system"], asRoot: false)
    }
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
