import Foundation

/// The result of an atomic file write.
public struct WriteResult: Sendable, Codable, Hashable {
    /// False when the file already had exactly this content, mode and owner (nothing was written).
    public var changed: Bool
    /// The timestamped backup of the previous content, when there was a previous file and it changed.
    public var backupPath: String?
    /// sha256 (hex) of the new content.
    public var sha256: String
    public init(changed: Bool, backupPath: String?, sha256: String) {
        self.changed = changed
        self.backupPath = backupPath
        self.sha256 = sha256
    }
}

/// All process I/O goes through this interface (lazygit's rule). `SystemRunner` is the real one
/// (local or OpenSSH); `ScriptedRunner` is the fake for unit tests.
public protocol CommandRunning: AnyObject, Sendable {
    var target: Target { get }

    /// Runs a command to completion. `onOutput` is called for every line (already redacted), on a
    /// background thread, in order; keep it fast. A non-zero exit is a result; a command that
    /// cannot start throws.
    func run(_ command: Command, onOutput: (@Sendable (OutputLine) -> Void)?) async throws -> CommandResult

    /// Reads a file; nil when it does not exist.
    func readFile(_ path: String, asRoot: Bool) async throws -> Data?
    /// sha256 hex of a file, or nil when absent.
    func sha256(of path: String, asRoot: Bool) async throws -> String?
    /// Writes atomically (temp file in the same directory, then rename) with mode and owner,
    /// first saving a timestamped backup of the previous content. A no-op when content, mode and
    /// owner already match.
    func writeFile(_ path: String, contents: Data, mode: Int, owner: String?, group: String?,
                   asRoot: Bool) async throws -> WriteResult
    /// Puts a backup back in place (atomically).
    func restore(backup: String, to path: String, asRoot: Bool) async throws

    /// Supplies the sudo password for later privileged commands. Held in memory only.
    func setSudoPassword(_ password: String?)
    /// Registers a value to redact everywhere (transcript, output).
    func addSecret(_ value: String)
    /// Stops everything this runner started (running commands, the SSH master).
    func shutdown() async
}

extension CommandRunning {
    public func run(_ command: Command) async throws -> CommandResult {
        try await run(command, onOutput: nil)
    }
}
