import Foundation
import Testing
@testable import Stages

@Suite struct ManagedBlockTests {
    let order = ["django", "static-files", "security-headers"]
    let templates = TemplateSource()
    var render: ([(name: String, body: String)]) throws -> String {
        let t = templates
        return { try ManagedBlock.render($0, templates: t) }
    }
    let user = "from pathlib import Path\nBASE_DIR = Path(__file__).resolve().parent.parent\nDEBUG = True\nINSTALLED_APPS = [\"a\"]\n"

    @Test func insertsAtTheEnd() throws {
        let out = try ManagedBlock.setting("django", to: "X = 1\n", in: user, order: order, renderBlock: render)
        #expect(out.hasPrefix(user + "\n" + ManagedBlock.begin + "\n"))
        #expect(out.hasSuffix(ManagedBlock.end + "\n"))
        #expect(try ManagedBlock.section("django", in: out) == "X = 1")
    }

    @Test func userTextWithoutFinalNewline() throws {
        let out = try ManagedBlock.setting("django", to: "X = 1", in: "A = 1", order: order, renderBlock: render)
        #expect(out.hasPrefix("A = 1\n\n" + ManagedBlock.begin))
    }

    @Test func replacesNeverDuplicates() throws {
        var out = try ManagedBlock.setting("django", to: "X = 1", in: user, order: order, renderBlock: render)
        out = try ManagedBlock.setting("django", to: "X = 2", in: out, order: order, renderBlock: render)
        #expect(out.components(separatedBy: ManagedBlock.begin).count == 2)
        #expect(out.components(separatedBy: "# --- section: django ---").count == 2)
        #expect(try ManagedBlock.section("django", in: out) == "X = 2")
        #expect(!out.contains("X = 1"))
        #expect(out.hasPrefix(user))
    }

    @Test func idempotent() throws {
        let once = try ManagedBlock.setting("django", to: "X = 1\nY = [\n    1,\n]\n", in: user, order: order, renderBlock: render)
        let twice = try ManagedBlock.setting("django", to: "X = 1\nY = [\n    1,\n]\n", in: once, order: order, renderBlock: render)
        #expect(once == twice)
    }

    @Test func sectionsKeepStageOrderAndEachOther() throws {
        var out = try ManagedBlock.setting("static-files", to: "DEBUG = False", in: user, order: order, renderBlock: render)
        out = try ManagedBlock.setting("django", to: "X = 1", in: out, order: order, renderBlock: render)
        let d = try #require(out.range(of: "# --- section: django ---"))
        let s = try #require(out.range(of: "# --- section: static-files ---"))
        #expect(d.lowerBound < s.lowerBound)
        // replacing one section leaves the other as it was
        let again = try ManagedBlock.setting("django", to: "X = 3", in: out, order: order, renderBlock: render)
        #expect(try ManagedBlock.section("static-files", in: again) == "DEBUG = False")
        #expect(try ManagedBlock.section("django", in: again) == "X = 3")
    }

    @Test func userCodeAroundTheBlockIsUntouched() throws {
        let block = try ManagedBlock.setting("django", to: "X = 1", in: "", order: order, renderBlock: render)
        let before = "# my settings\nA = 1\n\n"
        let after = "\n# added later by the user\nB = 2\n"
        let file = before + block + after
        let out = try ManagedBlock.setting("django", to: "X = 2", in: file, order: order, renderBlock: render)
        #expect(out.hasPrefix(before))
        #expect(out.hasSuffix(after))
        #expect(try ManagedBlock.section("django", in: out) == "X = 2")
    }

    @Test func unknownSectionsAreKept() throws {
        var out = try ManagedBlock.setting("future-stage", to: "Z = 9", in: user, order: order, renderBlock: render)
        out = try ManagedBlock.setting("django", to: "X = 1", in: out, order: order, renderBlock: render)
        #expect(try ManagedBlock.section("future-stage", in: out) == "Z = 9")
        let d = try #require(out.range(of: "# --- section: django ---"))
        let f = try #require(out.range(of: "# --- section: future-stage ---"))
        #expect(d.lowerBound < f.lowerBound)
    }

    @Test func brokenMarkersAreRefused() throws {
        #expect(throws: ManagedBlock.EditError.unterminated) {
            _ = try ManagedBlock.setting("django", to: "X", in: user + ManagedBlock.begin + "\n", order: order, renderBlock: render)
        }
        #expect(throws: ManagedBlock.EditError.endWithoutBegin) { _ = try ManagedBlock.parse(ManagedBlock.end + "\n") }
        let one = try ManagedBlock.setting("django", to: "X = 1", in: "", order: order, renderBlock: render)
        #expect(throws: ManagedBlock.EditError.duplicateBlocks(2)) { _ = try ManagedBlock.parse(one + one) }
        #expect(throws: ManagedBlock.EditError.self) {
            _ = try ManagedBlock.setting("bad name", to: "X", in: "", order: order, renderBlock: render)
        }
    }

    @Test func noBlockMeansNoSection() throws {
        #expect(try ManagedBlock.section("django", in: user) == nil)
        #expect(try ManagedBlock.parse(user).range == nil)
    }

    @Test func pythonLiterals() {
        #expect(pythonList([".a.test", "127.0.0.1"]) == "[\".a.test\", \"127.0.0.1\"]")
        #expect(pythonString("a\"b\\c\n") == "\"a\\\"b\\\\c\\n\"")
    }
}
