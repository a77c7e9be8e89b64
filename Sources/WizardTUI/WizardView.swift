import TerminalUI
import WizardCore

/// The right pane's tabs.
public enum PaneTab: Int, Sendable, CaseIterable {
    case lesson, plan, output, inputs
    public var title: String { title(Strings(.en)) }
    public func title(_ s: Strings) -> String {
        switch self {
        case .lesson: return s[.tabLesson]
        case .plan: return s[.tabPlan]
        case .output: return s[.tabOutput]
        case .inputs: return s[.tabInputs]
        }
    }
}

/// One step under an expanded stage.
public struct StepRowModel: Sendable, Hashable {
    public var title: String
    public var status: StatusGlyph
    public var elapsed: String?
    public init(_ title: String, _ status: StatusGlyph, elapsed: String? = nil) {
        self.title = title; self.status = status; self.elapsed = elapsed
    }
}

/// One row of the stage list.
public struct StageRowModel: Sendable, Hashable {
    public var name: String
    public var status: StatusGlyph
    public var elapsed: String?
    public var steps: [StepRowModel]
    public var expanded: Bool
    public init(_ name: String, _ status: StatusGlyph, elapsed: String? = nil, steps: [StepRowModel] = [], expanded: Bool = false) {
        self.name = name; self.status = status; self.elapsed = elapsed; self.steps = steps; self.expanded = expanded
    }
}

/// One field of the Inputs form.
public struct FormFieldModel: Sendable, Hashable {
    public var label: String
    public var value: String
    public var defaultValue: String?
    public var error: String?
    public var secret: Bool
    public init(_ label: String, value: String, defaultValue: String? = nil, error: String? = nil, secret: Bool = false) {
        self.label = label; self.value = value; self.defaultValue = defaultValue; self.error = error; self.secret = secret
    }
}

/// Everything the main screen shows. Pure data: the core wiring fills it from the wizard state.
public struct WizardViewModel: Sendable {
    public var stages: [StageRowModel] = []
    public var selected = 0
    public var tab: PaneTab = .lesson
    public var tick = 0
    public var lesson: [Line] = []
    /// The lesson's markdown source: rendered by `Markdown` at the pane's width (else `lesson`).
    public var lessonMarkdown: String?
    public var lessonScroll = 0
    public var plan: [Line] = []
    public var planScroll = 0
    public var output = ScrollbackBuffer(capacity: 10_000)
    public var outputTitle = ""
    public var inputs: [FormFieldModel] = []
    public var focusedInput: Int?
    /// Text of the `/` search prompt while typing (nil when closed).
    public var searchPrompt: String?
    public var searchQuery = ""
    public var searchMatches: [Int] = []
    public var target = "local"
    public var profile = "default"
    public var statePath = ""
    /// Shown at the right of the status bar (overall progress, or a transient notice).
    public var progress = ""
    public var notice: String?
    /// A line above the panes (e.g. the resume banner), or nil.
    public var banner: String?
    public var modal: Modal?
    /// The UI language's strings.
    public var strings = Strings(.en)
    /// Training mode's step screen; when set, it takes the right pane's place.
    public var training: TrainingViewModel?
    public init() {}
}

/// Training mode's step screen (`--training`): what the step will do, the lesson excerpt, and
/// the prompt where the learner types the command.
public struct TrainingViewModel: Sendable {
    public var title: String
    /// Scrollable content (the step, its plan, the lesson excerpt, the hint after the step).
    public var body: [Line]
    public var scroll = 0
    /// Pinned under the body: what to do now, the result of a typed command.
    public var footer: [Line]
    /// The text typed so far while the prompt is open (nil when closed).
    public var prompt: String?
    public init(title: String, body: [Line], footer: [Line] = [], prompt: String? = nil) {
        self.title = title; self.body = body; self.footer = footer; self.prompt = prompt
    }
}

/// Renders the main screen from a `WizardViewModel`.
public enum WizardView {
    public static let minWidth = 80
    public static let minHeight = 24

    /// Regions of the screen for a given size.
    public struct Regions: Sendable {
        public var banner: Rect?
        public var stages: Rect
        public var pane: Rect
        public var status: Rect
        public var keys: Rect
    }

