import Testing
import WizardCore
@testable import TerminalUI
@testable import WizardTUI

@Suite struct KeymapTests {
    enum A: Equatable { case up, down, quit, help }
    let map = Keymap<A>([
        KeyBinding(keys: [.up, .char("k")], label: "↑↓", help: "move up", short: "move", action: .up),
        KeyBinding(keys: [.down, .char("j")], help: "move down", action: .down, inKeyBar: false),
        KeyBinding(keys: [.char("q"), .ctrl("c")], help: "quit", action: .quit),
        KeyBinding(keys: [.char("?")], help: "help", action: .help),
    ])

    @Test func resolvesKeys() {
        #expect(map.action(for: .char("k")) == .up)
        #expect(map.action(for: .down) == .down)
        #expect(map.action(for: .ctrl("c")) == .quit)
        #expect(map.action(for: .char("x")) == nil)
        #expect(map.conflicts.isEmpty)
    }
    @Test func keyBarAndHelpFromTheSameData() {
        #expect(map.keyBarEntries() == [KeyHint(key: "↑↓", text: "move"), KeyHint(key: "q/^C", text: "quit"), KeyHint(key: "?", text: "help")])
        #expect(map.keyBarEntries(plain: true)[0] == KeyHint(key: "Up/k", text: "move"))
        #expect(map.helpTable().map(\.key) == ["↑, k", "↓, j", "q, ^C", "?"])
        #expect(map.helpTable()[1].text == "move down")
    }
    @Test func wizardKeymapHasNoConflictsAndCoversTheIssueKeys() {
        let m = WizardKeys.keymap
        #expect(m.conflicts.isEmpty)
        let expected: [(Key, WizardAction)] = [
            (.up, .moveUp), (.char("k"), .moveUp), (.down, .moveDown), (.char("j"), .moveDown),
            (.enter, .runSelected), (.char("a"), .runAll), (.char("s"), .skip), (.char("r"), .retry),
            (.char("e"), .editInputs), (.char("p"), .showPlan), (.char("d"), .showDiff), (.char("l"), .showLog),
            (.tab, .nextPane), (.pageUp, .pageUp), (.pageDown, .pageDown), (.char("?"), .help),
            (.char("q"), .quit), (.ctrl("c"), .cancelStep), (.char("/"), .search),
        ]
        for (k, a) in expected { #expect(m.action(for: k) == a, "\(k)") }
        for lang in Language.allCases {
            let main = WizardKeys.keymap(lang), training = WizardKeys.trainingKeymap(lang)
            #expect(main.conflicts.isEmpty && training.conflicts.isEmpty)
            for a in WizardAction.allCases {
                #expect(main.bindings.contains { $0.action == a } || training.bindings.contains { $0.action == a }, "\(a) unbound")
            }
        }
        // Training mode's keys (shown while a step waits) take Enter, t, s and Esc; the rest stays.
        let t = WizardKeys.trainingKeymap(.en)
        for (k, a) in [(Key.enter, WizardAction.trainContinue), (.char("t"), .trainType), (.char("s"), .trainSkip),
                       (.escape, .trainLeave), (.char("q"), .quit), (.char("?"), .help), (.pageDown, .pageDown)] {
            #expect(t.action(for: k) == a, "\(k)")
        }
        #expect(t.keyBarEntries().prefix(2).map(\.key) == ["Enter", "t"])
    }
    @Test func keyBarsFitAt80ColumnsInEveryLanguage() {
        for lang in Language.allCases {
            for m in [WizardKeys.keymap(lang), WizardKeys.trainingKeymap(lang)] {
                let bar = KeyBar(m.keyBarEntries())
                #expect(bar.fitting(width: 80).count == m.keyBarEntries().count, "\(lang)")
            }
        }
    }
    @Test func wizardKeyBarFitsAt80Columns() {
        let bar = KeyBar(WizardKeys.keymap.keyBarEntries())
        #expect(bar.fitting(width: 80).count == WizardKeys.keymap.keyBarEntries().count)
        let narrow = bar.fitting(width: 30)
        #expect(narrow.last?.text == "help")
    }
}

@Suite struct WidgetTests {
    @Test func blockWithTitleAndPlainFallback() {
        var b = Buffer(width: 12, height: 3)
        Block(title: "Stages").render(area: b.area, into: &b)
        #expect(b.lines == ["┌ Stages ──┐", "│          │", "└──────────┘"])
        var p = Buffer(width: 12, height: 3)
        Block(title: "A very long title", plain: true).render(area: p.area, into: &p)
        #expect(p.lines == ["+ A ver... +", "|          |", "+----------+"])
    }
    @Test func listKeepsSelectionVisible() {
        let items = (0..<20).map { ListItem("item \($0)") }
        var b = Buffer(width: 10, height: 5)
        let list = ListView(items, state: ListState(selected: 12), highlight: .reverse)
        list.render(area: b.area, into: &b)
        #expect(b.lines[4].hasPrefix("item 12"))
        #expect(b[0, 4].style.flags.contains(.reverse))
        #expect(!b[0, 3].style.flags.contains(.reverse))
        var st = ListState(selected: 2, offset: 10)
        st.scrollToSelection(count: 20, height: 5)
        #expect(st.offset == 2)
    }
    @Test func paragraphWrapsAndScrolls() {
        var b = Buffer(width: 10, height: 2)
        Paragraph(text: "one two three four five", scroll: 1).render(area: b.area, into: &b)
        #expect(b.lines == ["three four", "five      "])
    }
    @Test func tabsHighlightSelected() {
        var b = Buffer(width: 30, height: 1)
        Tabs(["Lesson", "Plan"], selected: 1).render(area: b.area, into: &b)
        #expect(b.lines[0].hasPrefix(" Lesson │ Plan "))
        #expect(b[10, 0].style.flags.contains(.reverse))
        #expect(!b[2, 0].style.flags.contains(.reverse))
    }
    @Test func statusBarTruncatesLeftKeepsRight() {
        var b = Buffer(width: 30, height: 1)
        StatusBar(left: [Span("deploy@host.example.com:22"), Span("profile prod")], right: [Span("3/12")]).render(area: b.area, into: &b)
        #expect(b.lines[0].hasSuffix("3/12 "))
        #expect(b.lines[0].contains("…"))
    }
    @Test func textInputEditing() {
        var t = TextInput("abc")
        #expect(t.handle(.backspace) == .edited)
        #expect(t.handle(.left) == .moved)
        #expect(t.handle(.char("X")) == .edited)
        #expect(t.value == "aXb")
        #expect(t.handle(.enter) == .submit)
        #expect(t.handle(.escape) == .cancel)
        var s = TextInput(secret: true)
        _ = s.handle(.char("p"))
        #expect(s.displayText == "")
        s.clear()
        #expect(s.value.isEmpty)
    }
    @Test func spinnerFrames() {
        #expect(Spinner.frame(0, plain: false) == "⠋")
        #expect(Spinner.frame(10, plain: false) == "⠋")
        #expect(Spinner.frame(1, plain: true) == "/")
        #expect(Theme(plain: true).glyph(.running, tick: 2) == "[-]")
    }
}

@Suite struct ScrollbackTests {
    @Test func millionLinesBoundedAndSearchable() {
        let clock = ContinuousClock()
        var sb = ScrollbackBuffer(capacity: 10_000)
        let elapsed = clock.measure {
            for i in 0..<1_000_000 { sb.append(line: i % 1000 == 0 ? "needle \(i)" : "line \(i)") }
        }
        #expect(elapsed < .seconds(2), "appending took \(elapsed)")
        #expect(sb.count == 10_000)
        #expect(sb.totalLines == 1_000_000)
        #expect(sb.firstLine == 990_000)
        #expect(sb.line(989_999) == nil)
        #expect(sb.line(999_999) == "line 999999")
        #expect(sb.visibleLines(height: 2) == ["line 999998", "line 999999"])
        let matches = sb.search("NEEDLE")
        #expect(matches.count == 10)
        #expect(matches.first == 990_000)
        #expect(sb.line(matches[3]) == "needle 993000")
    }
    @Test func followAndScrolling() {
        var sb = ScrollbackBuffer(capacity: 100)
        for i in 0..<50 { sb.append(line: "l\(i)") }
        #expect(sb.topLine(height: 10) == 40)
        sb.scroll(by: -5, height: 10)
        #expect(!sb.follow)
        #expect(sb.visibleLines(height: 10).first == "l35")
        sb.append(line: "l50")
        #expect(sb.visibleLines(height: 10).first == "l35")       // paused view stays put
        sb.scroll(by: 100, height: 10)
        #expect(sb.follow)
        #expect(sb.visibleLines(height: 10).last == "l50")
        sb.jump(to: 3, height: 10)
        #expect(sb.visibleLines(height: 10).first == "l3")
        // Lines dropping out of the ring drag a paused view along.
        for i in 51..<200 { sb.append(line: "l\(i)") }
        #expect(sb.visibleLines(height: 10).first == "l100")
    }
    @Test func chunksAndSanitizing() {
        var sb = ScrollbackBuffer(capacity: 10, maxLineLength: 20)
        sb.append(text: "par")
        sb.append(text: "tial\nnext\n\u{1B}[31mred\u{1B}[0m\ntab\tx\nprogress 10%\rprogress 99%\n")
        sb.append(text: String(repeating: "y", count: 30) + "\n")
        #expect((sb.firstLine..<sb.totalLines).compactMap(sb.line) ==
                ["partial", "next", "red", "tab     x", "progress 99%", String(repeating: "y", count: 20) + "…"])
    }
}
