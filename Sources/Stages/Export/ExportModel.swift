import Foundation
import StepRunner
import WizardCore

// The export's intermediate form: what every step of the wizard does, written unconditionally
// (no facts read at export time) as tasks with their own idempotence guards. Both renderers — the
// bash script (`ShellExport`) and the Ansible playbook (`AnsibleExport`) — read only this, so a
// change to a step's export changes both outputs. Each step's tasks are built from the same
// builders the step's plan uses (its `Command`s, scripts and templates), see `StepExports`.

/// A reference to an export variable inside any string (argv word, path, template value):
/// rendered as `${DOMAIN}` in bash and `{{ domain }}` in Ansible. Only inputs become variables.
enum ExportRef {
    static let open: Character = "\u{E000}"
    static let close: Character = "\u{E001}"
    static func of(_ name: String) -> String { "\(open)\(name)\(close)" }

    /// Splits a string into literal text and variable names.
    enum Piece: Equatable { case text(String), variable(String) }
    static func pieces(_ s: String) -> [Piece] {
        var out: [Piece] = []
        var text = "", name = "", inRef = false
        for c in s {
            if c == open { if !text.isEmpty { out.append(.text(text)); text = "" }; inRef = true; continue }
            if c == close, inRef { out.append(.variable(name)); name = ""; inRef = false; continue }
            if inRef { name.append(c) } else { text.append(c) }
        }
        if !text.isEmpty { out.append(.text(text)) }
        return out
    }
    static func contains(_ s: String) -> Bool { s.contains(open) }
}

/// An input of the deploy, set at the top of the script / in `group_vars/all.yml`.
struct ExportVariable: Sendable, Equatable {
    /// lower_snake_case (the Ansible name); the shell name is its upper case.
    var name: String
    var value: String
    var comment: String
    var shellName: String { name.uppercased() }
    var ref: String { ExportRef.of(name) }
}

/// A yes/no fact read on the target at run time by a command (exit 0 = yes), e.g. "STATIC_ROOT
/// exists" or "systemd runs". bash: `if CMD; then`; Ansible: a registered check task.
struct ExportFact: Sendable, Hashable {
    var name: String
    /// The command; for a combination, the same combination as one `sh -c` command.
    var test: [String]
    /// A combination: holds when every fact of `all` holds and none of `none` does (renderers
    /// may evaluate the parts once and combine their results instead of running `test`).
    var all: [ExportFact] = []
    var none: [ExportFact] = []

    var isCombination: Bool { !all.isEmpty || !none.isEmpty }

    /// The parts (recursively), then the fact itself: an evaluation order.
    var closure: [ExportFact] {
        var out: [ExportFact] = []
        for p in all + none { for f in p.closure where !out.contains(f) { out.append(f) } }
        out.append(self)
        return out
    }
}

/// A template value: text (may hold variable references), a constant flag, or a fact.
enum ExportValue: Sendable {
    case text(String)
    case flag(Bool)
    case fact(ExportFact)
}

/// A file's content. Built by `ExportContent.template`: a template whose values are all known at
/// export time is rendered now (variables stay references); one that depends on facts is kept as
/// a tree (`TemplateTree`) or, for a single fact in inline sections, as the two renderings.
enum ExportContent: Sendable {
    /// Fixed text (may hold variable references).
    case text(String)
    /// A template (standalone sections only) rendered on the target from facts and values.
    case tree(name: String, nodes: [TemplateNode], values: [String: ExportValue])
    /// One of two texts, by a fact.
    case choice(ExportFact, whenTrue: String, whenFalse: String)

    var facts: [ExportFact] {
        switch self {
        case .text: return []
        case .choice(let f, _, _): return f.closure
        case .tree(_, _, let values):
            var out: [ExportFact] = []
            for (_, v) in values.sorted(by: { $0.key < $1.key }) {
                guard case .fact(let f) = v else { continue }
                for g in f.closure where !out.contains(g) { out.append(g) }
            }
            return out
        }
    }

