/// Renders the lesson markdown subset (docs/lessons.md) into rows of at most `width` columns:
/// `#`/`##` headings, paragraphs (consecutive lines joined), `- ` lists (one level, hanging
/// indent), `inline code`, and fenced code blocks (shown verbatim, indented, cut at the edge
/// instead of wrapped). Wrapping is by display width: a wide (CJK) character is never split
/// across the edge, and CJK text breaks anywhere.
public struct Markdown: Sendable {
    public struct Styles: Sendable, Hashable {
        public var title: Style
        public var heading: Style
        public var code: Style
        public var bullet: Style
        public var text: Style
        public init(title: Style = .bold, heading: Style = .bold, code: Style = .plain, bullet: Style = .plain,
                    text: Style = .plain) {
            self.title = title; self.heading = heading; self.code = code; self.bullet = bullet; self.text = text
        }
        public init(theme: Theme) {
            self.init(title: theme.title.adding(.bold), heading: Style(flags: .bold), code: theme.command,
                      bullet: theme.muted)
        }
    }

    /// One parsed block.
    public enum Block: Sendable, Hashable {
        case heading(level: Int, text: String)
        case paragraph(String)
        case item(String)
        case code([String])
        case blank
    }

    public var source: String
    public var styles: Styles
    public var bullet: String

    public init(_ source: String, styles: Styles = Styles(), plain: Bool = false) {
        self.source = source
        self.styles = styles
        self.bullet = plain ? "- " : "• "
    }

    /// The blocks of the source, in order (blank lines between blocks collapsed into one).
    public static func parse(_ source: String) -> [Block] {
        var out: [Block] = []
        var para: String?
        var item: String?
        var code: [String]?
        func flush() {
            if let p = para { out.append(.paragraph(p)); para = nil }
            if let i = item { out.append(.item(i)); item = nil }
        }
        func blank() { if let last = out.last, last != .blank { out.append(.blank) } }
        for raw in source.split(separator: "\n", omittingEmptySubsequences: false) {
            var l = String(raw)
            if l.hasSuffix("\r") { l.removeLast() }
            if code != nil {
                if l.trimmingLeadingSpaces.hasPrefix("```") { out.append(.code(code!)); code = nil } else { code!.append(l) }
                continue
            }
            if l.trimmingLeadingSpaces.hasPrefix("```") { flush(); code = []; continue }
            let t = l.trimmingLeadingSpaces
            if t.isEmpty { flush(); blank(); continue }
            if l.hasPrefix("#") {
                flush()
                let level = l.prefix(while: { $0 == "#" }).count
                out.append(.heading(level: level, text: String(l.dropFirst(level)).trimmingLeadingSpaces))
                continue
            }
            if l.hasPrefix("- ") || l.hasPrefix("* ") {
                flush()
                item = String(l.dropFirst(2)).trimmingLeadingSpaces
                continue
            }
            if item != nil { item = join(item!, t); continue }
            para = para.map { join($0, t) } ?? t
        }
        if let c = code { out.append(.code(c)) }
        flush()
        while out.last == .blank { out.removeLast() }
        return out
    }

    /// Joins two source lines of one paragraph: a space between them, except between wide
    /// (CJK) characters, which are written without spaces.
    static func join(_ a: String, _ b: String) -> String {
        if let x = a.last, let y = b.first, DisplayWidth.of(x) == 2 && DisplayWidth.of(y) == 2 { return a + b }
        return a + " " + b
    }

    /// `inline code` spans: backticks removed, code in the code style.
    public func inline(_ s: String, base: Style) -> Line {
        var spans: [Span] = []
        let parts = s.split(separator: "`", omittingEmptySubsequences: false)
        // An unpaired backtick is shown as it is.
        let paired = parts.count % 2 == 1
        for (i, part) in parts.enumerated() {
            var text = String(part)
            if !paired && i == parts.count - 1 && i > 0 { text = "`" + text }
            guard !text.isEmpty else { continue }
            let isCode = paired && i % 2 == 1
            spans.append(Span(text, style: isCode ? base.patched(styles.code) : base))
        }
        return Line(spans)
    }

    /// The rows at `width` columns.
    public func lines(width: Int) -> [Line] {
        let width = max(1, width)
        var out: [Line] = []
        for block in Self.parse(source) {
            switch block {
            case .heading(let level, let text):
                let style = level == 1 ? styles.title : styles.heading
                out += TextWrap.wrap(inline(text, base: style), width: width)
            case .paragraph(let text):
                out += TextWrap.wrap(inline(text, base: styles.text), width: width)
            case .item(let text):
                let bw = DisplayWidth.of(bullet)
                let rows = TextWrap.wrap(inline(text, base: styles.text), width: max(1, width - bw))
                for (i, r) in rows.enumerated() {
                    let lead = i == 0 ? Span(bullet, style: styles.bullet) : Span(String(repeating: " ", count: bw))
                    out.append(Line([lead] + r.spans))
                }
            case .code(let rows):
                for r in rows {
                    let text = TextWrap.prefix("  " + r.map { $0 == "\t" ? "    " : String($0) }.joined(), width: width)
                    out.append(Line(text, style: styles.code))
                }
            case .blank:
                out.append(Line([]))
            }
        }
        return out
    }

    /// The section of the source under the first `## ` heading whose text satisfies `match`
    /// (heading included), or nil.
    public static func section(_ source: String, where match: (String) -> Bool) -> String? {
        var out: [Substring] = []
        var inside = false
        var inCode = false
        for l in source.split(separator: "\n", omittingEmptySubsequences: false) {
            if l.hasPrefix("```") { inCode.toggle() }
            if !inCode && l.hasPrefix("## ") {
                if inside { break }
                if match(String(l.dropFirst(3))) { inside = true }
            }
            if inside { out.append(l) }
        }
        return inside ? out.joined(separator: "\n") : nil
    }
}

extension Markdown: Widget {
    public func render(area: Rect, into buffer: inout Buffer) {
        Paragraph(lines(width: area.width), wrap: false).render(area: area, into: &buffer)
    }
}

extension String {
    fileprivate var trimmingLeadingSpaces: String { String(drop(while: { $0 == " " || $0 == "\t" })) }
}
