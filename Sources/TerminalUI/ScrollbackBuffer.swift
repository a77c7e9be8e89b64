/// Bounded scrollback for live command output: a ring of at most `capacity` lines (each cut to
/// `maxLineLength` characters), O(1) append, follow mode, scrolling and search.
///
/// Lines are addressed by their absolute number (0 = first line ever appended); lines older
/// than `firstLine` have been dropped.
public struct ScrollbackBuffer: Sendable {
    public let capacity: Int
    public let maxLineLength: Int
    private var ring: ContiguousArray<String>
    private var head = 0                 // ring index of the oldest line when full
    /// Lines appended since creation (including dropped ones).
    public private(set) var totalLines = 0
    /// A trailing partial line from `append(text:)`.
    private var pending = ""

    /// When true, the view sticks to the newest lines.
    public var follow = true
    /// Absolute number of the top visible line when not following.
    public private(set) var top = 0

    public init(capacity: Int = 10_000, maxLineLength: Int = 2_000) {
        precondition(capacity > 0)
        self.capacity = capacity; self.maxLineLength = maxLineLength
        ring = []
        ring.reserveCapacity(min(capacity, 4096))
    }

    public var count: Int { ring.count }
    /// Absolute number of the oldest retained line.
    public var firstLine: Int { totalLines - ring.count }

    /// The retained line with absolute number `n` (nil if dropped or not yet appended).
    public func line(_ n: Int) -> String? {
        let i = n - firstLine
        guard i >= 0, i < ring.count else { return nil }
        return ring[(head + i) % ring.count]
    }

    /// Appends one complete line (sanitized: escapes removed, tabs expanded, cut to length).
    public mutating func append(line raw: String) {
        let l = ScrollbackBuffer.sanitize(raw, maxLength: maxLineLength)
        if ring.count < capacity {
            ring.append(l)
        } else {
            ring[head] = l
            head += 1
            if head == capacity { head = 0 }
        }
        totalLines += 1
        if !follow && top < firstLine { top = firstLine }
    }

    /// Appends a chunk of output that may contain several lines and end mid-line.
    public mutating func append(text: String) {
        var rest = Substring(text)
        while let nl = rest.firstIndex(of: "\n") {
            append(line: pending + rest[..<nl])
            pending = ""
            rest = rest[rest.index(after: nl)...]
        }
        pending += rest
        if pending.utf8.count > maxLineLength * 4 { append(line: pending); pending = "" }
    }

    /// Flushes a pending partial line.
    public mutating func flush() { if !pending.isEmpty { append(line: pending); pending = "" } }

    public mutating func clear() {
        ring.removeAll(keepingCapacity: true); head = 0; totalLines = 0; pending = ""; top = 0; follow = true
    }

    // MARK: view

    /// Absolute number of the first visible line for a view of `height` rows.
    public func topLine(height: Int) -> Int {
        let maxTop = max(firstLine, totalLines - height)
        return follow ? maxTop : min(max(top, firstLine), maxTop)
    }

    /// The lines visible in a view of `height` rows.
    public func visibleLines(height: Int) -> [String] {
        let t = topLine(height: height)
        return (t..<min(totalLines, t + height)).compactMap(line)
    }

    /// Scrolls by `delta` rows (negative = up). Reaching the bottom re-enables follow.
    public mutating func scroll(by delta: Int, height: Int) {
        let t = topLine(height: height) + delta
        let maxTop = max(firstLine, totalLines - height)
        top = min(max(t, firstLine), maxTop)
        follow = top >= maxTop
    }
    public mutating func scrollToTop() { top = firstLine; follow = false }
    public mutating func scrollToBottom() { follow = true }

    /// Puts line `n` at the top of the view (search results).
    public mutating func jump(to n: Int, height: Int) {
        let maxTop = max(firstLine, totalLines - height)
        top = min(max(n, firstLine), maxTop)
        follow = top >= maxTop && n >= maxTop
    }

    /// Absolute numbers of retained lines containing `query` (case-insensitive ASCII/Unicode).
    public func search(_ query: String, limit: Int = .max) -> [Int] {
        guard !query.isEmpty else { return [] }
        let q = query.lowercased()
        var out: [Int] = []
        for n in firstLine..<totalLines {
            guard let l = line(n) else { continue }
            if l.lowercased().contains(q) { out.append(n); if out.count >= limit { break } }
        }
        return out
    }

    /// The first match after line `n` (wrapping around), or nil.
    public func nextMatch(_ query: String, after n: Int) -> Int? {
        let all = search(query)
        return all.first(where: { $0 > n }) ?? all.first
    }

    /// Removes ANSI escape sequences and control characters, applies carriage returns (keeps
    /// the text after the last `\r`), expands tabs, cuts to `maxLength` characters.
    public static func sanitize(_ s: String, maxLength: Int) -> String {
        var needs = false
        for b in s.utf8 where b < 0x20 || b == 0x7F { needs = true; break }
        var out: String
        if needs {
            var text = s
            if let r = text.lastIndex(of: "\r"), text.index(after: r) != text.endIndex { text = String(text[text.index(after: r)...]) }
            out = ""
            var scalars = text.unicodeScalars.makeIterator()
            while let c = scalars.next() {
                switch c.value {
                case 0x1B:
                    // CSI: ESC [ params final(0x40-0x7E); OSC: ESC ] ... BEL or ESC \; else skip one.
                    guard let n = scalars.next() else { break }
                    if n == "[" {
                        while let p = scalars.next(), !(0x40...0x7E).contains(p.value) {}
                    } else if n == "]" {
                        while let p = scalars.next(), p.value != 0x07, p.value != 0x1B {}
                    }
                case 0x09:
                    let col = out.unicodeScalars.count
                    out += String(repeating: " ", count: 8 - col % 8)
                case 0..<0x20, 0x7F: continue
                default: out.unicodeScalars.append(c)
                }
            }
        } else {
            out = s
        }
        if out.utf8.count > maxLength && out.count > maxLength { out = String(out.prefix(maxLength)) + "…" }
        return out
    }
}