    /// `templates/<name>.mustache` with the step's context.
    static func template(_ name: String, _ context: [String: ExportValue], templates: TemplateSource) throws -> ExportContent {
        let facts = context.filter { if case .fact = $0.value { return true } else { return false } }
        func plain(_ override: [String: Bool]) -> [String: any Sendable] {
            var c: [String: any Sendable] = [:]
            for (k, v) in context {
                switch v {
                case .text(let s): c[k] = s
                case .flag(let b): c[k] = b
                case .fact: c[k] = override[k] ?? false
                }
            }
            return c
        }
        if facts.isEmpty { return .text(try templates.render(name, plain([:]))) }
        let source = try templates.asset("templates/\(name).mustache")
        if let nodes = try? TemplateTree.parse(source, name: name) {
            return .tree(name: name, nodes: nodes, values: context)
        }
        guard facts.count == 1, let (key, value) = facts.first, case .fact(let f) = value else {
            throw ExportError.template(name, "values read on the target need standalone {{#section}} lines")
        }
        return .choice(f, whenTrue: try templates.render(name, plain([key: true])),
                       whenFalse: try templates.render(name, plain([key: false])))
    }
}

/// A named handler (nginx reload, gunicorn HUP): run at the end of the step's stage (or where a
/// step flushes handlers) when a task that notifies it changed something.
enum ExportHandler: String, Sendable, CaseIterable {
    case reloadNginx = "reload nginx"
    case reloadGunicorn = "reload gunicorn"
}

/// One idempotent task.
enum ExportTask: Sendable {
    /// Text for the reader (and an echo in bash, a debug task in Ansible).
    case note(String)
    /// apt packages, installed only when missing. `preventServiceStart`: their daemons are not
    /// started with the stock configuration (policy-rc.d 101).
    case packages([String], preventServiceStart: Bool)
    /// A system user with its own group, no login shell, home `home` (mode 0750).
    case systemUser(name: String, home: String)
    /// Directories with owner, group and mode.
    case directories([String], owner: String, group: String, mode: Int)
    /// Packages in a virtualenv, installed as `user` (pip: "name==spec").
    case pip(venv: String, requirements: [String], user: String)
    /// Commands run in order unless `unless` succeeds (skip: already done) / only if `onlyIf`
    /// succeeds. `creates`: skip when that path exists. `changedUnless`: output text that means
    /// "nothing changed" (e.g. collectstatic's "0 static files copied").
    case commands(title: String, [Command], unless: Command? = nil, onlyIf: Command? = nil, creates: String? = nil,
                  changedUnless: String? = nil, notify: [ExportHandler] = [])
    /// A file with content, mode and owner; the previous file is kept as a backup. `validate`:
    /// a command with `%s` for the candidate file, run before it replaces the old one.
    case file(path: String, content: ExportContent, mode: Int, owner: String, group: String,
              validate: [String]? = nil, notify: [ExportHandler] = [])
    /// A symlink `path` → `target`.
    case symlink(path: String, target: String, notify: [ExportHandler] = [])
    /// `path` removed (file or symlink).
    case absent(path: String, notify: [ExportHandler] = [])
    /// A marker-delimited block (`# BEGIN djdeploy managed section: NAME` … `# END …`) in a file
    /// that exists; replaced as a whole, appended at the end the first time.
    case block(path: String, name: String, body: String, notify: [ExportHandler] = [])
    /// Every line matching `regex` (Python syntax) becomes `replacement` (`\1` back-references).
    case replaceLines(path: String, regex: String, replacement: String, validate: [String]? = nil,
                      notify: [ExportHandler] = [])
    /// A service started when stopped (no-op when it runs).
    case serviceStarted(String)
    /// Runs the notified handlers now (before a step that needs their effect).
    case flushHandlers
    /// Tasks run only when a fact holds (bash `if`, an Ansible `block` with `when`); `negate`:
    /// only when it does not.
    indirect case when(ExportFact, negate: Bool = false, [ExportTask])
}

