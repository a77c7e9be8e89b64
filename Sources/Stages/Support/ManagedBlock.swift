import Foundation

/// The one marker-delimited block djdeploy owns at the end of a Django `settings.py`.
///
/// ```
/// # BEGIN djdeploy managed block — do not edit
/// # (comment)
/// # --- section: django ---
/// ...
/// # --- section: static-files ---
/// ...
/// # END djdeploy managed block
/// ```
/// Each stage owns one section and replaces only that section, so steps of different stages never
/// undo each other (re-running one is a noop). Sections are kept in `order` (the stage order;
/// unknown sections keep their place after the known ones). Everything outside the block — the
/// user's code — is left byte for byte as it was. A file without a block gets one appended.
public enum ManagedBlock {
    public static let begin = "# BEGIN djdeploy managed block — do not edit"
    public static let end = "# END djdeploy managed block"
    static let sectionPrefix = "# --- section: "
    static let sectionSuffix = " ---"

    public enum EditError: Error, Sendable, Equatable, CustomStringConvertible {
        case unterminated
        case endWithoutBegin
        case duplicateBlocks(Int)
        case invalidSectionName(String)

        public var description: String {
            switch self {
            case .unterminated: return "settings.py has \"\(ManagedBlock.begin)\" but no \"\(ManagedBlock.end)\" line; fix the file by hand (restore the END line or remove the block)"
            case .endWithoutBegin: return "settings.py has \"\(ManagedBlock.end)\" without a BEGIN line; fix the file by hand"
            case .duplicateBlocks(let n): return "settings.py has \(n) djdeploy managed blocks; remove all but one by hand"
            case .invalidSectionName(let s): return "invalid managed-block section name \(s.debugDescription)"
            }
        }
    }

    /// The parsed block: where it is (line indices) and its sections in file order.
    public struct Parsed: Sendable, Equatable {
        /// Line index of BEGIN and END (inclusive), nil when there is no block.
        public var range: ClosedRange<Int>?
        public var sections: [(name: String, body: String)]
        public static func == (a: Parsed, b: Parsed) -> Bool {
            a.range == b.range && a.sections.map(\.name) == b.sections.map(\.name) && a.sections.map(\.body) == b.sections.map(\.body)
        }
    }

    static func lines(_ text: String) -> [Substring] {
        text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    public static func parse(_ text: String) throws(EditError) -> Parsed {
        let ls = lines(text)
        var begins: [Int] = [], ends: [Int] = []
        for (i, l) in ls.enumerated() {
            let t = l.hasSuffix("\r") ? l.dropLast() : l
            if t == begin { begins.append(i) } else if t == end { ends.append(i) }
        }
        if begins.count > 1 { throw .duplicateBlocks(begins.count) }
        if begins.isEmpty {
            if !ends.isEmpty { throw .endWithoutBegin }
            return Parsed(range: nil, sections: [])
        }
        guard let e = ends.first(where: { $0 > begins[0] }) else { throw .unterminated }
        if ends.count > 1 { throw .duplicateBlocks(ends.count) }
        var sections: [(name: String, body: String)] = []
        var current: String?
        var body: [Substring] = []
        func flush() {
            if let c = current {
                var b = body
                while let last = b.last, last.trimmingCharacters(in: .whitespaces).isEmpty { b.removeLast() }
                sections.append((c, b.joined(separator: "\n")))
            }
        }
        for l in ls[(begins[0] + 1) ..< e] {
            if l.hasPrefix(sectionPrefix), l.hasSuffix(sectionSuffix), l.count > sectionPrefix.count + sectionSuffix.count {
                flush()
                current = String(l.dropFirst(sectionPrefix.count).dropLast(sectionSuffix.count))
                body = []
            } else if current != nil {
                body.append(l)
            }
        }
        flush()
        return Parsed(range: begins[0] ... e, sections: sections)
    }

    /// The body of one section, or nil when the file has no such section.
    public static func section(_ name: String, in text: String) throws(EditError) -> String? {
        try parse(text).sections.first { $0.name == name }?.body
    }

    /// Normalizes a section body as it is stored: no trailing blank lines or newline.
    public static func normalize(_ body: String) -> String {
        var ls = lines(body)
        while let last = ls.last, last.trimmingCharacters(in: .whitespaces).isEmpty { ls.removeLast() }
        return ls.joined(separator: "\n")
    }

    /// Sets section `name` to `body` and returns the whole new file text. `renderBlock` turns the
    /// ordered sections into the block text (from the template); `order` is the canonical order.
    public static func setting(_ name: String, to body: String, in text: String, order: [String],
                               renderBlock: ([(name: String, body: String)]) throws -> String) throws -> String {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw EditError.invalidSectionName(name)
        }
        let parsed = try parse(text)
        var sections = parsed.sections
        let normalized = normalize(body)
        if let i = sections.firstIndex(where: { $0.name == name }) {
            sections[i].body = normalized
            // a section name appearing twice (hand edits) keeps only its first place
            sections = sections.enumerated().filter { $0.offset == i || $0.element.name != name }.map(\.element)
        } else {
            sections.append((name, normalized))
        }
        // canonical order: known names by `order`, unknown ones after, keeping their relative order
        let rank: (String) -> Int = { n in order.firstIndex(of: n) ?? order.count }
        sections = sections.enumerated().sorted { a, b in
            let ra = rank(a.element.name), rb = rank(b.element.name)
            return ra != rb ? ra < rb : a.offset < b.offset
        }.map(\.element)
        var block = try renderBlock(sections)
        if block.hasSuffix("\n") { block.removeLast() }
        let result: String
        if let r = parsed.range {
            var ls = lines(text)
            ls.replaceSubrange(r, with: lines(block))
            result = ls.joined(separator: "\n")
        } else {
            // append, separated by one blank line, keeping the user's text as it is
            var out = text
            if !out.isEmpty && !out.hasSuffix("\n") { out += "\n" }
            if !out.isEmpty && !out.hasSuffix("\n\n") { out += "\n" }
            result = out + block + "\n"
        }
        // the template must produce a block that reads back to the same section
        guard try section(name, in: result) == normalized else {
            throw TemplateError.invalid("templates/django/managed-block.py.mustache",
                                        detail: "the rendered block does not read back (markers or section headers changed?)")
        }
        return result
    }

    /// Renders the block with the `django/managed-block.py` template.
    public static func render(_ sections: [(name: String, body: String)], templates: TemplateSource) throws -> String {
        let ctx: [String: any Sendable] = ["sections": sections.map { ["name": $0.name, "body": $0.body] as [String: String] }]
        return try templates.render("django/managed-block.py", ctx)
    }
}
