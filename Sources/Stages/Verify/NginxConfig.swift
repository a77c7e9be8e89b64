import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A small parser of nginx configuration as dumped by `nginx -T`, enough to lint the
/// `add_header` inheritance trap: nginx inherits `add_header` directives from the enclosing level
/// only when the current level has none of its own, so one `add_header` inside a `location`
/// silently drops every header set at the server (or http) level for that location.
public enum NginxConfig {
    public struct Directive: Sendable, Equatable {
        public var name: String
        public var args: [String]
        /// nil for a simple directive (`name args;`), the children for a block (`name args { … }`).
        public var block: [Directive]?
        public var file: String
        public var line: Int

        public init(name: String, args: [String], block: [Directive]? = nil, file: String, line: Int) {
            self.name = name
            self.args = args
            self.block = block
            self.file = file
            self.line = line
        }
    }

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var message: String
        public var description: String { "\(file):\(line): \(message)" }
    }

    // MARK: - nginx -T

    /// Splits `nginx -T` output into (path, content) pairs, in dump order. The first one is the
    /// main configuration file.
    public static func splitDump(_ text: String) -> [(path: String, content: String)] {
        var out: [(String, String)] = []
        var current: String?
        var lines: [Substring] = []
        func flush() {
            if let c = current { out.append((c, lines.joined(separator: "\n"))) }
            lines = []
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# configuration file "), line.hasSuffix(":") {
                flush()
                current = String(line.dropFirst("# configuration file ".count).dropLast())
                continue
            }
            if current != nil { lines.append(line) }
        }
        flush()
        return out
    }

    /// Parses a whole `nginx -T` dump: the main file with every `include` expanded from the
    /// other files of the dump (glob patterns matched as nginx does, in sorted order).
    public static func parseDump(_ text: String) throws -> [Directive] {
        let files = splitDump(text)
        guard let main = files.first else { return [] }
        var byPath: [String: String] = [:]
        for f in files where byPath[f.path] == nil { byPath[f.path] = f.content }
        let prefix = (main.path as NSString).deletingLastPathComponent
        return try parse(main.content, file: main.path, include: { pattern in
            let abs = pattern.hasPrefix("/") ? pattern : prefix + "/" + pattern
            let matches = byPath.keys.filter { fnmatch(abs, $0, FNM_PATHNAME) == 0 }.sorted()
            return matches.map { ($0, byPath[$0]!) }
        })
    }

    // MARK: - Parsing

    struct Token {
        enum Kind { case word, open, close, semicolon }
        var kind: Kind
        var text: String
        var line: Int
    }

    static func tokenize(_ text: String, file: String) throws -> [Token] {
        var tokens: [Token] = []
        let chars = Array(text.unicodeScalars)
        var i = 0
        var line = 1
        var word = ""
        var wordLine = 1
        var inWord = false
        // As nginx does: \" \' \\ lose the backslash, \t \r \n become control characters,
        // any other escaped character keeps its backslash (regexes: "\.").
        func appendEscape(_ next: Unicode.Scalar) {
            switch next {
            case "\"", "'", "\\": word.unicodeScalars.append(next)
            case "t": word.unicodeScalars.append("\t")
            case "r": word.unicodeScalars.append("\r")
            case "n": word.unicodeScalars.append("\n")
            default:
                word.unicodeScalars.append("\\")
                word.unicodeScalars.append(next)
            }
        }
        func endWord() {
            if inWord { tokens.append(Token(kind: .word, text: word, line: wordLine)) }
            word = ""
            inWord = false
        }
        while i < chars.count {
            let c = chars[i]
            switch c {
            case "\n":
                endWord(); line += 1
            case " ", "\t", "\r":
                endWord()
            case "#" where !inWord:
                while i < chars.count, chars[i] != "\n" { i += 1 }
                continue
            case "{":
                endWord(); tokens.append(Token(kind: .open, text: "{", line: line))
            case "}":
                endWord(); tokens.append(Token(kind: .close, text: "}", line: line))
            case ";":
                endWord(); tokens.append(Token(kind: .semicolon, text: ";", line: line))
            case "\"", "'":
                if !inWord { inWord = true; wordLine = line }
                let quote = c
                i += 1
                var closed = false
                while i < chars.count {
                    let d = chars[i]
                    if d == "\\", i + 1 < chars.count {
                        appendEscape(chars[i + 1])
                        if chars[i + 1] == "\n" { line += 1 }
                        i += 2
                        continue
                    }
                    if d == quote { closed = true; break }
                    if d == "\n" { line += 1 }
                    word.unicodeScalars.append(d)
                    i += 1
                }
                if !closed { throw ParseError(file: file, line: line, message: "unterminated quoted string") }
            case "\\" where i + 1 < chars.count:
                if !inWord { inWord = true; wordLine = line }
                appendEscape(chars[i + 1])
                i += 1
            default:
                if !inWord { inWord = true; wordLine = line }
                word.unicodeScalars.append(c)
            }
            i += 1
        }
        endWord()
        return tokens
    }

    /// Parses one file; `include` directives are replaced by the directives of the files they
    /// name (`include` returns (path, content) for a pattern).
    public static func parse(_ text: String, file: String = "nginx.conf",
                             include: (String) -> [(String, String)] = { _ in [] }) throws -> [Directive] {
        var depth = 0
        return try parse(text, file: file, include: include, depth: &depth)
    }

    static func parse(_ text: String, file: String, include: (String) -> [(String, String)], depth: inout Int) throws -> [Directive] {
        depth += 1
        defer { depth -= 1 }
        guard depth < 20 else { throw ParseError(file: file, line: 1, message: "includes nested too deep") }
        let tokens = try tokenize(text, file: file)
        var pos = 0
        func block(_ top: Bool) throws -> [Directive] {
            var out: [Directive] = []
            var words: [Token] = []
            while pos < tokens.count {
                let t = tokens[pos]
                pos += 1
                switch t.kind {
                case .word:
                    words.append(t)
                case .semicolon:
                    guard let head = words.first else { throw ParseError(file: file, line: t.line, message: "unexpected \";\"") }
                    let d = Directive(name: head.text, args: words.dropFirst().map(\.text), file: file, line: head.line)
                    words = []
                    if d.name == "include", let pattern = d.args.first {
                        for (path, content) in include(pattern) {
                            out += try parse(content, file: path, include: include, depth: &depth)
                        }
                    } else {
                        out.append(d)
                    }
                case .open:
                    guard let head = words.first else { throw ParseError(file: file, line: t.line, message: "unexpected \"{\"") }
                    let args = words.dropFirst().map(\.text)
                    words = []
                    if head.text.hasSuffix("_by_lua_block") {
                        // Lua code is not nginx syntax: skip to the matching brace
                        var level = 1
                        while pos < tokens.count, level > 0 {
                            if tokens[pos].kind == .open { level += 1 }
                            if tokens[pos].kind == .close { level -= 1 }
                            pos += 1
                        }
                        out.append(Directive(name: head.text, args: args, block: [], file: file, line: head.line))
                        continue
                    }
                    let children = try block(false)
                    out.append(Directive(name: head.text, args: args, block: children, file: file, line: head.line))
                case .close:
                    if top { throw ParseError(file: file, line: t.line, message: "unexpected \"}\"") }
                    if !words.isEmpty { throw ParseError(file: file, line: t.line, message: "missing \";\" before \"}\"") }
                    return out
                }
            }
            if !top { throw ParseError(file: file, line: tokens.last?.line ?? 1, message: "missing \"}\"") }
            if !words.isEmpty { throw ParseError(file: file, line: words[0].line, message: "missing \";\" after \(words[0].text)") }
            return out
        }
        return try block(true)
    }

    // MARK: - The add_header inheritance lint

    public struct AddHeaderFinding: Sendable, Equatable, CustomStringConvertible {
        /// `server_name` values of the enclosing server (empty at http level).
        public var serverNames: [String]
        /// e.g. `location /static` or `location /static > if`
        public var context: String
        public var file: String
        public var line: Int
        /// The headers the block sets itself.
        public var own: [String]
        /// The headers set at the enclosing levels that this block no longer sends.
        public var dropped: [String]

        public var description: String {
            let server = serverNames.isEmpty ? "" : "server \(serverNames.joined(separator: " ")): "
            if dropped.isEmpty {
                return "\(server)\(context) (\(file):\(line)) sets its own add_header (\(own.joined(separator: ", "))); nothing is inherited yet, but any header added at the server level later will be silently missing here"
            }
            return "\(server)\(context) (\(file):\(line)) has add_header \(own.joined(separator: ", ")), so it drops the inherited \(dropped.joined(separator: ", "))"
        }
    }

    static func headerNames(_ directives: [Directive]) -> [String] {
        directives.filter { $0.name == "add_header" }.compactMap { $0.args.first?.lowercased() }
    }

    /// Every block that has its own `add_header` while an enclosing level has some: the names it
    /// drops (a finding with `dropped` empty means the block re-declares every inherited header,
    /// or there was nothing to inherit: harmless now, reported only when `includeHarmless`).
    public static func lintAddHeader(_ config: [Directive], includeHarmless: Bool = false) -> [AddHeaderFinding] {
        var out: [AddHeaderFinding] = []
        func walk(_ ds: [Directive], inherited: [String], serverNames: [String], path: [String]) {
            for d in ds {
                guard let children = d.block else { continue }
                let kind = d.name
                guard ["http", "server", "location", "if", "limit_except"].contains(kind) else { continue }
                var names = serverNames
                if kind == "server" {
                    names = children.filter { $0.name == "server_name" }.flatMap(\.args)
                }
                let own = headerNames(children)
                let label = kind == "location" ? "location " + d.args.joined(separator: " ") : kind
                let here = path + [label]
                let effective: [String]
                if own.isEmpty {
                    effective = inherited
                } else {
                    effective = own
                    if kind != "http" {
                        let ownSet = Set(own)
                        var seen = Set<String>()
                        let dropped = inherited.filter { !ownSet.contains($0) && seen.insert($0).inserted }
                        if !dropped.isEmpty || (includeHarmless && kind != "server") {
                            out.append(AddHeaderFinding(serverNames: names, context: here.joined(separator: " > "),
                                                        file: d.file, line: d.line, own: own, dropped: dropped))
                        }
                    }
                }
                walk(children, inherited: effective, serverNames: names, path: kind == "http" ? [] : here)
            }
        }
        walk(config, inherited: [], serverNames: [], path: [])
        return out
    }

    /// Server blocks, with their names and listen arguments.
    public static func servers(_ config: [Directive]) -> [Directive] {
        var out: [Directive] = []
        func walk(_ ds: [Directive]) {
            for d in ds {
                guard let b = d.block else { continue }
                if d.name == "server" { out.append(d) } else if d.name == "http" { walk(b) }
            }
        }
        walk(config)
        return out
    }

    /// Whether a server block answers for `host` (exact, `.domain` wildcard, `*.domain`).
    public static func server(_ s: Directive, matches host: String) -> Bool {
        let names = (s.block ?? []).filter { $0.name == "server_name" }.flatMap(\.args).map { $0.lowercased() }
        let h = host.lowercased()
        for n in names {
            if n == h { return true }
            if n.hasPrefix("."), h == String(n.dropFirst()) || h.hasSuffix(n) { return true }
            if n.hasPrefix("*."), h.hasSuffix(String(n.dropFirst())) { return true }
        }
        return false
    }

    /// The header names the server level adds (the http level's when the server has none).
    public static func serverLevelHeaders(_ config: [Directive], host: String) -> [String] {
        let http = config.first { $0.name == "http" }?.block ?? config
        let httpLevel = headerNames(http)
        var out = Set<String>()
        for s in servers(config) where server(s, matches: host) {
            let own = headerNames(s.block ?? [])
            out.formUnion(own.isEmpty ? httpLevel : own)
        }
        return out.sorted()
    }
}