    public static func regions(_ area: Rect, banner: Bool) -> Regions {
        let rows = Layout.vertical(banner ? [.length(1), .fill(1), .length(1), .length(1)]
                                          : [.fill(1), .length(1), .length(1)]).split(area)
        let main = banner ? rows[1] : rows[0]
        let leftW = area.width >= 110 ? 34 : 30
        let cols = Layout.horizontal([.length(leftW), .fill(1)]).split(main)
        return Regions(banner: banner ? rows[0] : nil, stages: cols[0], pane: cols[1],
                       status: rows[rows.count - 2], keys: rows[rows.count - 1])
    }

    /// Rows of content visible in the right pane (for page scrolling).
    public static func paneContentHeight(_ area: Rect, banner: Bool) -> Int {
        max(1, regions(area, banner: banner).pane.height - 4)
    }
    /// Columns of content in the right pane (lesson and plan wrap to this).
    public static func paneContentWidth(_ area: Rect, banner: Bool) -> Int {
        max(1, regions(area, banner: banner).pane.width - 4)
    }

    public static func render(_ m: WizardViewModel, keyHints: [KeyHint], theme: Theme, into buffer: inout Buffer) {
        let area = buffer.area
        if area.width < minWidth || area.height < minHeight {
            renderTooSmall(theme: theme, strings: m.strings, into: &buffer)
            return
        }
        let r = regions(area, banner: m.banner != nil)
        if let b = r.banner, let text = m.banner {
            buffer.fill(b, with: Cell(" ", style: theme.warning.adding(.reverse)))
            buffer.set(string: " " + TextWrap.truncate(text, width: b.width - 2, ellipsis: theme.ellipsis),
                       x: b.x, y: b.y, style: theme.warning.adding(.reverse), maxX: b.right)
        }
        renderStages(m, theme: theme, area: r.stages, into: &buffer)
        renderPane(m, theme: theme, area: r.pane, into: &buffer)

        var right = m.progress
        if let n = m.notice { right = n }
        StatusBar(left: [Span(m.target), Span(m.strings(.statusBarProfile, m.profile)), Span(m.strings(.statusBarState, m.statePath))],
                  right: [Span(right)], style: theme.statusBar, divider: " \(theme.separator) ")
            .render(area: r.status, into: &buffer)
        KeyBar(keyHints, theme: theme).render(area: r.keys, into: &buffer)

        if let modal = m.modal { modal.render(area: area, into: &buffer) }
    }

    public static func renderTooSmall(theme: Theme, strings: Strings = Strings(.en), into buffer: inout Buffer) {
        let area = buffer.area
        let lines = [
            strings[.errorTerminalTooSmall].replacingOccurrences(of: "80×24", with: "\(minWidth)\(theme.times)\(minHeight)"),
            strings(.errorTerminalSizeNow, "\(area.width)", "\(area.height)").replacingOccurrences(of: "×", with: theme.times),
            strings[.errorTerminalEnlarge],
        ]
        let rows = lines.enumerated().flatMap { i, l in TextWrap.wrap(l, width: max(1, area.width)).map { (i, $0) } }
        let top = max(0, (area.height - rows.count) / 2)
        for (j, (i, row)) in rows.enumerated() {
            let x = max(0, (area.width - DisplayWidth.of(row)) / 2)
            buffer.set(string: row, x: x, y: top + j, style: i == 0 ? theme.warning : theme.muted)
        }
    }

