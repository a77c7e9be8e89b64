import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One record of the transcript: a command as run, already redacted.
public struct TranscriptRecord: Codable, Sendable, Hashable {
    public var target: String
    public var label: String?
    public var argv: [String]
    public var environment: [String: String]
    public var asRoot: Bool
    public var stdinBytes: Int
    public var start: Date
    public var end: Date
    public var termination: String
    public var exitStatus: Int32?
    public var lineCount: Int
    /// The last lines of output (the transcript keeps a bounded tail per command).
    public var output: [OutputLine]

    enum CodingKeys: String, CodingKey {
        case target, label, argv, environment, start, end, termination, output
        case asRoot = "as_root", stdinBytes = "stdin_bytes", exitStatus = "exit_status", lineCount = "line_count"
    }
}

/// An append-only JSON-lines file (mode 0600). Every record is redacted before it is written.
public final class Transcript: @unchecked Sendable {
    public let path: String
    private let lock = NSLock()
    private let fd: Int32
    private let encoder: JSONEncoder

    public init(path: String) throws {
        self.path = path
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) }
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        if fd < 0 { throw RunnerError.fileOperation(path: path, detail: String(cString: strerror(errno))) }
        fchmod(fd, 0o600)
        self.fd = fd
        let enc = JSONEncoder()
        enc.dateEncodingStrategy = .iso8601
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        self.encoder = enc
    }

    deinit { close(fd) }

    public func append(_ record: TranscriptRecord) {
        guard var data = try? encoder.encode(record) else { return }
        data.append(10)
        lock.lock()
        defer { lock.unlock() }
        data.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = write(fd, raw.baseAddress! + off, raw.count - off)
                if n <= 0 { if errno == EINTR { continue }; break }
                off += n
            }
        }
    }

    /// Reads every record of a transcript file (for `djdeploy log`).
    public static func read(path: String) throws -> [TranscriptRecord] {
        let dec = JSONDecoder()
        dec.dateDecodingStrategy = .iso8601
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return data.split(separator: 10).compactMap { try? dec.decode(TranscriptRecord.self, from: Data($0)) }
    }
}
