import Foundation
import Testing
@testable import WizardTUI

/// docs/tui.md's key table is generated from `WizardKeys.keymap`: this test fails when they
/// drift; `DJ_RECORD_SNAPSHOTS=1` rewrites the section between the markers.
@Test func docsKeyTableIsGeneratedFromTheKeymap() throws {
    let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("docs/tui.md")
    let begin = "<!-- keys:begin (generated from WizardKeys.keymap by DocsTests) -->\n"
    let end = "<!-- keys:end -->"
    let text = try String(contentsOf: docs, encoding: .utf8)
    guard let b = text.range(of: begin), let e = text.range(of: end, range: b.upperBound..<text.endIndex) else {
        Issue.record("docs/tui.md lacks the key table markers")
        return
    }
    let table = WizardKeys.markdownTable()
    if ProcessInfo.processInfo.environment["DJ_RECORD_SNAPSHOTS"] == "1" {
        try (text[..<b.upperBound] + table + text[e.lowerBound...]).write(to: docs, atomically: false, encoding: .utf8)
        return
    }
    #expect(String(text[b.upperBound..<e.lowerBound]) == table)
}