    static func renderStages(_ m: WizardViewModel, theme: Theme, area: Rect, into buffer: inout Buffer) {
        let done = m.stages.filter { $0.status == .done || $0.status == .skipped }.count
        let block = Block(title: "\(m.strings[.paneStages]) \(done)/\(m.stages.count)", theme: theme)
        block.render(area: area, into: &buffer)
        let inner = block.inner(area)
        var items: [ListItem] = []
        var selectedRow = 0
        let gw = theme.plain ? 3 : 1
        for (i, s) in m.stages.enumerated() {
            if i == m.selected { selectedRow = items.count }
            items.append(ListItem(row(glyph: theme.glyph(s.status, tick: m.tick), glyphStyle: theme.glyphStyle(s.status),
                                      indent: 0, title: s.name, elapsed: s.elapsed, width: inner.width - 1, gw: gw, theme: theme)))
            if s.expanded {
                for st in s.steps {
                    items.append(ListItem(row(glyph: theme.glyph(st.status, tick: m.tick), glyphStyle: theme.glyphStyle(st.status),
                                              indent: 2, title: st.title, elapsed: st.elapsed, width: inner.width - 1, gw: gw,
                                              theme: theme, muted: true)))
                }
            }
        }
        let list = ListView(items, state: ListState(selected: selectedRow), highlight: theme.selected)
        list.render(area: Rect(x: inner.x + 1, y: inner.y, width: inner.width - 1, height: inner.height), into: &buffer)
        // A selection marker in the first column (visible without colour / reverse video too).
        let st = list.effectiveState(height: inner.height)
        let y = inner.y + selectedRow - st.offset
        if y >= inner.y && y < inner.bottom {
            buffer.set(string: theme.plain ? ">" : "▶", x: inner.x, y: y, style: theme.title)
        }
    }

    static func row(glyph: String, glyphStyle: Style, indent: Int, title: String, elapsed: String?, width: Int,
                    gw: Int, theme: Theme, muted: Bool = false) -> Line {
        let ew = elapsed.map { DisplayWidth.of($0) + 1 } ?? 0
        let titleW = max(1, width - indent - gw - 1 - ew)
        var spans = [Span(String(repeating: " ", count: indent)), Span(glyph, style: glyphStyle), Span(" ")]
        spans.append(Span(TextWrap.pad(title, width: titleW, ellipsis: theme.ellipsis), style: muted ? theme.muted : .plain))
        if let e = elapsed { spans.append(Span(" " + e, style: theme.muted)) }
        return Line(spans)
    }

    static func renderPane(_ m: WizardViewModel, theme: Theme, area: Rect, into buffer: inout Buffer) {
        if let t = m.training {
            renderTraining(t, m, theme: theme, area: area, into: &buffer)
            return
        }
        let stageName = m.stages.indices.contains(m.selected) ? m.stages[m.selected].name : ""
        let block = Block(title: "\(m.selected + 1)/\(m.stages.count) \(stageName)", theme: theme, focused: true)
        block.render(area: area, into: &buffer)
        let inner = block.inner(area).inset(horizontal: 1, vertical: 0)
        guard inner.height >= 3 else { return }
        Tabs(PaneTab.allCases.map { $0.title(m.strings) }, selected: m.tab.rawValue, activeStyle: theme.tabActive,
             inactiveStyle: theme.tabInactive, divider: theme.separator)
            .render(area: inner.row(0), into: &buffer)
        buffer.set(string: String(repeating: theme.borders.horizontal, count: inner.width), x: inner.x, y: inner.y + 1,
                   style: theme.border, maxX: inner.right)
        let content = Rect(x: inner.x, y: inner.y + 2, width: inner.width, height: inner.height - 2)
        switch m.tab {
        case .lesson:
            if let md = m.lessonMarkdown {
                let rows = Markdown(md, styles: Markdown.Styles(theme: theme), plain: theme.plain).lines(width: content.width)
                Paragraph(rows, wrap: false, scroll: m.lessonScroll).render(area: content, into: &buffer)
            } else {
                Paragraph(m.lesson, scroll: m.lessonScroll).render(area: content, into: &buffer)
            }
        case .plan:
            Paragraph(m.plan, scroll: m.planScroll).render(area: content, into: &buffer)
        case .output:
            renderOutput(m, theme: theme, area: content, into: &buffer)
        case .inputs:
            renderInputs(m, theme: theme, area: content, into: &buffer)
        }
    }

