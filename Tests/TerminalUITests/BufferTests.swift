import Testing
@testable import TerminalUI

@Suite struct DisplayWidthTests {
    @Test func asciiAndControls() {
        #expect(DisplayWidth.of("abc") == 3)
        #expect(DisplayWidth.of(Unicode.Scalar(0x07)!) == 0)
        #expect(DisplayWidth.of(Unicode.Scalar(0x9B)!) == 0)
        #expect(DisplayWidth.of("") == 0)
    }
    @Test func wideCharacters() {
        #expect(DisplayWidth.of("中文") == 4)
        #expect(DisplayWidth.of("한국어") == 6)
        #expect(DisplayWidth.of("ＡＢ") == 4)           // fullwidth forms
        #expect(DisplayWidth.of("日本語のテキスト") == 16)
        #expect(DisplayWidth.of("🚀") == 2)
        #expect(DisplayWidth.of("😀") == 2)
        #expect(DisplayWidth.of("🇫🇷") == 2)            // flag: one cluster
        #expect(DisplayWidth.of("\u{20000}") == 2)      // CJK Ext B
    }
    @Test func zeroWidth() {
        #expect(DisplayWidth.of(Unicode.Scalar(0x301)!) == 0)   // combining acute
        #expect(DisplayWidth.of("e\u{301}") == 1)
        #expect(DisplayWidth.of("a\u{200B}b") == 2)
        #expect(DisplayWidth.of(Unicode.Scalar(0x200D)!) == 0)
        #expect(DisplayWidth.of("é") == 1)
    }
    @Test func narrowSymbolsUsedByTheUI() {
        for g in ["✔", "✘", "⏸", "↷", "↻", "·", "│", "─", "┌", "…", "⠋", "↑", "↓"] {
            #expect(DisplayWidth.of(g) == 1, "\(g)")
        }
        for st in StatusGlyph.allCases {
            #expect(DisplayWidth.of(Theme().glyph(st)) == 1)
            #expect(DisplayWidth.of(Theme(plain: true).glyph(st)) == 3)
        }
    }
}

@Suite struct BufferTests {
    @Test func setClipsAtWidth() {
        var b = Buffer(width: 5, height: 1)
        let end = b.set(string: "hello world", x: 1, y: 0)
        #expect(end == 5)
        #expect(b.lines == [" hell"])
        b.set(string: "XY", x: 0, y: 0, maxX: 1)
        #expect(b.lines == ["Xhell"])
    }
    @Test func wideCharsOccupyTwoCells() {
        var b = Buffer(width: 6, height: 1)
        let end = b.set(string: "中a文", x: 0, y: 0)
        #expect(end == 5)
        #expect(b[0, 0].symbol == "中")
        #expect(b[1, 0].isContinuation)
        #expect(b[2, 0].symbol == "a")
        #expect(b[4, 0].isContinuation)
        #expect(b.lines == ["中a文 "])
    }
    @Test func wideCharAtLastColumnBecomesSpace() {
        var b = Buffer(width: 3, height: 1)
        b.set(string: "ab中", x: 0, y: 0)
        #expect(b.lines == ["ab "])
        #expect(!b[2, 0].isContinuation)
    }
    @Test func overwritingHalfAWideCharBlanksTheOtherHalf() {
        var b = Buffer(width: 4, height: 1)
        b.set(string: "中文", x: 0, y: 0)
        b.set(string: "x", x: 1, y: 0)          // right half of 中
        #expect(b.lines == [" x文"])
        b.set(string: "y", x: 2, y: 0)          // left half of 文
        #expect(b.lines == [" xy "])
        #expect(!b[3, 0].isContinuation)
        var c = Buffer(width: 4, height: 1)
        c.set(string: "中文", x: 0, y: 0)
        c.set(string: "中", x: 1, y: 0)         // straddles both
        #expect(c.lines == [" 中 "])
    }
    @Test func combiningMarksStayWithTheirBase() {
        var b = Buffer(width: 3, height: 1)
        b.set(string: "e\u{301}x", x: 0, y: 0)
        #expect(b[0, 0].symbol == "e\u{301}")
        #expect(b[1, 0].symbol == "x")
    }
    @Test func negativeXSkipsColumns() {
        var b = Buffer(width: 3, height: 1)
        b.set(string: "abcd", x: -1, y: 0)
        #expect(b.lines == ["bcd"])
    }
}

