import Foundation
import Testing
import WizardCore
@testable import Stages

/// Every stage has a lesson in every language, embedded in the binary, in the markdown subset the
/// Lesson tab renders (docs/lessons.md).
@Suite struct LessonsTests {
    let assets = TemplateSource()

    func lesson(_ lang: Language, _ stage: StageID) throws -> String {
        try assets.asset("lessons/\(lang.rawValue)/\(stage.rawValue).md")
    }

    @Test func everyStageHasEveryLanguage() throws {
        for stage in Stages.order {
            for lang in Language.allCases {
                let path = "lessons/\(lang.rawValue)/\(stage.rawValue).md"
                #expect(EmbeddedAssets.files[path] != nil, "\(path) is not embedded (write it, then run scripts/embed-assets)")
            }
        }
    }

    /// No lesson for a stage that does not exist (a renamed stage leaves its lessons behind).
    @Test func noOrphanLessons() {
        let ids = Set(Stages.order.map(\.rawValue))
        for path in EmbeddedAssets.files.keys where path.hasPrefix("lessons/") {
            let parts = path.split(separator: "/")
            #expect(parts.count == 3, "unexpected lesson path \(path)")
            guard parts.count == 3 else { continue }
            #expect(Language(rawValue: String(parts[1])) != nil, "\(path): unknown language directory")
            #expect(parts[2].hasSuffix(".md") && ids.contains(String(parts[2].dropLast(3))), "\(path): no stage with that id")
        }
    }

    /// A title, at least three sections, and only the markdown the Lesson tab renders.
    @Test func shapeAndMarkdownSubset() throws {
        for stage in Stages.order {
            for lang in Language.allCases {
                guard let text = EmbeddedAssets.files["lessons/\(lang.rawValue)/\(stage.rawValue).md"] else { continue }
                let name = "\(lang.rawValue)/\(stage.rawValue).md"
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                #expect(lines.first?.hasPrefix("# ") == true, "\(name) must start with a `# ` title")
                var inCode = false
                var titles = 0, sections = 0
                for (n, line) in lines.enumerated() {
                    if line.hasPrefix("```") { inCode.toggle(); continue }
                    if inCode { continue }
                    if line.hasPrefix("# ") { titles += 1 }
                    if line.hasPrefix("## ") { sections += 1 }
                    #expect(!line.hasPrefix("###"), "\(name):\(n + 1): only # and ## headings")
                    #expect(!line.hasPrefix("|"), "\(name):\(n + 1): no tables")
                    #expect(!line.hasPrefix("  ") && !line.hasPrefix("\t"), "\(name):\(n + 1): no indented or nested blocks")
                    #expect(!line.hasPrefix("* ") && !line.hasPrefix("+ "), "\(name):\(n + 1): lists use `- `")
                    #expect(!line.hasPrefix(">"), "\(name):\(n + 1): no block quotes")
                    #expect(!line.contains("!["), "\(name):\(n + 1): no images")
                    #expect(line.range(of: #"</?[a-zA-Z][a-zA-Z0-9]*[ >/]"#, options: .regularExpression) == nil
                        || line.contains("`"), "\(name):\(n + 1): no HTML outside code")
                    #expect(!line.contains("**"), "\(name):\(n + 1): no bold (not rendered)")
                    #expect(line.filter { $0 == "`" }.count % 2 == 0, "\(name):\(n + 1): unbalanced inline code")
                }
                #expect(!inCode, "\(name): unclosed code block")
                #expect(titles == 1, "\(name): exactly one `# ` title, found \(titles)")
                #expect(sections >= 3, "\(name): at least three `## ` sections, found \(sections)")
                #expect(lines.count >= 30 && lines.count <= 110, "\(name): \(lines.count) lines")
            }
        }
    }

    /// Both languages cover the same ground: the same number of sections and the same code blocks.
    @Test func languagesAgree() throws {
        func codeBlocks(_ text: String) -> [String] {
            var out: [String] = [], cur: [String] = [], inCode = false
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("```") {
                    if inCode { out.append(cur.joined(separator: "\n")); cur = [] }
                    inCode.toggle()
                } else if inCode { cur.append(String(line)) }
            }
            return out
        }
        for stage in Stages.order {
            guard let en = EmbeddedAssets.files["lessons/en/\(stage.rawValue).md"],
                  let zh = EmbeddedAssets.files["lessons/zh/\(stage.rawValue).md"] else { continue }
            let sections = { (t: String) in t.split(separator: "\n").filter { $0.hasPrefix("## ") }.count }
            #expect(sections(en) == sections(zh), "\(stage): \(sections(en)) sections in en, \(sections(zh)) in zh")
            #expect(codeBlocks(en).count == codeBlocks(zh).count, "\(stage): different number of code blocks")
        }
    }

    /// The lesson can be read through the same path as the templates (and --assets-dir).
    @Test func readableThroughTemplateSource() throws {
        let text = try lesson(.en, Stages.order[0])
        #expect(text.hasPrefix("# "))
    }
}