    static func renderTraining(_ t: TrainingViewModel, _ m: WizardViewModel, theme: Theme, area: Rect,
                               into buffer: inout Buffer) {
        let block = Block(title: t.title, theme: theme, focused: true)
        block.render(area: area, into: &buffer)
        let inner = block.inner(area).inset(horizontal: 1, vertical: 0)
        guard inner.height >= 3 else { return }
        var footer = t.footer.flatMap { TextWrap.wrap($0, width: inner.width) }
        if let p = t.prompt {
            footer.append(Line([Span("$ ", style: theme.selected), Span(p + (theme.plain ? "_" : "▏"), style: theme.selected)]))
        }
        footer = Array(footer.suffix(max(0, inner.height - 2)))
        let bodyH = inner.height - footer.count - (footer.isEmpty ? 0 : 1)
        Paragraph(t.body, scroll: t.scroll).render(area: Rect(x: inner.x, y: inner.y, width: inner.width, height: bodyH), into: &buffer)
        if !footer.isEmpty {
            let ruleY = inner.y + bodyH
            buffer.set(string: String(repeating: theme.borders.horizontal, count: inner.width), x: inner.x, y: ruleY,
                       style: theme.border, maxX: inner.right)
            for (i, l) in footer.enumerated() {
                let y = ruleY + 1 + i
                if t.prompt != nil && i == footer.count - 1 {
                    buffer.fill(Rect(x: inner.x, y: y, width: inner.width, height: 1), with: Cell(" ", style: theme.selected))
                }
                buffer.set(line: l, x: inner.x, y: y, maxX: inner.right)
            }
        }
    }

    static func renderOutput(_ m: WizardViewModel, theme: Theme, area: Rect, into buffer: inout Buffer) {
        let textArea = Rect(x: area.x, y: area.y, width: area.width, height: area.height - 1)
        let top = m.output.topLine(height: textArea.height)
        for (i, l) in m.output.visibleLines(height: textArea.height).enumerated() {
            let n = top + i
            let isMatch = !m.searchQuery.isEmpty && m.searchMatches.contains(n)
            buffer.set(string: l, x: textArea.x, y: textArea.y + i, style: isMatch ? theme.searchMatch : .plain, maxX: textArea.right)
        }
        let info = area.row(area.height - 1)
        if let prompt = m.searchPrompt {
            buffer.fill(info, with: Cell(" ", style: theme.selected))
            buffer.set(string: "/" + prompt + (theme.plain ? "_" : "▏"), x: info.x, y: info.y, style: theme.selected, maxX: info.right)
        } else {
            let follow = m.output.follow ? m.strings[.outputFollow] : m.strings[.outputPaused]
            var text = "\(m.strings(.outputLines, "\(m.output.totalLines)")) \(theme.separator) \(follow)"
            if !m.outputTitle.isEmpty { text = m.outputTitle + " \(theme.separator) " + text }
            if !m.searchQuery.isEmpty { text += " \(theme.separator) " + m.strings(.outputMatches, m.searchQuery, "\(m.searchMatches.count)") }
            buffer.set(string: TextWrap.truncate(text, width: info.width, ellipsis: theme.ellipsis), x: info.x, y: info.y,
                       style: theme.muted, maxX: info.right)
        }
    }

    static func renderInputs(_ m: WizardViewModel, theme: Theme, area: Rect, into buffer: inout Buffer) {
        let labelW = min(18, (m.inputs.map { DisplayWidth.of($0.label) }.max() ?? 0) + 1)
        var y = area.y
        if m.inputs.isEmpty {
            buffer.set(string: m.strings[.inputsNone], x: area.x, y: y, style: theme.muted, maxX: area.right)
            return
        }
        for (i, f) in m.inputs.enumerated() where y < area.bottom {
            let focused = m.focusedInput == i
            buffer.set(string: TextWrap.pad(f.label, width: labelW, ellipsis: theme.ellipsis), x: area.x, y: y,
                       style: focused ? theme.title : .bold, maxX: area.right)
            let fx = area.x + labelW + 1
            let field = Rect(x: fx, y: y, width: area.right - fx, height: 1)
            let fieldStyle = focused ? theme.selected.adding(.underline) : Style(flags: .underline)
            buffer.fill(field, with: Cell(" ", style: fieldStyle))
            let shown = f.secret ? (f.value.isEmpty ? "" : m.strings[.inputsHidden]) : f.value
            if shown.isEmpty, let d = f.defaultValue {
                buffer.set(string: m.strings(.inputsDefault, d), x: fx, y: y, style: fieldStyle.patched(theme.muted), maxX: field.right)
            } else {
                let end = buffer.set(string: shown, x: fx, y: y, style: fieldStyle, maxX: field.right)
                if focused && !f.secret && end < field.right {
                    buffer.set(string: theme.plain ? "_" : "▏", x: end, y: y, style: fieldStyle, maxX: field.right)
                }
            }
            y += 1
            if let err = f.error {
                for row in TextWrap.wrap(theme.glyph(.failed) + " " + err, width: max(1, area.right - fx)) where y < area.bottom {
                    buffer.set(string: row, x: fx, y: y, style: theme.error, maxX: area.right)
                    y += 1
                }
            } else if let d = f.defaultValue, !shown.isEmpty, y < area.bottom {
                buffer.set(string: m.strings(.inputsDefault, d), x: fx, y: y, style: theme.muted, maxX: area.right)
                y += 1
            }
        }
    }