@Suite struct DiffTests {
    @Test func identicalBuffersHaveNoChanges() {
        var a = Buffer(width: 10, height: 3)
        a.set(string: "hello 中文", x: 0, y: 1)
        #expect(a.diff(previous: a).isEmpty)
    }
    @Test func onlyChangedCells() {
        var a = Buffer(width: 10, height: 2)
        a.set(string: "hello", x: 0, y: 0)
        var b = a
        b.set(string: "J", x: 0, y: 0)
        b.set(string: "!", x: 9, y: 1)
        let d = b.diff(previous: a)
        #expect(d.map { [$0.x, $0.y] } == [[0, 0], [9, 1]])
        #expect(d[0].cell.symbol == "J")
    }
    @Test func styleChangeIsAChange() {
        var a = Buffer(width: 3, height: 1)
        a.set(string: "abc", x: 0, y: 0)
        var b = a
        b.setStyle(Rect(x: 1, y: 0, width: 1, height: 1), .bold)
        #expect(b.diff(previous: a).map(\.x) == [1])
    }
    @Test func resizeIsAFullRedraw() {
        let a = Buffer(width: 4, height: 2)
        var b = Buffer(width: 5, height: 2)
        b.set(string: "中", x: 0, y: 0)
        #expect(b.diff(previous: a).count == 9)      // 10 cells minus one continuation
        #expect(b.diff(previous: nil).count == 9)
    }
    @Test func continuationChangeEmitsTheWideChar() {
        var a = Buffer(width: 4, height: 1)
        a.set(string: "abcd", x: 0, y: 0)
        var b = a
        b.set(string: "中", x: 1, y: 0)
        let d = b.diff(previous: a)
        #expect(d.map(\.x) == [1])
        #expect(d[0].cell.symbol == "中")
        // And back: narrow chars over a wide one.
        let back = a.diff(previous: b)
        #expect(back.map(\.x) == [1, 2])
    }
    @Test func testBackendSendsOnlyTheDiff() {
        var t = TestBackend(width: 20, height: 5)
        var f = Buffer(width: 20, height: 5)
        f.set(string: "status: ok", x: 0, y: 0)
        t.draw(f)
        f.set(string: "status: no", x: 0, y: 0)
        t.draw(f)
        #expect(t.lastChanges.count == 2)
        t.draw(f)
        #expect(t.lastChanges.isEmpty)
        #expect(t.lines[0] == "status: no          ")
    }
}

@Suite struct LayoutTests {
    @Test func fixedPercentFill() {
        #expect(Layout.sizes([.length(10), .fill(1)], total: 80) == [10, 70])
        #expect(Layout.sizes([.percentage(30), .fill(1)], total: 100) == [30, 70])
        #expect(Layout.sizes([.length(1), .fill(1), .length(1)], total: 24) == [1, 22, 1])
        #expect(Layout.sizes([.fill(1), .fill(2)], total: 30) == [10, 20])
        #expect(Layout.sizes([.min(5), .length(3)], total: 20) == [17, 3])
    }
    @Test func overAllocationShrinksFromTheEnd() {
        #expect(Layout.sizes([.length(10), .length(10)], total: 15) == [10, 5])
        #expect(Layout.sizes([.length(10), .length(10)], total: 5) == [5, 0])
    }
    @Test func splitRects() {
        let r = Rect(x: 0, y: 0, width: 80, height: 24)
        let rows = Layout.vertical([.fill(1), .length(1), .length(1)]).split(r)
        #expect(rows.map(\.height) == [22, 1, 1])
        #expect(rows[2].y == 23)
        let cols = Layout.horizontal([.length(30), .fill(1)], spacing: 1).split(rows[0])
        #expect(cols[1].x == 31 && cols[1].width == 49)
        #expect(r.centered(width: 10, height: 4) == Rect(x: 35, y: 10, width: 10, height: 4))
    }
}

@Suite struct WrapTests {
    @Test func latinWrapsAtSpaces() {
        #expect(TextWrap.wrap("the quick brown fox jumps", width: 10) == ["the quick", "brown fox", "jumps"])
        #expect(TextWrap.wrap("hello world", width: 5) == ["hello", "world"])
        #expect(TextWrap.wrap("a  b", width: 10) == ["a  b"])
    }
    @Test func longWordsBreakAnywhere() {
        #expect(TextWrap.wrap("abcdefghij xy", width: 4) == ["abcd", "efgh", "ij", "xy"])
    }
    @Test func cjkWrapsAnywhere() {
        let rows = TextWrap.wrap("防火墙只允许必要的端口", width: 10)
        #expect(rows == ["防火墙只允", "许必要的端", "口"])
        for r in rows { #expect(DisplayWidth.of(r) <= 10) }
        // Odd width: a wide char never straddles the edge.
        #expect(TextWrap.wrap("中文中文", width: 3) == ["中", "文", "中", "文"])
    }
    @Test func mixedCJKAndLatin() {
        let rows = TextWrap.wrap("使用 nginx 作为反向代理服务器", width: 12)
        for r in rows { #expect(DisplayWidth.of(r) <= 12) }
        #expect(rows.joined() .replacingSpaces == "使用nginx作为反向代理服务器")
    }
    @Test func newlinesAlwaysBreak() {
        #expect(TextWrap.wrap("a\nb c", width: 10) == ["a", "b c"])
        #expect(TextWrap.wrap("", width: 10) == [""])
    }
    @Test func stylesSurviveWrapping() {
        let line = Line([Span("red ", style: Style(fg: .red)), Span("green text", style: Style(fg: .green))])
        let rows = TextWrap.wrap(line, width: 9)
        #expect(rows.map(\.text) == ["red green", "text"])
        #expect(rows[0].spans.map(\.style.fg) == [.red, .green])
        #expect(rows[1].spans.map(\.style.fg) == [.green])
    }
    @Test func truncate() {
        #expect(TextWrap.truncate("hello world", width: 8) == "hello w…")
        #expect(TextWrap.truncate("hello", width: 5) == "hello")
        #expect(TextWrap.truncate("中文中文", width: 5) == "中文…")
        #expect(TextWrap.truncate("hello world", width: 8, ellipsis: "...") == "hello...")
        #expect(TextWrap.pad("ab", width: 4) == "ab  ")
    }
}

extension String {
    var replacingSpaces: String { filter { $0 != " " } }
}
