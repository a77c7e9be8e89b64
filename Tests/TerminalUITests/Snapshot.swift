import Foundation
import Testing
import TerminalUI

/// Compares `text` with `__Snapshots__/<name>.txt`; with DJ_RECORD_SNAPSHOTS=1 (or when the
/// file is missing and recording is on) writes it instead.
func assertSnapshot(_ text: String, named name: String, sourceLocation: SourceLocation = #_sourceLocation,
                    filePath: String = #filePath) {
    let dir = URL(fileURLWithPath: filePath).deletingLastPathComponent().appendingPathComponent("__Snapshots__")
    let file = dir.appendingPathComponent(name + ".txt")
    let record = ProcessInfo.processInfo.environment["DJ_RECORD_SNAPSHOTS"] == "1"
    if record {
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try? text.write(to: file, atomically: true, encoding: .utf8)
        return
    }
    guard let expected = try? String(contentsOf: file, encoding: .utf8) else {
        Issue.record("missing snapshot \(name).txt — run with DJ_RECORD_SNAPSHOTS=1 and check it by eye",
                     sourceLocation: sourceLocation)
        return
    }
    if expected != text {
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let a = text.split(separator: "\n", omittingEmptySubsequences: false)
        var firstDiff = 0
        while firstDiff < min(e.count, a.count) && e[firstDiff] == a[firstDiff] { firstDiff += 1 }
        Issue.record("""
            snapshot \(name) differs at line \(firstDiff + 1):
            expected: \(firstDiff < e.count ? String(e[firstDiff]) : "<end>")
            actual:   \(firstDiff < a.count ? String(a[firstDiff]) : "<end>")
            --- actual ---
            \(text)
            """, sourceLocation: sourceLocation)
    }
}
