/// Something that draws itself into an area of a buffer.
public protocol Widget {
    func render(area: Rect, into buffer: inout Buffer)
}

/// Clears an area (used under modals).
public struct Clear: Widget, Sendable {
    public var style: Style
    public init(style: Style = .plain) { self.style = style }
    public func render(area: Rect, into buffer: inout Buffer) { buffer.fill(area, with: Cell(" ", style: style)) }
}

/// A bordered box with an optional title on the top border.
public struct Block: Widget, Sendable {
    public var title: String?
    public var titleStyle: Style
    public var borderStyle: Style
    public var borders: BorderSet
    public var bordered: Bool

    public init(title: String? = nil, titleStyle: Style = .bold, borderStyle: Style = .plain,
                plain: Bool = false, bordered: Bool = true) {
        self.title = title; self.titleStyle = titleStyle; self.borderStyle = borderStyle
        self.borders = plain ? .ascii : .unicode; self.bordered = bordered
    }

    public init(title: String?, theme: Theme, focused: Bool = false) {
        self.init(title: title, titleStyle: theme.title,
                  borderStyle: focused ? theme.focusedBorder : theme.border, plain: theme.plain)
    }

    /// The area inside the border.
    public func inner(_ area: Rect) -> Rect { bordered ? area.inset(by: 1) : area }

    public func render(area: Rect, into buffer: inout Buffer) {
        guard !area.isEmpty else { return }
        if bordered && area.width >= 2 && area.height >= 2 {
            let b = borders
            let hline = String(repeating: b.horizontal, count: area.width - 2)
            buffer.set(string: b.topLeft + hline + b.topRight, x: area.x, y: area.y, style: borderStyle, maxX: area.right)
            buffer.set(string: b.bottomLeft + hline + b.bottomRight, x: area.x, y: area.bottom - 1, style: borderStyle, maxX: area.right)
            for y in (area.y + 1)..<(area.bottom - 1) {
                buffer.set(string: b.vertical, x: area.x, y: y, style: borderStyle)
                buffer.set(string: b.vertical, x: area.right - 1, y: y, style: borderStyle)
            }
        }
        if let title, !title.isEmpty, area.width > 4 {
            let ell = borders == .ascii ? "..." : "…"
            let t = " " + TextWrap.truncate(title, width: area.width - 4, ellipsis: ell) + " "
            buffer.set(string: t, x: area.x + 1, y: area.y, style: titleStyle, maxX: area.right - 1)
        }
    }
}

/// Wrapped (or clipped) styled text with a vertical scroll offset.
public struct Paragraph: Widget, Sendable {
    public var lines: [Line]
    public var wrap: Bool
    /// Rows scrolled off the top (after wrapping).
    public var scroll: Int
    public var style: Style

    public init(_ lines: [Line], wrap: Bool = true, scroll: Int = 0, style: Style = .plain) {
        self.lines = lines; self.wrap = wrap; self.scroll = scroll; self.style = style
    }
    public init(text: String, wrap: Bool = true, scroll: Int = 0, style: Style = .plain) {
        self.init(text.split(separator: "\n", omittingEmptySubsequences: false).map { Line(String($0)) },
                  wrap: wrap, scroll: scroll, style: style)
    }

    /// Rows after wrapping to `width`.
    public func rows(width: Int) -> [Line] {
        wrap ? lines.flatMap { TextWrap.wrap($0, width: width) } : lines
    }

    public func render(area: Rect, into buffer: inout Buffer) {
        guard !area.isEmpty else { return }
        let rows = rows(width: area.width)
        let start = max(0, min(scroll, rows.count - area.height))
        for (i, row) in rows.dropFirst(start).prefix(area.height).enumerated() {
            buffer.set(line: row, x: area.x, y: area.y + i, maxX: area.right, baseStyle: style)
        }
    }
}

/// An item of a `ListView`.
public struct ListItem: Hashable, Sendable {
    public var line: Line
    public init(_ line: Line) { self.line = line }
    public init(_ text: String, style: Style = .plain) { self.line = Line(text, style: style) }
}

/// Selection and scroll position of a list.
public struct ListState: Hashable, Sendable {
    public var selected: Int?
    public var offset: Int
    public init(selected: Int? = 0, offset: Int = 0) { self.selected = selected; self.offset = offset }

    /// Adjusts `offset` so that the selection is visible in `height` rows.
    public mutating func scrollToSelection(count: Int, height: Int) {
        guard height > 0 else { return }
        offset = max(0, min(offset, max(0, count - height)))
        if let s = selected {
            if s < offset { offset = s }
            if s >= offset + height { offset = s - height + 1 }
        }
    }
    public mutating func select(_ i: Int, count: Int) {
        selected = count == 0 ? nil : max(0, min(count - 1, i))
    }
}

/// A list of single-row items with a highlighted selection that stays in view.
public struct ListView: Widget, Sendable {
    public var items: [ListItem]
    public var state: ListState
    public var highlight: Style
    /// Drawn before the selected item (e.g. "▶ "); other items get the same width of spaces.
    public var marker: String

