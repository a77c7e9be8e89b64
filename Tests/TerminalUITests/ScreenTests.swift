import Testing
import TerminalUI
@testable import WizardTUI

@MainActor
func renderDemo(_ app: DemoApp, width: Int, height: Int) -> TestBackend {
    var buffer = Buffer(width: width, height: height)
    app.render(into: &buffer)
    var t = TestBackend(width: width, height: height)
    t.draw(buffer)
    return t
}

@MainActor
@Suite struct DemoScreenSnapshots {
    @Test(arguments: [(80, 24), (120, 40)])
    func lessonTab(size: (Int, Int)) {
        let app = DemoApp(theme: Theme())
        let t = renderDemo(app, width: size.0, height: size.1)
        assertSnapshot(t.snapshot, named: "demo-lesson-\(size.0)x\(size.1)")
        // Every status glyph is on screen, and the CJK lesson line.
        for g in StatusGlyph.allCases { #expect(t.snapshot.contains(Theme().glyph(g)), "\(g)") }
        #expect(t.snapshot.contains("中文说明"))
        // Every row is exactly the terminal width in columns (CJK counted as 2).
        for l in t.lines { #expect(DisplayWidth.of(l) == size.0) }
    }

    @Test(arguments: PaneTab.allCases)
    func tabsAt80x24(tab: PaneTab) {
        let app = DemoApp(theme: Theme())
        app.model.tab = tab
        let t = renderDemo(app, width: 80, height: 24)
        assertSnapshot(t.snapshot, named: "demo-\(tab.title.lowercased())-80x24")
    }

    @Test func lessonScrolledShowsWrappedCJK() {
        let app = DemoApp(theme: Theme())
        _ = app.handle(.key(.pageDown))
        let t = renderDemo(app, width: 80, height: 24)
        assertSnapshot(t.snapshot, named: "demo-lesson-scrolled-80x24")
        #expect(t.snapshot.contains("nginx 作为反向代理服务器"))
        for l in t.lines { #expect(DisplayWidth.of(l) == 80) }
    }

    @Test func diffKeyScrollsThePlanToTheDiff() {
        let app = DemoApp(theme: Theme())
        _ = app.handle(.key(.char("d")))
        let t = renderDemo(app, width: 80, height: 24)
        #expect(app.model.tab == .plan)
        #expect(t.lines.contains { $0.contains("File /etc/nginx/sites-available/mysite") })
        #expect(t.lines.contains { $0.contains("+        proxy_pass") })   // the end of the diff is in view
    }

    @Test func plainAscii() {
        let app = DemoApp(theme: Theme(color: false, plain: true))
        let t = renderDemo(app, width: 80, height: 24)
        assertSnapshot(t.snapshot, named: "demo-plain-80x24")
        // No non-ASCII glyphs: the only non-ASCII characters are the CJK lesson text (content).
        for (i, l) in t.lines.enumerated() {
            let chrome = l.unicodeScalars.allSatisfy { $0.isASCII || DisplayWidth.of($0) == 2 }
            #expect(chrome, "row \(i): \(l)")
        }
        for g in StatusGlyph.allCases { #expect(t.snapshot.contains(Theme(plain: true).glyph(g)), "\(g)") }
    }

    @Test(arguments: [(79, 24), (80, 23), (40, 10)])
    func tooSmall(size: (Int, Int)) {
        let t = renderDemo(DemoApp(theme: Theme()), width: size.0, height: size.1)
        #expect(t.snapshot.contains("terminal too small: need 80×24"))
        if size == (40, 10) { assertSnapshot(t.snapshot, named: "too-small-40x10") }
    }

    @Test func helpModal() {
        let app = DemoApp(theme: Theme())
        _ = app.handle(.key(.char("?")))
        let t = renderDemo(app, width: 80, height: 24)
        assertSnapshot(t.snapshot, named: "demo-help-80x24")
        #expect(t.snapshot.contains("cancel the running step"))
        for l in t.lines where l.hasPrefix("││") { #expect(!l.contains("…"), "cut: \(l)") }   // nothing in the table is cut
        _ = app.handle(.key(.escape))
        #expect(!renderDemo(app, width: 80, height: 24).snapshot.contains("cancel the running step"))
    }

    @Test func passwordModalDoesNotEcho() {
        let app = DemoApp(theme: Theme())
        _ = app.handle(.key(.enter))
        for c in "hunter2" { _ = app.handle(.key(.char(c))) }
        let t = renderDemo(app, width: 80, height: 24)
        assertSnapshot(t.snapshot, named: "demo-password-80x24")
        #expect(!t.snapshot.contains("hunter2"))
        #expect(!t.snapshot.contains("•"))
        #expect(!t.snapshot.contains("*******"))
        _ = app.handle(.key(.enter))
        #expect(!renderDemo(app, width: 80, height: 24).snapshot.contains("sudo password"))
    }

    @Test func quitAsksWhileAStepRuns() {
        let app = DemoApp(theme: Theme())
        #expect(app.handle(.key(.char("q"))) == .redraw)
        #expect(renderDemo(app, width: 80, height: 24).snapshot.contains("Quit?"))
        #expect(app.handle(.key(.char("n"))) == .redraw)
        #expect(app.handle(.signal(.interrupt)) == .redraw)     // Ctrl-C → cancel the step?
        #expect(renderDemo(app, width: 80, height: 24).snapshot.contains("Cancel step?"))
        #expect(app.handle(.key(.char("y"))) == .redraw)
        #expect(!app.running)
        #expect(app.handle(.key(.char("q"))) == .quit)          // nothing runs: quits at once
    }

    @Test func navigationAndSearch() {
        let app = DemoApp(theme: Theme())
        _ = app.handle(.key(.char("j")))
        #expect(app.model.selected == 6)
        _ = app.handle(.key(.up)); _ = app.handle(.key(.char("k")))
        #expect(app.model.selected == 4)
        _ = app.handle(.key(.tab))
        #expect(app.model.tab == .plan)
        _ = app.handle(.key(.backTab)); _ = app.handle(.key(.backTab))
        #expect(app.model.tab == .inputs)
        _ = app.handle(.key(.char("/")))
        #expect(app.model.tab == .output)
        for c in "NGINX" { _ = app.handle(.key(.char(c))) }
        #expect(renderDemo(app, width: 80, height: 24).snapshot.contains("/NGINX"))
        _ = app.handle(.key(.enter))
        #expect(app.model.searchMatches.count == 5)
        #expect(renderDemo(app, width: 80, height: 24).snapshot.contains("/NGINX: 5 matches"))
    }
}

@MainActor
@Suite struct RunLoopTests {
    final class Counter: TUIApp {
        var renders = 0
        var value = 0
        func render(into buffer: inout Buffer) {
            renders += 1
            buffer.set(string: "value \(value)", x: 0, y: 0)
        }
        func handle(_ event: TUIEvent) -> TUICommand {
            switch event {
            case .key(.char("+")): value += 1; return .redraw
            case .key(.char("q")): return .quit
            default: return .none
            }
        }
    }

    @Test func idleLoopDoesNotRedraw() async {
        let app = Counter()
        let backend = ScriptedBackend(width: 20, height: 2, script: [], idlePollsBeforeClose: 200)
        let exit = await TUIRunLoop.run(app, on: backend, idleWaitMs: 0)
        #expect(exit == .inputClosed)
        #expect(app.renders == 1)
        #expect(backend.idlePolls == 200)
    }

    @Test func onlyChangedCellsAreSent() async {
        let app = Counter()
        let backend = ScriptedBackend(width: 20, height: 2, script: [[.key(.char("+"))], [.key(.char("x"))], [.key(.char("q"))]])
        let exit = await TUIRunLoop.run(app, on: backend, idleWaitMs: 0)
        #expect(exit == .quit)
        #expect(app.renders == 2)                     // initial + after "+"; "x" is unbound
        #expect(backend.sentCells == [40, 1])         // full first frame, then one digit
        #expect(backend.screen.lines[0].hasPrefix("value 1"))
    }

    @Test func resizeIsAFullRedrawAndSignalsQuit() async {
        let app = Counter()
        let backend = ScriptedBackend(width: 20, height: 2, script: [[.resize(width: 10, height: 3)], [.signal(.terminate)]])
        let exit = await TUIRunLoop.run(app, on: backend, idleWaitMs: 0)
        #expect(exit == .signal(.terminate))
        #expect(backend.sentCells == [40, 30])
    }

    @Test func demoHeadlessDriver() async {
        let app = DemoApp(theme: Theme())
        let backend = ScriptedBackend(width: 100, height: 30, script: [
            [.key(.char("j"))], [.key(.char("p"))], [.key(.char("q"))], [.key(.char("y"))],
        ])
        let exit = await TUIRunLoop.run(app, on: backend, idleWaitMs: 0)
        #expect(exit == .quit)
        #expect(app.model.selected == 6)
        #expect(backend.screen.snapshot.contains("Quit?"))
        #expect(backend.screen.snapshot.contains("$ sudo apt-get install -y nginx"))
    }
}

@Suite struct EnvironmentTests {
    @Test func unsupportedTerminals() {
        #expect(TUIEnvironment.unsupportedReason(env: ["TERM": "xterm-256color"], stdinIsTTY: true, stdoutIsTTY: true) == nil)
        #expect(TUIEnvironment.unsupportedReason(env: ["TERM": "dumb"], stdinIsTTY: true, stdoutIsTTY: true)?.contains("djdeploy run") == true)
        #expect(TUIEnvironment.unsupportedReason(env: [:], stdinIsTTY: true, stdoutIsTTY: true) != nil)
        #expect(TUIEnvironment.unsupportedReason(env: ["TERM": "xterm"], stdinIsTTY: false, stdoutIsTTY: true)?.contains("djdeploy run") == true)
    }
    @Test func noColor() {
        #expect(Theme.fromEnvironment(["NO_COLOR": "1"]).color == false)
        #expect(Theme.fromEnvironment(["NO_COLOR": ""]).color == true)
        #expect(Theme.fromEnvironment([:]).color == true)
        let mono = Theme(color: false)
        for st in StatusGlyph.allCases { #expect(mono.glyphStyle(st).fg == .default && mono.glyphStyle(st).bg == .default) }
        #expect(mono.selected.flags.contains(.reverse))
        #expect(mono.statusBar.flags.contains(.reverse))
        #expect(Theme().glyphStyle(.done).fg == .green)
        #expect(Theme().glyphStyle(.failed).fg == .red)
    }
    @Test func monochromeScreenHasNoColours() async {
        let app = await DemoApp(theme: Theme(color: false))
        let t = await renderDemo(app, width: 80, height: 24)
        for y in 0..<24 { for x in 0..<80 { let s = t.buffer[x, y].style; #expect(s.fg == .default && s.bg == .default) } }
    }
}