/// One step of the wizard in export form.
struct ExportStep: Sendable {
    var stage: StageID
    var stageTitle: String
    var id: StepID
    var title: String
    var runsOn: RunsOn
    var tasks: [ExportTask]
}

/// The whole export: variables, facts used anywhere, steps in order, handler commands.
struct ExportPlan: Sendable {
    var variables: [ExportVariable]
    var steps: [ExportStep]
    var handlers: [ExportHandler: [Command]]
    /// The Django version the pins were chosen for (fixed at export time).
    var djangoVersion: String

    var facts: [ExportFact] {
        var seen = Set<String>(), out: [ExportFact] = []
        for s in steps {
            for t in s.tasks {
                guard case .file(_, let content, _, _, _, _, _) = t else { continue }
                for f in content.facts where seen.insert(f.name).inserted { out.append(f) }
            }
        }
        return out
    }
}

enum ExportError: Error, CustomStringConvertible {
    case unsupported(String)
    case noExport([StepID])
    case template(String, String)

    var description: String {
        switch self {
        case .unsupported(let s): return s
        case .noExport(let ids): return "these steps have no export form yet: \(ids.map(\.rawValue).joined(separator: ", "))"
        case .template(let name, let why): return "template \(name) cannot be exported: \(why)"
        }
    }
}

// MARK: - mustache → a small tree both renderers walk

/// The subset of mustache the templates use: `{{{name}}}` values and `{{#name}}`/`{{^name}}`
/// sections on lines of their own (standalone), without lists. `TemplateTree.parse` fails on
/// anything else, so a template change that leaves the subset is caught by the export test.
indirect enum TemplateNode: Sendable, Equatable {
    /// One output line (without its newline) made of literal text and values.
    case line([LinePiece])
    case section(name: String, inverted: Bool, body: [TemplateNode])

    enum LinePiece: Sendable, Equatable { case text(String), value(String) }
}

enum TemplateTree {
    static func parse(_ source: String, name: String) throws -> [TemplateNode] {
        var stack: [(name: String, inverted: Bool, nodes: [TemplateNode])] = [("", false, [])]
        var lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        for line in lines {
            let t = line.trimmingCharacters(in: .whitespaces)
            if let m = t.wholeMatch(of: /\{\{([#^\/])([A-Za-z_][A-Za-z0-9_]*)\}\}/) {
                let n = String(m.2)
                switch m.1 {
                case "#", "^": stack.append((n, m.1 == "^", []))
                default:
                    guard stack.count > 1, let top = stack.last, top.name == n else {
                        throw ExportError.template(name, "unbalanced {{/\(n)}}")
                    }
                    stack.removeLast()
                    stack[stack.count - 1].nodes.append(.section(name: n, inverted: top.inverted, body: top.nodes))
                }
                continue
            }
            var pieces: [TemplateNode.LinePiece] = []
            var rest = Substring(line)
            while let r = rest.firstRange(of: "{{") {
                if r.lowerBound > rest.startIndex { pieces.append(.text(String(rest[..<r.lowerBound]))) }
                let after = rest[r.upperBound...]
                guard let m = after.prefixMatch(of: /\{([A-Za-z_][A-Za-z0-9_]*)\}\}\}/) else {
                    throw ExportError.template(name, "only {{{value}}} and standalone sections are supported: \(line)")
                }
                pieces.append(.value(String(m.1)))
                rest = after[m.range.upperBound...]
            }
            if !rest.isEmpty { pieces.append(.text(String(rest))) }
            stack[stack.count - 1].nodes.append(.line(pieces))
        }
        guard stack.count == 1 else { throw ExportError.template(name, "unclosed {{#\(stack.last?.name ?? "")}}") }
        return stack[0].nodes
    }
}
