import Foundation

/// Where commands run: the operator's machine, or a server reached with the system OpenSSH client.
public enum Target: Sendable, Codable, Hashable, CustomStringConvertible {
    case local
    case ssh(SSHDestination)

    public var description: String {
        switch self {
        case .local: return "local"
        case .ssh(let d): return d.description
        }
    }
}

/// An SSH destination. Everything not given here comes from the user's ~/.ssh/config.
public struct SSHDestination: Sendable, Codable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int?
    public var user: String?
    public var identityFile: String?
    public var knownHostsFile: String?
    /// Extra `-o Key=Value` options.
    public var options: [String]
    /// ProxyJump destination.
    public var jumpHost: String?
    /// `StrictHostKeyChecking=accept-new` instead of `yes`. Never `no`.
    public var acceptNewHostKey: Bool

    public init(host: String, port: Int? = nil, user: String? = nil, identityFile: String? = nil,
                knownHostsFile: String? = nil, options: [String] = [], jumpHost: String? = nil,
                acceptNewHostKey: Bool = false) {
        self.host = host
        self.port = port
        self.user = user
        self.identityFile = identityFile
        self.knownHostsFile = knownHostsFile
        self.options = options
        self.jumpHost = jumpHost
        self.acceptNewHostKey = acceptNewHostKey
    }

    public var description: String {
        var s = ""
        if let user { s += "\(user)@" }
        s += host.contains(":") ? "[\(host)]" : host
        if let port { s += ":\(port)" }
        return s
    }
}

/// A command given as argv. Never a shell string: every argument is quoted by `ShellQuote`.
public struct Command: Sendable, Hashable {
    public var argv: [String]
    /// Environment variables set for the command (quoted by the runner).
    public var environment: [String: String]
    /// Run as root: as is when already root, otherwise through `sudo`.
    public var asRoot: Bool
    /// Bytes written to the command's standard input (after the sudo password, if any).
    public var stdin: Data?
    public var workingDirectory: String?
    public var timeout: Duration?
    /// Values replaced by `[REDACTED]` in the transcript and in output shown to the user.
    public var secrets: [String]
    /// A label (usually the step id) recorded in the transcript.
    public var label: String?

    public init(_ argv: [String], environment: [String: String] = [:], asRoot: Bool = false,
                stdin: Data? = nil, workingDirectory: String? = nil, timeout: Duration? = nil,
                secrets: [String] = [], label: String? = nil) {
        self.argv = argv
        self.environment = environment
        self.asRoot = asRoot
        self.stdin = stdin
        self.workingDirectory = workingDirectory
        self.timeout = timeout
        self.secrets = secrets
        self.label = label
    }
}

public enum OutputStreamKind: String, Sendable, Codable, Hashable {
    case stdout, stderr
}

/// One line of output. `time` is seconds since the command started.
public struct OutputLine: Sendable, Codable, Hashable {
    public var stream: OutputStreamKind
    public var text: String
    public var time: Double
    public init(stream: OutputStreamKind, text: String, time: Double) {
        self.stream = stream
        self.text = text
        self.time = time
    }
}

/// How a command ended. A non-zero exit is a result, not an error.
public enum Termination: Sendable, Codable, Hashable {
    case exited(Int32)
    case signalled(Int32)
    case timedOut
    case cancelled
    /// sudo needs a password and none was given (`sudo -n` refused).
    case sudoPasswordRequired
    /// A sudo password was given and sudo rejected it.
    case sudoPasswordRejected
    /// The SSH connection failed or was cut (ssh exit 255).
    case connectionLost(String)
}

public struct CommandResult: Sendable, Codable, Hashable {
    public var termination: Termination
    /// The last lines of output (bounded), already redacted.
    public var tail: [OutputLine]
    public var lineCount: Int
    public var startedAt: Date
    public var endedAt: Date

    public init(termination: Termination, tail: [OutputLine], lineCount: Int, startedAt: Date, endedAt: Date) {
        self.termination = termination
        self.tail = tail
        self.lineCount = lineCount
        self.startedAt = startedAt
        self.endedAt = endedAt
    }

    public var succeeded: Bool { termination == .exited(0) }
    public var exitCode: Int32? { if case .exited(let c) = termination { return c } else { return nil } }
    public var stdoutText: String { tail.filter { $0.stream == .stdout }.map(\.text).joined(separator: "\n") }
    public var stderrText: String { tail.filter { $0.stream == .stderr }.map(\.text).joined(separator: "\n") }
}

public enum RunnerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The program could not be started (not found, not executable, ...).
    case cannotStart(program: String, reason: String)
    /// An argument contains a NUL byte, which no shell or exec can carry.
    case nulInArgument(index: Int)
    /// The server's host key is not in known_hosts (strict checking).
    case unknownHostKey(host: String, detail: String)
    /// The server's host key changed.
    case hostKeyChanged(host: String, detail: String)
    case authenticationFailed(host: String, detail: String)
    case connectionFailed(host: String, detail: String)
    case fileOperation(path: String, detail: String)

    public var description: String {
        switch self {
        case .cannotStart(let p, let r): return "cannot start \(p): \(r)"
        case .nulInArgument(let i): return "argument \(i) contains a NUL byte, which cannot be passed to a command"
        case .unknownHostKey(let h, let d):
            return "the host key of \(h) is not known (strict host key checking). Check the key fingerprint with the server's administrator, then add it with `ssh-keyscan` to your known_hosts, or run again with --accept-new-host-key to trust it on first use. (\(d))"
        case .hostKeyChanged(let h, let d):
            return "the host key of \(h) has CHANGED; this may be an attack. Refusing to connect. (\(d))"
        case .authenticationFailed(let h, let d):
            return "could not log in to \(h) with a key (BatchMode: no password prompts). Check the user and identity file, or ssh-add your key. (\(d))"
        case .connectionFailed(let h, let d): return "could not connect to \(h): \(d)"
        case .fileOperation(let p, let d): return "file operation on \(p) failed: \(d)"
        }
    }
}
