import Foundation

/// Line-based unified diffs (the format of `diff -u`), from a longest-common-subsequence edit
/// script: common prefix and suffix are trimmed first, then an LCS table on what is left (so large
/// files with small changes stay cheap).
public enum UnifiedDiff {
    struct Line: Hashable {
        var text: Substring
        var newline: Bool
    }

    enum Op: Equatable {
        case equal(Int, Int)
        case delete(Int)
        case insert(Int)
    }

    static func lines(_ s: String) -> [Line] {
        if s.isEmpty { return [] }
        var parts = s.split(separator: "\n", omittingEmptySubsequences: false)
        let endsWithNewline = parts.last == ""
        if endsWithNewline { parts.removeLast() }
        return parts.enumerated().map { i, t in Line(text: t, newline: i < parts.count - 1 || endsWithNewline) }
    }

    /// The edit script turning `a` into `b`, with a minimal number of inserted + deleted lines
    /// (for the trimmed middle up to `maxCells` table cells; beyond that, the middle is replaced
    /// as a whole).
    static func editScript(_ a: [Line], _ b: [Line], maxCells: Int = 16_000_000) -> [Op] {
        var pre = 0
        while pre < a.count, pre < b.count, a[pre] == b[pre] { pre += 1 }
        var suf = 0
        while suf < a.count - pre, suf < b.count - pre, a[a.count - 1 - suf] == b[b.count - 1 - suf] { suf += 1 }
        let n = a.count - pre - suf, m = b.count - pre - suf
        var ops: [Op] = (0 ..< pre).map { .equal($0, $0) }
        if n > 0, m > 0, (n + 1) * (m + 1) <= maxCells {
            // lcs[i][j] = LCS length of a[pre+i...] and b[pre+j...]
            let w = m + 1
            var lcs = [Int32](repeating: 0, count: (n + 1) * w)
            for i in stride(from: n - 1, through: 0, by: -1) {
                for j in stride(from: m - 1, through: 0, by: -1) {
                    lcs[i * w + j] = a[pre + i] == b[pre + j]
                        ? lcs[(i + 1) * w + j + 1] + 1
                        : max(lcs[(i + 1) * w + j], lcs[i * w + j + 1])
                }
            }
            var i = 0, j = 0
            while i < n || j < m {
                if i < n, j < m, a[pre + i] == b[pre + j] {
                    ops.append(.equal(pre + i, pre + j)); i += 1; j += 1
                } else if i < n, j == m || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1] {
                    ops.append(.delete(pre + i)); i += 1
                } else {
                    ops.append(.insert(pre + j)); j += 1
                }
            }
        } else {
            ops += (0 ..< n).map { .delete(pre + $0) }
            ops += (0 ..< m).map { .insert(pre + $0) }
        }
        ops += (0 ..< suf).map { .equal(a.count - suf + $0, b.count - suf + $0) }
        return ops
    }

    /// A unified diff from `old` to `new`; the empty string when they are equal. `old == nil`
    /// means the file does not exist (shown as `/dev/null`).
    public static func make(old: String?, new: String, oldLabel: String, newLabel: String, context: Int = 3) -> String {
        let a = lines(old ?? ""), b = lines(new)
        if old != nil, a == b { return "" }
        if old == nil, b.isEmpty { return "--- /dev/null\n+++ \(newLabel)\n" }
        let ops = editScript(a, b)
        let changeIdx = ops.indices.filter { if case .equal = ops[$0] { return false } else { return true } }
        var out = "--- \(old == nil ? "/dev/null" : oldLabel)\n+++ \(newLabel)\n"
        guard !changeIdx.isEmpty else { return out }

        // group changes into hunks
        var hunks: [(Int, Int)] = []
        var start = max(0, changeIdx[0] - context), end = min(ops.count - 1, changeIdx[0] + context)
        for c in changeIdx.dropFirst() {
            if c - context <= end + 1 {
                end = min(ops.count - 1, c + context)
            } else {
                hunks.append((start, end))
                start = max(0, c - context)
                end = min(ops.count - 1, c + context)
            }
        }
        hunks.append((start, end))

        for (s, e) in hunks {
            let slice = ops[s ... e]
            // old/new line numbers at the hunk's start
            var aStart = 0, bStart = 0
            for op in ops[..<s] {
                switch op {
                case .equal: aStart += 1; bStart += 1
                case .delete: aStart += 1
                case .insert: bStart += 1
                }
            }
            var aCount = 0, bCount = 0
            var body = ""
            func emit(_ prefix: Character, _ l: Line) {
                body += "\(prefix)\(l.text)\n"
                if !l.newline { body += "\\ No newline at end of file\n" }
            }
            for op in slice {
                switch op {
                case .equal(let i, _): aCount += 1; bCount += 1; emit(" ", a[i])
                case .delete(let i): aCount += 1; emit("-", a[i])
                case .insert(let j): bCount += 1; emit("+", b[j])
                }
            }
            func range(_ start: Int, _ count: Int) -> String {
                switch count {
                case 0: return "\(start),0"
                case 1: return "\(start + 1)"
                default: return "\(start + 1),\(count)"
                }
            }
            out += "@@ -\(range(aStart, aCount)) +\(range(bStart, bCount)) @@\n" + body
        }
        return out
    }

    /// Number of lines added and removed.
    public static func stats(old: String?, new: String) -> (added: Int, removed: Int) {
        let ops = editScript(lines(old ?? ""), lines(new))
        var add = 0, del = 0
        for op in ops {
            switch op {
            case .insert: add += 1
            case .delete: del += 1
            case .equal: break
            }
        }
        return (add, del)
    }
}
