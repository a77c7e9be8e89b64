import Foundation
import Testing
import StepRunner
import TerminalUI
import WizardCore
@testable import WizardTUI

/// Assets/lessons/<lang>/<stage>.md from the source tree.
func lessonFile(_ lang: String, _ stage: String, filePath: String = #filePath) -> String {
    let root = URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return (try? String(contentsOf: root.appendingPathComponent("Assets/lessons/\(lang)/\(stage).md"), encoding: .utf8)) ?? ""
}

@Suite struct MarkdownTests {
    @Test func parsesTheLessonSubset() {
        let src = """
        # Title
        ## Why
        First line of a paragraph
        continues here with `code`.

        - item one
        - item `two`

        ```
        sudo nginx -t   # a very long line that is never wrapped, only cut at the edge of the pane
        ```
        """
        let b = Markdown.parse(src)
        #expect(b == [.heading(level: 1, text: "Title"), .heading(level: 2, text: "Why"),
                      .paragraph("First line of a paragraph continues here with `code`."), .blank,
                      .item("item one"), .item("item `two`"), .blank,
                      .code(["sudo nginx -t   # a very long line that is never wrapped, only cut at the edge of the pane"])])
        let rows = Markdown(src, plain: true).lines(width: 30)
        #expect(rows.map(\.text) == [
            "Title", "Why", "First line of a paragraph", "continues here with code.", "",
            "- item one", "- item two", "", "  sudo nginx -t   # a very lon",
        ])
        // inline code gets the code style, and loses its backticks
        let styled = Markdown("a `b` c", styles: Markdown.Styles(code: .underline)).lines(width: 20)
        #expect(styled[0].spans.map(\.text) == ["a ", "b", " c"])
        #expect(styled[0].spans[1].style == .underline)
    }

    @Test func listItemsHangAndCJKJoinsWithoutSpaces() {
        let rows = Markdown("- one two three four five six", plain: true).lines(width: 12)
        #expect(rows.map(\.text) == ["- one two", "  three four", "  five six"])
        #expect(Markdown.parse("第一行\n第二行") == [.paragraph("第一行第二行")])
        #expect(Markdown.parse("line\n第二行") == [.paragraph("line 第二行")])
    }

    /// CJK wraps at the display width and never splits a wide character across the edge: at an
    /// odd width every row is at most that wide, and the text comes back whole.
    @Test(arguments: [79, 80, 41])
    func cjkWrapsByDisplayWidth(width: Int) {
        let src = lessonFile("zh", "nginx")
        #expect(!src.isEmpty)
        let rows = Markdown(src).lines(width: width)
        for r in rows { #expect(r.width <= width, "\(r.text)") }
        let para = Markdown.parse(src).compactMap { b -> String? in if case .paragraph(let p) = b { return p } else { return nil } }
            .first { $0.unicodeScalars.contains { DisplayWidth.of($0) == 2 } && DisplayWidth.of($0) > width }
        let p = para ?? ""
        #expect(!p.isEmpty, "a long Chinese paragraph")
        let wrapped = TextWrap.wrap(Markdown("").inline(p, base: .plain), width: width)
        #expect(wrapped.count > 1)
        #expect(wrapped.map(\.text).joined().filter { $0 != " " } == p.replacingOccurrences(of: "`", with: "").filter { $0 != " " })
        // A row ends early only when the next wide character did not fit (it moves down whole).
        for (r, next) in zip(wrapped, wrapped.dropFirst()) {
            if let c = next.text.first, DisplayWidth.of(c) == 2 { #expect(r.width + 2 > width, "\(r.text)") }
        }
    }

    @Test func cjkPunctuationDoesNotStartARow() {
        #expect(TextWrap.wrap("一二三。四", width: 6) == ["一二", "三。四"])
        #expect(TextWrap.wrap("一二，三四", width: 4) == ["一", "二，", "三四"])
    }

    @Test(arguments: ["en", "zh"])
    func realLessonAt80Columns(lang: String) {
        let src = lessonFile(lang, "nginx")
        let rows = Markdown(src).lines(width: 80)
        for r in rows { #expect(r.width <= 80) }
        var b = Buffer(width: 80, height: rows.count)
        Markdown(src).render(area: b.area, into: &b)
        var t = TestBackend(width: 80, height: rows.count)
        t.draw(b)
        assertSnapshot(t.snapshot, named: "markdown-nginx-\(lang)-80")
        #expect(!t.snapshot.contains("```"))
        #expect(!t.snapshot.contains("## "))
    }
}

@Suite struct TrainingReducerTests {
    @Test func walkThroughTwoSteps() {
        var s = TrainingState()
        #expect(Training.reduce(&s, .start(["a", "b"])) == [.plan("a")])
        #expect(s.phase == .planning("a") && s.showsScreen)
        #expect(Training.reduce(&s, .planned("a", commands: ["mkdir -p /tmp/x"])) == [])
        #expect(s.phase == .gate("a"))
        #expect(Training.reduce(&s, .proceed) == [.run("a")])
        #expect(s.phase == .running("a") && !s.showsScreen)
        #expect(Training.reduce(&s, .finished("a", succeeded: true)) == [])
        #expect(s.phase == .after("a", succeeded: true))
        #expect(Training.reduce(&s, .proceed) == [.plan("b")])
        #expect(Training.reduce(&s, .planned("b", commands: [])) == [])
        #expect(Training.reduce(&s, .openPrompt) == [])
        #expect(!s.typing)                                  // nothing to type
        #expect(Training.reduce(&s, .skip) == [.skip("b"), .close])
        #expect(s.phase == .off)
    }

    @Test func typedCommandsAreCompared() {
        var s = TrainingState()
        _ = Training.reduce(&s, .start(["a"]))
        _ = Training.reduce(&s, .planned("a", commands: ["mkdir -p /tmp/x", "sudo systemctl reload nginx"]))
        _ = Training.reduce(&s, .openPrompt)
        #expect(s.typing)
        #expect(Training.reduce(&s, .submit("mkdir /tmp/x")) == [])
        #expect(s.mismatch == TrainingMismatch(typed: "mkdir /tmp/x", expected: "mkdir -p /tmp/x", word: 2, want: "-p", got: "/tmp/x"))
        #expect(Training.reduce(&s, .submit("  mkdir   -p /tmp/x ")) == [])
        #expect(s.mismatch == nil && s.typedCount == 1 && s.lastMatch == "mkdir -p /tmp/x")
        // sudo is optional (a root login needs none); the last right command runs the step
        #expect(Training.reduce(&s, .submit("$ systemctl reload nginx")) == [.run("a")])
        #expect(s.phase == .running("a") && !s.typing)
        // a failed step is shown again
        _ = Training.reduce(&s, .finished("a", succeeded: false))
        #expect(Training.reduce(&s, .proceed) == [.plan("a")])
        #expect(Training.reduce(&s, .leave) == [.close])
    }

    @Test func emptyLineRunsTheExpectedCommand() {
        var s = TrainingState()
        _ = Training.reduce(&s, .start(["a"]))
        _ = Training.reduce(&s, .planned("a", commands: ["ls"]))
        _ = Training.reduce(&s, .openPrompt)
        _ = Training.reduce(&s, .submit("lx"))
        #expect(s.mismatch != nil)
        #expect(Training.reduce(&s, .submit("   ")) == [.run("a")])
        // stale events are ignored
        #expect(Training.reduce(&s, .planned("zzz", commands: [])) == [])
        #expect(Training.reduce(&s, .finished("zzz", succeeded: true)) == [])
        #expect(s.phase == .running("a"))
    }

    @Test func compare() {
        #expect(Training.compare(typed: "ls  -l", expected: "ls -l") == nil)
        #expect(Training.compare(typed: "sudo ls -l", expected: "ls -l") == nil)
        #expect(Training.compare(typed: "ls", expected: "ls -l")?.want == "-l")
        #expect(Training.compare(typed: "ls", expected: "ls -l")?.got == "")
        #expect(Training.compare(typed: "sudo ls -x", expected: "ls -l")?.word == 3)
    }
}

@MainActor
@Suite(.serialized) struct TrainingModeTests {
    /// Training mode over the demo deployment, through the real run loop: Enter shows the first
    /// step and its commands; `t` + a wrong command shows the difference; the right commands
    /// run the step; the hint follows; Enter goes to the next step, which Enter runs.
    @Test func enterAndTypedCommandsRunTheSteps() async {
        let h = Harness(name: "training", sleep: 0, fixedClock: true, training: true)
        let mkdir = "mkdir -p \(h.dir)/demo"
        func type(_ s: String) -> [DriverBackend.Step] { s.map { .press(.char($0)) } }
        let b = await h.drive([
            .press(.enter),
            .waitFor("This step will run:"),
            .waitFor("$ " + mkdir),
            .waitUntil("the gate") { h.app.training.phase == .gate(DemoDeployment.helloStep) },
        ] + [.press(.char("t")), .waitFor("Type command 1 of 1")] + type("mkdir \(h.dir)/demo") + [
            .press(.enter),
            .waitFor("Not quite. Expected:"),
            .waitFor("first difference at word 2: expected `-p`"),
        ] + type("  mkdir   -p \(h.dir)/demo") + [
            .press(.enter),
            .waitUntil("the step to succeed") { h.status(DemoDeployment.helloStep) == .succeeded },
            .waitFor("Look at it yourself"),
            .waitFor("Enter: next step (Run a slow command)."),
            .press(.enter),
            .waitUntil("the second gate") { h.app.training.phase == .gate(DemoDeployment.slowStep) },
            .press(.enter),
            .waitUntil("the second step to succeed") { h.status(DemoDeployment.slowStep) == .succeeded },
            .waitFor("Training walk finished"),
        ], width: 80, height: 24)
        #expect(FileManager.default.fileExists(atPath: h.dir + "/demo/done"))
        let s = b.screen.snapshot
        // the training keys are in the key bar
        #expect(b.screen.lines[23].contains("Enter run it") && b.screen.lines[23].contains("t type it"))
        assertSnapshot(s, named: "wizard-training-after-80x24")
    }

    @Test func gateScreenInChinese() async {
        let h = Harness(name: "training-zh", sleep: 0, fixedClock: true, language: .zh, training: true, stageID: "nginx")
        let b = await h.drive([
            .press(.enter),
            .waitUntil("the gate") { h.app.training.phase == .gate(DemoDeployment.helloStep) },
            .waitFor("这一步将执行："),
            .press(.char("t")),
            .press(.char("x")),
            .press(.enter),
            .waitFor("不太对"),
        ], width: 80, height: 24)
        for l in b.screen.lines { #expect(DisplayWidth.of(l) == 80) }
        #expect(b.screen.snapshot.contains("讲解摘录"))
        assertSnapshot(b.screen.snapshot, named: "wizard-training-gate-zh-80x24")
        #expect(h.status(DemoDeployment.helloStep) == .pending)   // nothing ran
    }

    /// Esc leaves the walk; without training mode Enter runs the stage at once.
    @Test func escLeavesTheWalk() async {
        let h = Harness(name: "training-esc", sleep: 0, training: true)
        _ = await h.drive([
            .press(.enter),
            .waitUntil("the gate") { h.app.training.phase == .gate(DemoDeployment.helloStep) },
            .press(.char("?")),
            .waitFor("type the command first"),
            .press(.escape),
            .press(.escape),
            .waitFor("left the training walk"),
        ])
        #expect(h.app.training.phase == .off)
        #expect(h.status(DemoDeployment.helloStep) == .pending)
    }
}

@MainActor
@Suite(.serialized) struct ChineseScreenTests {
    /// The whole main screen in Chinese at 80×24 (tabs, status bar, key bar, the real nginx
    /// lesson), every row exactly 80 columns wide.
    @Test func mainScreenInChinese() async {
        let h = Harness(name: "zh-main", fixedClock: true, language: .zh, stageID: "nginx")
        let b = await h.drive([.waitFor("讲解")], width: 80, height: 24)
        let s = b.screen.snapshot
        for l in b.screen.lines { #expect(DisplayWidth.of(l) == 80, "\(l)") }
        for text in ["阶段 0/1", "讲解", "计划", "输出", "输入", "配置档 test", "已完成 0/2 步", "执行", "帮助"] {
            #expect(s.contains(text), "\(text)")
        }
        assertSnapshot(s, named: "wizard-zh-main-80x24")
    }

    @Test func runAllInChinese() async {
        let h = Harness(name: "zh-run", sleep: 0, fixedClock: true, language: .zh)
        let b = await h.drive([
            .press(.char("a")),
            .waitUntil("the run to complete") { h.app.lastRunResult == .finished(.completed) },
            .waitFor("完成：范围内的步骤全部成功"),
            .press(.char("?")),
            .waitFor("按键"),
        ], width: 80, height: 24)
        for l in b.screen.lines { #expect(DisplayWidth.of(l) == 80, "\(l)") }
        assertSnapshot(b.screen.snapshot, named: "wizard-zh-help-80x24")
    }

    @Test func unsupportedTerminalInChinese() {
        let dumb = TUIEnvironment.unsupportedReason(env: ["TERM": "dumb"], stdinIsTTY: true, stdoutIsTTY: true, language: .zh)
        #expect(dumb?.contains("TERM=dumb") == true && dumb?.contains("无法显示向导界面") == true)
        let noTTY = TUIEnvironment.unsupportedReason(env: ["TERM": "xterm"], stdinIsTTY: false, stdoutIsTTY: true, language: .zh)
        #expect(noTTY?.contains("djdeploy run") == true && noTTY?.contains("没有终端") == true)
    }

    @Test func tooSmallInChinese() {
        var m = WizardViewModel()
        m.strings = Strings(.zh)
        var buffer = Buffer(width: 60, height: 10)
        WizardView.render(m, keyHints: [], theme: Theme(), into: &buffer)
        var t = TestBackend(width: 60, height: 10)
        t.draw(buffer)
        #expect(t.snapshot.contains("终端窗口太小：至少需要 80×24"))
        #expect(t.snapshot.contains("（当前 60×10）"))
    }
}
