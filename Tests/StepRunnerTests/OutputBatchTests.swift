import Foundation
import Testing
@testable import StepRunner

/// The byte-level output path: line splitting across reads, CR, the 64 KiB cut, the tail, and
/// the redaction fast path (a batch is only left undecoded when no secret can be in it).
@Suite struct OutputBatchTests {
    /// Splits `chunks` as consecutive reads of one stream.
    func split(_ chunks: [String]) -> [String] {
        var s = LineSplitter(stream: .stdout)
        var out: [OutputBatch] = []
        for (i, c) in chunks.enumerated() {
            var bytes = Array(c.utf8)
            bytes.withUnsafeMutableBufferPointer { s.split(UnsafeBufferPointer($0), time: 0, final: false, into: &out) }
            if i == chunks.count - 1 {
                s.split(UnsafeBufferPointer(start: nil, count: 0), time: 0, final: true, into: &out)
            }
        }
        return out.flatMap { b in b.map(\.text) }
    }

    @Test func linesSplitAcrossReadsAndCRs() {
        #expect(split(["a\nb", "c\r\nd\n", "\n", "e"]) == ["a", "bc", "d", "", "e"])
        #expect(split(["no newline at all"]) == ["no newline at all"])
        #expect(split(["x\n"]) == ["x"])
        // Every position of the newline within an 8-byte word, and a vertical tab after one.
        let text = (0..<40).map { String(repeating: "\u{0B}", count: $0 % 9) }.joined(separator: "\n") + "\n"
        #expect(split([text]) == (0..<40).map { String(repeating: "\u{0B}", count: $0 % 9) })
    }

    @Test func veryLongLineIsCutAt64KiB() {
        let long = String(repeating: "z", count: 70_000)
        let lines = split([long + "\nafter\n"])
        #expect(lines.map(\.count) == [70_000, 5])
        let pieces = split([String(repeating: "y", count: 40_000), String(repeating: "y", count: 40_000), "\n"])
        #expect(pieces.map(\.count) == [80_000, 0] || pieces.map(\.count) == [65_536, 14_464])
    }

    @Test func tailKeepsTheLastLinesAcrossBatches() {
        var t = TailKeeper(limit: 3)
        for k in 0..<5 {
            var bytes = Array("\(k)a\n\(k)b\n".utf8)
            var s = LineSplitter(stream: .stdout)
            var out: [OutputBatch] = []
            bytes.withUnsafeMutableBufferPointer { s.split(UnsafeBufferPointer($0), time: 0, final: true, into: &out) }
            out.forEach { t.add($0) }
        }
        #expect(t.lines.map(\.text) == ["3b", "4a", "4b"])
    }

    @Test func redactionFastPathOnlyWhenNoSecretCanBeThere() {
        func batch(_ s: String) -> OutputBatch {
            var sp = LineSplitter(stream: .stdout)
            var out: [OutputBatch] = []
            var bytes = Array(s.utf8)
            bytes.withUnsafeMutableBufferPointer { sp.split(UnsafeBufferPointer($0), time: 0, final: true, into: &out) }
            return out[0]
        }
        #expect(!batch("1\n2\n3\n").mayContainAny(["secret"]))
        #expect(!batch("1\n2\n3\n").mayContainAny([]))
        #expect(batch("a\nmy secret here\n").mayContainAny(["secret"]))
        #expect(batch("secret").mayContainAny(["other", "secret"]))
        // Non-ASCII output or secret: never skipped (string matching, not bytes, decides).
        #expect(batch("caf\u{E9}\n").mayContainAny(["x"]))
        #expect(batch("abc\n").mayContainAny(["\u{212A}"]))
    }

    @Test func secretsAreRedactedInBatchesAndTail() async throws {
        let runner = SystemRunner(target: .local)
        let secret = "S3CRET-" + UUID().uuidString
        runner.addSecret(secret)
        final class Box: @unchecked Sendable { let l = NSLock(); var t: [String] = []
            func add(_ b: OutputBatch) { l.withLock { t += b.map(\.text) } } }
        let box = Box()
        let r = try await runner.run(Command(["sh", "-c", "seq 1 20000; echo x\(secret)y; echo \(secret) >&2; seq 1 5"]),
                                     batches: { box.add($0) })
        #expect(r.succeeded)
        #expect(r.lineCount == 20_007)
        #expect(box.t.count == 20_007)
        #expect(box.t.contains("x[REDACTED]y"))
        #expect(!box.t.contains { $0.contains(secret) })
        #expect(!r.tail.contains { $0.text.contains(secret) })
        #expect(r.tail.contains { $0.text == "x[REDACTED]y" })
    }

    @Test func perCommandSecretAddedLaterStillRedacted() async throws {
        let runner = SystemRunner(target: .local)
        let secret = "late-" + UUID().uuidString
        let c = LineCollector()
        let r = try await runner.run(Command(["sh", "-c", "echo \(secret)"], secrets: [secret])) { c.add($0) }
        #expect(r.tail.map(\.text) == ["[REDACTED]"])
        #expect(c.all.map(\.text) == ["[REDACTED]"])
    }
}
