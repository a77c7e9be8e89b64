import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Lines of one stream, as read from the pipe in one go. The bytes stay as they were read until a
/// consumer asks for a line (`batch[i]` decodes it into an `OutputLine`), so a consumer that
/// counts, forwards or writes the bytes pays no per-line `String`. Already redacted: a batch
/// that may contain a secret is rewritten line by line before anyone sees it.
public struct OutputBatch: RandomAccessCollection, Sendable {
    public let stream: OutputStreamKind
    /// Seconds since the command started, when these bytes were read.
    public let time: Double
    /// Raw bytes of the lines; line i is `bytes[start(i) ..< ends[i]]` (without its newline and
    /// a trailing CR), `start(0) == 0`, `start(i) == ends[i - 1] + 1`.
    private let bytes: [UInt8]
    private let ends: [Int32]
    /// Lines as strings, once rewritten (redaction, the remote pid sentinel removed).
    private let decoded: [OutputLine]?

    init(stream: OutputStreamKind, time: Double, bytes: [UInt8], ends: [Int32]) {
        self.stream = stream
        self.time = time
        self.bytes = bytes
        self.ends = ends
        self.decoded = nil
    }

    init(stream: OutputStreamKind, time: Double, lines: [OutputLine]) {
        self.stream = stream
        self.time = time
        self.bytes = []
        self.ends = []
        self.decoded = lines
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { decoded?.count ?? ends.count }

    public subscript(i: Int) -> OutputLine {
        if let decoded { return decoded[i] }
        return withLineBytes(i) { OutputLine(stream: stream, text: String(decoding: $0, as: UTF8.self), time: time) }
    }

    /// Calls `body` with the UTF-8 bytes of line `i` (no newline, no trailing CR).
    public func withLineBytes<R>(_ i: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        if let decoded {
            var text = decoded[i].text
            return try text.withUTF8(body)
        }
        return try bytes.withUnsafeBufferPointer { p in
            let start = i == 0 ? 0 : Int(ends[i - 1]) + 1
            var end = Int(ends[i])
            if end > start && p[end - 1] == 13 { end -= 1 }
            return try body(UnsafeBufferPointer(rebasing: p[start..<end]))
        }
    }

    /// The text of line `i` (the same as `self[i].text`).
    public func text(_ i: Int) -> String { withLineBytes(i) { String(decoding: $0, as: UTF8.self) } }

    /// Rewrites the lines (decoding each): `body` may change a line or return false to drop it.
    func rewritten(_ body: (inout OutputLine) -> Bool) -> OutputBatch {
        var out: [OutputLine] = []
        out.reserveCapacity(count)
        for var line in self where body(&line) { out.append(line) }
        return OutputBatch(stream: stream, time: time, lines: out)
    }

    /// False only when no line can contain any of `secrets` (the fast path for redaction): the
    /// raw bytes are pure ASCII, every secret is ASCII, and no secret occurs anywhere in them
    /// (for ASCII text a byte search finds every match the string search would). Anything else
    /// (non-ASCII output or secret, lines already decoded) answers true, and the caller redacts
    /// line by line exactly as before.
    func mayContainAny(_ secrets: [String]) -> Bool {
        if decoded != nil { return true }
        var needles: [[UInt8]] = []
        for s in secrets where !s.isEmpty {
            let u = Array(s.utf8)
            if u.contains(where: { $0 >= 0x80 }) { return true }
            needles.append(u)
        }
        if needles.isEmpty { return false }
        return bytes.withUnsafeBufferPointer { p -> Bool in
            guard let base = p.baseAddress, p.count > 0 else { return false }
            if !Self.isASCII(p) { return true }
            for n in needles {
                let hit = n.withUnsafeBufferPointer { q in Self.find(q, in: UnsafeBufferPointer(start: base, count: p.count)) }
                if hit { return true }
            }
            return false
        }
    }

    /// Whether `needle` (not empty) occurs in `hay`: `memchr` for its first byte, then `memcmp`.
    static func find(_ needle: UnsafeBufferPointer<UInt8>, in hay: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let h = hay.baseAddress, let nb = needle.baseAddress, needle.count > 0 else { return false }
        let m = needle.count
        var i = 0
        while i + m <= hay.count, let q = memchr(h + i, Int32(nb[0]), hay.count - m + 1 - i) {
            let at = UnsafeRawPointer(h).distance(to: UnsafeRawPointer(q))
            if memcmp(h + at, nb, m) == 0 { return true }
            i = at + 1
        }
        return false
    }

    static func isASCII(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = p.baseAddress else { return true }
        var i = 0
        let n = p.count
        var acc: UInt64 = 0
        let raw = UnsafeRawPointer(base)
        while i + 8 <= n {
            acc |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < n { acc |= UInt64(p[i]); i += 1 }
        return acc & 0x8080_8080_8080_8080 == 0
    }
}

/// Splits one stream's raw reads into batches of complete lines; keeps the unfinished line.
/// A line longer than 64 KiB is cut there (bounds a single line's memory).
struct LineSplitter {
    static let maxLine = 1 << 16
    let stream: OutputStreamKind
    private var partial: [UInt8] = []

    init(stream: OutputStreamKind) { self.stream = stream }

    /// Appends the offset of every newline in `p` to `ends`. Eight bytes at a time (an exact
    /// per-byte zero test, no carries between bytes): output lines are short, and a `memchr` call
    /// per line costs more than the line.
    static func newlines(_ p: UnsafeBufferPointer<UInt8>, into ends: inout [Int32]) {
        guard let base = p.baseAddress else { return }
        let raw = UnsafeRawPointer(base)
        let n = p.count
        var i = 0
        let lo7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        let nl: UInt64 = 0x0A0A_0A0A_0A0A_0A0A
        while i + 8 <= n {
            let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ nl
            // High bit set exactly in the bytes of w that are zero (the newlines).
            var m = ~(((w & lo7) &+ lo7) | w | lo7)
            while m != 0 {
                ends.append(Int32(i + m.trailingZeroBitCount >> 3))
                m &= m &- 1
            }
            i += 8
        }
        while i < n {
            if base[i] == 10 { ends.append(Int32(i)) }
            i += 1
        }
    }

    /// Appends the batches that `data` completes to `out`. `final`: the stream ended, so an
    /// unfinished line is a line.
    mutating func split(_ data: UnsafeBufferPointer<UInt8>, time: Double, final: Bool, into out: inout [OutputBatch]) {
        let n = data.count
        var lastNL = -1
        if let base = data.baseAddress {
            var i = n - 1
            while i >= 0 && base[i] != 10 { i -= 1 }
            lastNL = i
        }
        if lastNL >= 0, let base = data.baseAddress {
            let head = partial.count
            let total = head + lastNL + 1
            let bytes = [UInt8](unsafeUninitializedCapacity: total) { buf, initialized in
                if head > 0 {
                    partial.withUnsafeBufferPointer { q in
                        _ = UnsafeMutableRawPointer(buf.baseAddress!).initializeMemory(as: UInt8.self, from: q.baseAddress!, count: head)
                    }
                }
                (buf.baseAddress! + head).initialize(from: base, count: lastNL + 1)
                initialized = total
            }
            partial.removeAll(keepingCapacity: true)
            var ends: [Int32] = []
            ends.reserveCapacity(total / 8 + 1)
            bytes.withUnsafeBufferPointer { p in Self.newlines(p, into: &ends) }
            out.append(OutputBatch(stream: stream, time: time, bytes: bytes, ends: ends))
            if lastNL + 1 < n {
                partial.append(contentsOf: UnsafeBufferPointer(start: base + lastNL + 1, count: n - lastNL - 1))
            }
        } else if n > 0 {
            partial.append(contentsOf: data)
        }
        if partial.count >= Self.maxLine || (final && !partial.isEmpty) {
            out.append(OutputBatch(stream: stream, time: time, bytes: partial, ends: [Int32(partial.count)]))
            partial.removeAll(keepingCapacity: true)
        }
    }
}

/// The last `limit` lines, kept as the batches that hold them (no per-line work).
struct TailKeeper {
    let limit: Int
    private var batches: [OutputBatch] = []
    private var total = 0

    init(limit: Int) { self.limit = max(limit, 0) }

    mutating func add(_ b: OutputBatch) {
        guard limit > 0, !b.isEmpty else { return }
        batches.append(b)
        total += b.count
        var drop = 0
        while drop < batches.count - 1 && total - batches[drop].count >= limit {
            total -= batches[drop].count
            drop += 1
        }
        if drop > 0 { batches.removeFirst(drop) }
    }

    var lines: [OutputLine] {
        var out: [OutputLine] = []
        var skip = max(0, total - limit)
        for b in batches {
            if skip >= b.count { skip -= b.count; continue }
            for i in (b.startIndex + skip)..<b.endIndex { out.append(b[i]) }
            skip = 0
        }
        return out
    }
}
