import Foundation

/// Runs a program with the same spawning path as the runner but none of its logic (no quoting,
/// no transcript, no master), discarding output. The benchmark's baseline for "raw ssh".
public enum RawProcess {
    @discardableResult
    public static func run(_ argv: [String]) async throws -> (exitCode: Int32, lines: Int) {
        let p = try ChildProcess(argv: argv, environment: nil, workingDirectory: nil, stdin: nil, tailLimit: 0)
        let o = await p.drainAsync(filter: { $0 }, sink: { _ in })
        return (o.exited ? o.code : 128 + o.code, o.lineCount)
    }
}
