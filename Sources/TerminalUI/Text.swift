/// Wrapping and truncation by display width.
///
/// Latin text breaks at spaces; a word longer than the width is broken anywhere. Wide (CJK)
/// characters allow a break before and after each of them, so CJK text without spaces wraps
/// anywhere. Explicit newlines always break.
public enum TextWrap {
    /// Wraps a plain string into rows of at most `width` columns.
    public static func wrap(_ text: String, width: Int) -> [String] {
        wrap(Line(text), width: width).map(\.text)
    }

    /// Wraps a styled line into rows of at most `width` columns (styles preserved).
    public static func wrap(_ line: Line, width: Int) -> [Line] {
        var glyphs: [(ch: Character, w: Int, style: Style)] = []
        var out: [Line] = []
        for span in line.spans {
            for ch in span.text {
                if ch == "\n" || ch == "\r\n" {
                    out += wrapGlyphs(glyphs, width: width)
                    glyphs.removeAll(keepingCapacity: true)
                    continue
                }
                let w = ch == "\t" ? 1 : DisplayWidth.of(ch)
                glyphs.append((ch == "\t" ? " " : ch, w, span.style))
            }
        }
        out += wrapGlyphs(glyphs, width: width)
        return out
    }

    private static func wrapGlyphs(_ g: [(ch: Character, w: Int, style: Style)], width: Int) -> [Line] {
        if g.isEmpty || width <= 0 { return [Line([])] }
        var rows: [Range<Int>] = []
        var start = 0
        while start < g.count {
            // Skip leading spaces on continuation rows.
            if !rows.isEmpty { while start < g.count && g[start].ch == " " { start += 1 } }
            if start >= g.count { break }
            var used = 0
            var i = start
            var lastBreak = -1          // index where the next row may start
            var lastBreakEnd = -1       // end of this row if we break at lastBreak
            while i < g.count {
                let c = g[i]
                if c.ch == " " { lastBreak = i + 1; lastBreakEnd = i }
                else if c.w == 2 && i > start && !closing(c.ch) { lastBreak = i; lastBreakEnd = i }
                if used + c.w > width { break }
                used += c.w
                if c.w == 2 && !(i + 1 < g.count && closing(g[i + 1].ch)) { lastBreak = i + 1; lastBreakEnd = i + 1 }
                i += 1
            }
            if i >= g.count { rows.append(start..<g.count); break }
            if g[i].ch == " " {
                rows.append(start..<i); start = i + 1
            } else if lastBreak > start {
                var end = lastBreakEnd
                while end > start && g[end - 1].ch == " " { end -= 1 }
                rows.append(start..<end); start = lastBreak
            } else {
                let end = max(i, start + 1)   // always make progress
                rows.append(start..<end); start = end
            }
        }
        return rows.map { r in
            var spans: [Span] = []
            for k in r {
                let (ch, _, st) = g[k]
                if let last = spans.last, last.style == st { spans[spans.count - 1].text.append(ch) }
                else { spans.append(Span(String(ch), style: st)) }
            }
            // Trim trailing spaces.
            while var last = spans.last, last.text.last == " " {
                last.text.removeLast()
                if last.text.isEmpty { spans.removeLast() } else { spans[spans.count - 1] = last }
            }
            return Line(spans)
        }
    }

    /// CJK punctuation that must not start a row (it stays with the character before it).
    static func closing(_ c: Character) -> Bool { "，。、；：！？）」』】》〉".contains(c) }

    /// Cuts `text` to at most `width` columns, ending with `ellipsis` when it was cut.
    public static func truncate(_ text: String, width: Int, ellipsis: String = "…") -> String {
        if DisplayWidth.of(text) <= width { return text }
        let ew = DisplayWidth.of(ellipsis)
        if width <= ew { return prefix(ellipsis, width: width) }
        return prefix(text, width: width - ew) + ellipsis
    }

    /// The longest prefix of `text` that fits in `width` columns.
    public static func prefix(_ text: String, width: Int) -> String {
        var out = ""
        var used = 0
        for ch in text {
            let w = DisplayWidth.of(ch)
            if used + w > width { break }
            out.append(ch); used += w
        }
        return out
    }

    /// `text` padded with spaces (or truncated) to exactly `width` columns.
    public static func pad(_ text: String, width: Int, ellipsis: String = "…") -> String {
        let t = truncate(text, width: width, ellipsis: ellipsis)
        return t + String(repeating: " ", count: max(0, width - DisplayWidth.of(t)))
    }
}