    /// Styles a plan: `$ command` lines, then unified diffs (+ green, - red, @@ cyan).
    public static func planLines(commands: [String], diffs: [(path: String, diff: String)], theme: Theme,
                                 strings: Strings = Strings(.en)) -> [Line] {
        var out: [Line] = [Line(strings[.planCommands], style: .bold)]
        for c in commands { out.append(Line([Span("$ ", style: theme.muted), Span(c, style: theme.command)])) }
        for d in diffs {
            out.append("")
            out.append(Line(strings(.planFile, d.path), style: .bold))
            out += diffLines(d.diff, theme: theme, omittingEmpty: false)
        }
        return out
    }

    /// A unified diff, styled: `+` green, `-` red, `@@` cyan, file headers bold.
    public static func diffLines(_ diff: String, theme: Theme, omittingEmpty: Bool) -> [Line] {
        diff.split(separator: "\n", omittingEmptySubsequences: omittingEmpty).map { l in
            let s = String(l)
            if s.hasPrefix("+++") || s.hasPrefix("---") { return Line(s, style: .bold) }
            if s.hasPrefix("+") { return Line(s, style: theme.diffAdded) }
            if s.hasPrefix("-") { return Line(s, style: theme.diffRemoved) }
            if s.hasPrefix("@@") { return Line(s, style: theme.diffHunk) }
            return Line(s)
        }
    }

    /// The `?` help modal: the key table from the keymap in two columns, and the glyph legend.
    public static func helpModal<A>(_ keymap: Keymap<A>, theme: Theme, width: Int, strings: Strings = Strings(.en)) -> Modal {
        let rows = keymap.helpTable(plain: theme.plain)
        let inner = width - 4
        let colW = inner / 2
        let keyW = 12
        var lines: [Line] = []
        let half = (rows.count + 1) / 2
        for i in 0..<half {
            var spans: [Span] = []
            for col in 0..<2 {
                let j = i + col * half
                guard j < rows.count else { continue }
                let textW = colW - keyW - (col == 0 ? 1 : 0)
                spans.append(Span(TextWrap.pad(rows[j].key, width: keyW, ellipsis: theme.ellipsis), style: theme.title))
                spans.append(Span(TextWrap.pad(rows[j].text, width: textW, ellipsis: theme.ellipsis) + (col == 0 ? " " : "")))
            }
            lines.append(Line(spans))
        }
        lines.append("")
        var legend: [Span] = []
        for g in StatusGlyph.allCases {
            legend.append(Span(theme.glyph(g), style: theme.glyphStyle(g)))
            legend.append(Span(" " + legendName(g, strings) + "  "))
        }
        lines.append(Line(legend))
        return Modal(title: strings[.helpTitle], message: lines, hints: [KeyHint(key: "Esc", text: strings[.hintClose])],
                     theme: theme, width: width)
    }

    static func legendName(_ g: StatusGlyph, _ s: Strings) -> String {
        switch g {
        case .pending: return s.status(.pending)
        case .running: return s.status(.running)
        case .done: return s[.glyphLegendDone]
        case .failed: return s.status(.failed)
        case .interrupted: return s.status(.interrupted)
        case .skipped: return s.status(.skipped)
        case .stale: return s.status(.stale)
        }
    }
}