    public init(_ items: [ListItem], state: ListState = ListState(), highlight: Style = .reverse, marker: String = "") {
        self.items = items; self.state = state; self.highlight = highlight; self.marker = marker
    }

    /// The offset render will use.
    public func effectiveState(height: Int) -> ListState {
        var s = state
        s.scrollToSelection(count: items.count, height: height)
        return s
    }

    public func render(area: Rect, into buffer: inout Buffer) {
        guard !area.isEmpty else { return }
        let st = effectiveState(height: area.height)
        let mw = DisplayWidth.of(marker)
        for row in 0..<area.height {
            let i = st.offset + row
            guard i < items.count else { break }
            let y = area.y + row
            let isSel = st.selected == i
            var x = area.x
            if mw > 0 {
                x = buffer.set(string: isSel ? marker : String(repeating: " ", count: mw), x: x, y: y,
                               style: isSel ? highlight : .plain, maxX: area.right)
            }
            buffer.set(line: items[i].line, x: x, y: y, maxX: area.right)
            if isSel { buffer.setStyle(Rect(x: area.x, y: y, width: area.width, height: 1), highlight) }
        }
    }
}

/// A row of tab titles with the selected one highlighted.
public struct Tabs: Widget, Sendable {
    public var titles: [String]
    public var selected: Int
    public var activeStyle: Style
    public var inactiveStyle: Style
    public var divider: String

    public init(_ titles: [String], selected: Int, activeStyle: Style = .reverse,
                inactiveStyle: Style = .plain, divider: String = "│") {
        self.titles = titles; self.selected = selected
        self.activeStyle = activeStyle; self.inactiveStyle = inactiveStyle; self.divider = divider
    }

    public func render(area: Rect, into buffer: inout Buffer) {
        guard !area.isEmpty else { return }
        var x = area.x
        for (i, t) in titles.enumerated() {
            if i > 0 { x = buffer.set(string: divider, x: x, y: area.y, style: inactiveStyle, maxX: area.right) }
            x = buffer.set(string: " \(t) ", x: x, y: area.y, style: i == selected ? activeStyle : inactiveStyle, maxX: area.right)
        }
    }
}

/// The key bar: "key text" pairs; entries that do not fit are dropped from the end, except
/// the last one (usually `? help`), which is kept when possible.
public struct KeyBar: Widget, Sendable {
    public var entries: [KeyHint]
    public var keyStyle: Style
    public var textStyle: Style

    public init(_ entries: [KeyHint], keyStyle: Style = .reverse, textStyle: Style = .plain) {
        self.entries = entries; self.keyStyle = keyStyle; self.textStyle = textStyle
    }
    public init(_ entries: [KeyHint], theme: Theme) {
        self.init(entries, keyStyle: theme.keyBarKey, textStyle: theme.keyBarText)
    }

    static func entryWidth(_ e: KeyHint) -> Int { DisplayWidth.of(e.key) + 1 + DisplayWidth.of(e.text) + 1 }

    /// The entries that fit in `width` columns.
    public func fitting(width: Int) -> [KeyHint] {
        var chosen: [KeyHint] = []
        var used = 0
        let tail = entries.last
        let tailW = tail.map(KeyBar.entryWidth) ?? 0
        for (i, e) in entries.enumerated() {
            let w = KeyBar.entryWidth(e)
            let isTail = i == entries.count - 1
            let reserve = isTail ? 0 : tailW
            if used + w + reserve <= width + 1 { chosen.append(e); used += w }
            else if !isTail { continue }
        }
        if let tail, chosen.last != tail, used + tailW <= width + 1 { chosen.append(tail) }
        return chosen
    }

    public func render(area: Rect, into buffer: inout Buffer) {
        guard !area.isEmpty else { return }
        var x = area.x
        for e in fitting(width: area.width) {
            x = buffer.set(string: e.key, x: x, y: area.y, style: keyStyle, maxX: area.right)
            x = buffer.set(string: " " + e.text + " ", x: x, y: area.y, style: textStyle, maxX: area.right)
        }
    }
}

/// A one-row bar: left segments separated by a divider, right-aligned text, filled background.
public struct StatusBar: Widget, Sendable {
    public var left: [Span]
    public var right: [Span]
    public var style: Style
    public var divider: String

    public init(left: [Span], right: [Span] = [], style: Style = .reverse, divider: String = " │ ") {
        self.left = left; self.right = right; self.style = style; self.divider = divider
    }

    public func render(area: Rect, into buffer: inout Buffer) {
        guard !area.isEmpty else { return }
        buffer.fill(area.row(0), with: Cell(" ", style: style))
        let rightW = right.reduce(0) { $0 + $1.width }
        let rightX = max(area.x, area.right - rightW - 1)
        let ell = divider.unicodeScalars.allSatisfy(\.isASCII) ? "..." : "…"
        var x = area.x + 1
        for (i, seg) in left.enumerated() {
            if i > 0 { x = buffer.set(string: divider, x: x, y: area.y, style: style, maxX: rightX - 1) }
            let room = rightX - 1 - x
            guard room > 0 else { break }
            let t = TextWrap.truncate(seg.text, width: room, ellipsis: ell)
            x = buffer.set(string: t, x: x, y: area.y, style: style.patched(seg.style), maxX: rightX - 1)
        }
        var rx = rightX
        for seg in right { rx = buffer.set(string: seg.text, x: rx, y: area.y, style: style.patched(seg.style), maxX: area.right) }
    }
}

