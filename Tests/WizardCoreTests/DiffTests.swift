import Foundation
import PropertyBased
import StepRunner
import Testing
@testable import WizardCore

@Test func identicalContentHasNoDiff() {
    #expect(UnifiedDiff.make(old: "a\nb\n", new: "a\nb\n", oldLabel: "a/x", newLabel: "b/x") == "")
    #expect(UnifiedDiff.make(old: "", new: "", oldLabel: "a/x", newLabel: "b/x") == "")
}

@Test func newFileDiff() {
    #expect(UnifiedDiff.make(old: nil, new: "one\ntwo\n", oldLabel: "a/x", newLabel: "b/x") == """
    --- /dev/null
    +++ b/x
    @@ -0,0 +1,2 @@
    +one
    +two

    """)
}

@Test func singleLineChangeWithContext() {
    let old = (1 ... 10).map { "line \($0)" }.joined(separator: "\n") + "\n"
    let new = old.replacingOccurrences(of: "line 5\n", with: "LINE FIVE\n")
    #expect(UnifiedDiff.make(old: old, new: new, oldLabel: "a/f", newLabel: "b/f") == """
    --- a/f
    +++ b/f
    @@ -2,7 +2,7 @@
     line 2
     line 3
     line 4
    -line 5
    +LINE FIVE
     line 6
     line 7
     line 8

    """)
}

@Test func separateHunksAndOneLineRanges() {
    let old = (1 ... 20).map { "l\($0)" }.joined(separator: "\n") + "\n"
    var lines = (1 ... 20).map { "l\($0)" }
    lines.remove(at: 0)           // delete l1
    lines.append("l21")           // add at end
    let new = lines.joined(separator: "\n") + "\n"
    #expect(UnifiedDiff.make(old: old, new: new, oldLabel: "a/f", newLabel: "b/f") == """
    --- a/f
    +++ b/f
    @@ -1,4 +1,3 @@
    -l1
     l2
     l3
     l4
    @@ -18,3 +17,4 @@
     l18
     l19
     l20
    +l21

    """)
    #expect(UnifiedDiff.make(old: "a\n", new: "b\n", oldLabel: "a/f", newLabel: "b/f") == "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n")
}

@Test func missingFinalNewlineIsShown() {
    #expect(UnifiedDiff.make(old: "a\nb", new: "a\nb\n", oldLabel: "a/f", newLabel: "b/f") == """
    --- a/f
    +++ b/f
    @@ -1,2 +1,2 @@
     a
    -b
    \\ No newline at end of file
    +b

    """)
}

@Test func fileChangeDiffUsesPaths() {
    let c = FileChange(path: "/etc/nginx/sites-available/site", newContent: Data("server {}\n".utf8), currentContent: nil)
    #expect(c.changesContent)
    #expect(c.diff.hasPrefix("--- /dev/null\n+++ b/etc/nginx/sites-available/site\n@@ -0,0 +1 @@\n+server {}\n"))
    let same = FileChange(path: "/x", newContent: Data("a".utf8), currentContent: Data("a".utf8))
    #expect(same.diff == "" && !same.changesContent)
    let plan = StepPlan(actions: [.command(Command(["nginx", "-t"], asRoot: true)), .command(Command(["echo", "it's"])), .file(same), .file(c)])
    #expect(plan.rendered().hasPrefix("# nginx -t\n$ echo 'it'\\''s'\n= /x (unchanged)\n--- /dev/null\n"))
    #expect(!plan.isEmpty)
    #expect(StepPlan(actions: [.file(same)]).isEmpty)
}

/// Applies a unified diff to `old` (test-side patch implementation).
func applyPatch(_ diff: String, to old: String) -> String? {
    let oldLines: [String] = UnifiedDiff.lines(old).map { String($0.text) + ($0.newline ? "\n" : "") }
    var out: [String] = []
    var pos = 0
    var lines = diff.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if lines.last == "" { lines.removeLast() }
    var i = 2
    while i < lines.count {
        let h = lines[i]
        guard h.hasPrefix("@@ -") else { return nil }
        let oldRange = h.dropFirst(4).split(separator: " ")[0]
        let parts = oldRange.split(separator: ",")
        var start = Int(parts[0])!
        let count = parts.count > 1 ? Int(parts[1])! : 1
        if count == 0 { start += 1 }
        while pos < start - 1 { out.append(oldLines[pos]); pos += 1 }
        i += 1
        while i < lines.count, !lines[i].hasPrefix("@@") {
            let l = lines[i]
            let noNL = i + 1 < lines.count && lines[i + 1] == "\\ No newline at end of file"
            let text = String(l.dropFirst()) + (noNL ? "" : "\n")
            switch l.first {
            case " ": guard pos < oldLines.count, oldLines[pos] == text else { return nil }; out.append(text); pos += 1
            case "-": guard pos < oldLines.count, oldLines[pos] == text else { return nil }; pos += 1
            case "+": out.append(text)
            default: return nil
            }
            i += noNL ? 2 : 1
        }
    }
    while pos < oldLines.count { out.append(oldLines[pos]); pos += 1 }
    return out.joined()
}

func lcsLength(_ a: [Substring], _ b: [Substring]) -> Int {
    var dp = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in 0 ..< a.count { for j in 0 ..< b.count {
        dp[i + 1][j + 1] = a[i] == b[j] ? dp[i][j] + 1 : max(dp[i][j + 1], dp[i + 1][j])
    } }
    return dp[a.count][b.count]
}

@Test func randomDiffsApplyAndAreMinimal() async {
    let text = Gen.int(in: 0 ... 4).array(of: 0 ... 25)
    await propertyCheck(count: 300, input: text, text, Gen.bool, Gen.bool) { a, b, nlA, nlB in
        let old = a.map { "x\($0)" }.joined(separator: "\n") + (nlA && !a.isEmpty ? "\n" : "")
        let new = b.map { "x\($0)" }.joined(separator: "\n") + (nlB && !b.isEmpty ? "\n" : "")
        let d = UnifiedDiff.make(old: old, new: new, oldLabel: "a/f", newLabel: "b/f")
        if old == new { #expect(d == ""); return }
        #expect(applyPatch(d, to: old) == new, "diff:\n\(d)")
        // minimal: added + removed == |a| + |b| - 2·LCS (on lines with their newline flag)
        let la: [Substring] = UnifiedDiff.lines(old).map { Substring(String($0.text) + ($0.newline ? "\n" : "")) }
        let lb: [Substring] = UnifiedDiff.lines(new).map { Substring(String($0.text) + ($0.newline ? "\n" : "")) }
        let st = UnifiedDiff.stats(old: old, new: new)
        #expect(st.added + st.removed == la.count + lb.count - 2 * lcsLength(la, lb))
    }
}

@Test func matchesGNUDiffWhenAvailable() throws {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/diff") else { return }
    let dir = makeTempDir()
    let old = "alpha\nbeta\ngamma\ndelta\nepsilon\nzeta\neta\ntheta\niota\nkappa\n"
    let new = "alpha\nBETA\ngamma\ndelta\nepsilon\nzeta\neta\ntheta\niota\nkappa\nlambda\n"
    try old.write(toFile: dir + "/a", atomically: false, encoding: .utf8)
    try new.write(toFile: dir + "/b", atomically: false, encoding: .utf8)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/diff")
    p.arguments = ["-u", "--label", "a/f", "--label", "b/f", dir + "/a", dir + "/b"]
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    #expect(UnifiedDiff.make(old: old, new: new, oldLabel: "a/f", newLabel: "b/f") == out)
}

@Test func largeFilesWithSmallChangesAreFast() {
    let old = (0 ..< 50_000).map { "line \($0)" }.joined(separator: "\n") + "\n"
    let new = old.replacingOccurrences(of: "line 25000\n", with: "changed\n")
    let start = Date()
    let d = UnifiedDiff.make(old: old, new: new, oldLabel: "a/f", newLabel: "b/f")
    #expect(d.contains("-line 25000\n+changed\n"))
    #expect(Date().timeIntervalSince(start) < 5)
}