/// A single-line text input model (used by forms and the password modal).
public struct TextInput: Hashable, Sendable {
    public enum Event: Hashable, Sendable { case edited, moved, submit, cancel, ignored }
    public var value: String
    /// Cursor position in grapheme clusters.
    public var cursor: Int
    public var secret: Bool

    public init(_ value: String = "", secret: Bool = false) {
        self.value = value; self.cursor = value.count; self.secret = secret
    }

    public mutating func handle(_ key: Key) -> Event {
        switch key {
        case .char(let c):
            let i = value.index(value.startIndex, offsetBy: cursor)
            value.insert(c, at: i); cursor += 1; return .edited
        case .backspace, .ctrl("h"):
            guard cursor > 0 else { return .ignored }
            let i = value.index(value.startIndex, offsetBy: cursor - 1)
            value.remove(at: i); cursor -= 1; return .edited
        case .delete:
            guard cursor < value.count else { return .ignored }
            value.remove(at: value.index(value.startIndex, offsetBy: cursor)); return .edited
        case .ctrl("u"): value = ""; cursor = 0; return .edited
        case .left: cursor = max(0, cursor - 1); return .moved
        case .right: cursor = min(value.count, cursor + 1); return .moved
        case .home, .ctrl("a"): cursor = 0; return .moved
        case .end, .ctrl("e"): cursor = value.count; return .moved
        case .enter: return .submit
        case .escape: return .cancel
        default: return .ignored
        }
    }

    /// Wipes the value (for secrets, after use).
    public mutating func clear() { value = ""; cursor = 0 }

    /// What is drawn: the value, or nothing at all for a secret (no echo, not even a mask).
    public var displayText: String { secret ? "" : value }
}

/// A centered box for confirmations, messages and the no-echo password prompt.
public struct Modal: Widget, Sendable {
    public var title: String
    public var message: [Line]
    /// Buttons / key hints shown on the last row, e.g. [y yes] [n no].
    public var hints: [KeyHint]
    /// When set, an input row is shown (a secret input shows no characters).
    public var input: TextInput?
    public var inputLabel: String
    public var theme: Theme
    public var width: Int

    public init(title: String, message: [Line], hints: [KeyHint] = [], input: TextInput? = nil,
                inputLabel: String = "", theme: Theme = Theme(), width: Int = 60) {
        self.title = title; self.message = message; self.hints = hints; self.input = input
        self.inputLabel = inputLabel; self.theme = theme; self.width = width
    }

    /// The box for a given screen area.
    public func box(in area: Rect) -> Rect {
        let w = min(width, area.width - 2)
        let textRows = message.flatMap { TextWrap.wrap($0, width: max(1, w - 4)) }.count
        let h = textRows + (input == nil ? 0 : 2) + (hints.isEmpty ? 0 : 2) + 2
        return area.centered(width: w, height: min(h, area.height))
    }

    public func render(area: Rect, into buffer: inout Buffer) {
        let box = box(in: area)
        guard box.width >= 6, box.height >= 3 else { return }
        Clear().render(area: box, into: &buffer)
        let block = Block(title: title, theme: theme, focused: true)
        block.render(area: box, into: &buffer)
        let inner = block.inner(box).inset(horizontal: 1, vertical: 0)
        var y = inner.y
        for row in message.flatMap({ TextWrap.wrap($0, width: inner.width) }) where y < inner.bottom {
            buffer.set(line: row, x: inner.x, y: y, maxX: inner.right); y += 1
        }
        if let input, y + 1 < inner.bottom + 1 {
            y += 1
            var x = buffer.set(string: inputLabel, x: inner.x, y: y, style: .bold, maxX: inner.right)
            if !inputLabel.isEmpty { x += 1 }
            let field = Rect(x: x, y: y, width: inner.right - x, height: 1)
            buffer.fill(field, with: Cell(" ", style: theme.selected.adding(.underline)))
            let shown = input.secret ? "" : TextWrap.prefix(String(input.value.suffix(max(0, field.width - 1))), width: field.width - 1)
            buffer.set(string: shown, x: field.x, y: y, style: theme.selected.adding(.underline), maxX: field.right)
            if input.secret {
                let hint = theme.plain ? "(hidden)" : "(hidden)"
                buffer.set(string: hint, x: max(field.x, field.right - hint.count - 1), y: y,
                           style: theme.selected.adding([.underline, .dim]), maxX: field.right)
            }
            y += 1
        }
        if !hints.isEmpty {
            KeyBar(hints, theme: theme).render(area: Rect(x: inner.x, y: inner.bottom - 1, width: inner.width, height: 1), into: &buffer)
        }
    }
}
