import Foundation
import StepRunner
import WizardCore

/// A host of the exported inventory.
public struct AnsibleHost: Sendable, Equatable {
    public var name: String
    public var address: String
    public var port: Int?
    public var user: String?
    public var identityFile: String?
    public init(name: String, address: String, port: Int? = nil, user: String? = nil, identityFile: String? = nil) {
        self.name = name
        self.address = address
        self.port = port
        self.user = user
        self.identityFile = identityFile
    }
}

/// Renders an `ExportPlan` as an Ansible project (inventory.ini, ansible.cfg, site.yml,
/// group_vars/all.yml, tasks/<stage>.yml, templates/*.j2).
///
/// Shape of the output:
/// - one play on the group `djdeploy` (`become: true`, no fact gathering), importing
///   `tasks/<stage>.yml` per stage in order; each stage file ends with `meta: flush_handlers`;
/// - each wizard step is one named `block` ("django.venv: Virtual environment"); operator-side
///   steps run on the control machine (`delegate_to: localhost`, `become: false`; `run_once` unless they name a variable);
/// - a fact (`ExportFact`) is a check task (`register`, never changed, never failed, also run in
///   `--check` mode) right before the task that needs it; templates test `<var>.rc == 0`;
/// - every string passes through `ansibleText` (variable references → `{{ name }}`, literal
///   Jinja delimiters wrapped in `{% raw %}`) and then `AnsibleYAML.scalar` (YAML quoting).
enum AnsibleExport {
    /// Writes the project into `dir` (created when missing) and returns the paths written,
    /// relative to `dir`.
    static func write(_ plan: ExportPlan, hosts: [AnsibleHost], knownHostsFile: String?, to dir: String) throws -> [String] {
        let files = try render(plan, hosts: hosts, knownHostsFile: knownHostsFile)
        let fm = FileManager.default
        for (path, content) in files.sorted(by: { $0.key < $1.key }) {
            let full = (dir as NSString).appendingPathComponent(path)
            try fm.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(content.utf8).write(to: URL(fileURLWithPath: full), options: .atomic)
        }
        return files.keys.sorted()
    }

    /// The project as (relative path → content), without touching the disk.
    static func render(_ plan: ExportPlan, hosts: [AnsibleHost], knownHostsFile: String?) throws -> [String: String] {
        var files: [String: String] = [:]
        files["inventory.ini"] = try inventory(hosts, knownHostsFile: knownHostsFile)
        files["ansible.cfg"] = config
        files["group_vars/all.yml"] = groupVars(plan)
        var renderer = TaskRenderer(plan: plan)
        var stages: [(id: StageID, title: String)] = []
        var byStage: [StageID: [ExportStep]] = [:]
        for step in plan.steps {
            if byStage[step.stage] == nil { stages.append((step.stage, step.stageTitle)) }
            byStage[step.stage, default: []].append(step)
        }
        for stage in stages {
            var items: [AnsibleYAML.Item] = []
            for step in byStage[stage.id] ?? [] { items += try renderer.step(step) }
            items.append(.init(comment: "run the handlers notified in this stage (nginx reload, gunicorn HUP) before the next one",
                               node: .map([("name", .str("\(stage.id.rawValue): run notified handlers")),
                                           ("ansible.builtin.meta", .plain("flush_handlers"))])))
            files["tasks/\(stage.id.rawValue).yml"] = "---\n# Stage \(stage.id.rawValue): \(stage.title)\n# Written by `djdeploy export --format ansible`; every task is idempotent.\n"
                + AnsibleYAML.emit(.list(items))
        }
        files["site.yml"] = try site(plan, stages: stages)
        for (name, text) in renderer.templates { files["templates/\(name)"] = text }
        return files
    }

    // MARK: inventory, config, variables, play

    static let group = "djdeploy"

    static func inventory(_ hosts: [AnsibleHost], knownHostsFile: String?) throws -> String {
        var s = "# Written by `djdeploy export --format ansible`. One line per server; add more lines (or groups)\n"
        s += "# for a fleet, see docs/scale-out.md. Host keys are always checked (known_hosts).\n"
        s += "[\(group)]\n"
        for h in hosts {
            var words = [h.name, "ansible_host=\(h.address)"]
            if let p = h.port { words.append("ansible_port=\(p)") }
            if let u = h.user { words.append("ansible_user=\(u)") }
            if let k = h.identityFile { words.append("ansible_ssh_private_key_file=\(k)") }
            // host lines are split like a shell line: quote each key=value word
            s += try words.map { try ShellQuote.quote($0) }.joined(separator: " ") + "\n"
        }
        if let knownHostsFile {
            // strict checking against the given file (never host_key_checking = False)
            let opt = try ShellQuote.quote("UserKnownHostsFile=\(knownHostsFile)")
            s += "\n[\(group):vars]\nansible_ssh_common_args=-o \(opt) -o StrictHostKeyChecking=yes\n"
        }
        return s
    }

    static let config = """
        # Written by `djdeploy export --format ansible`. Run ansible-playbook from this directory.
        [defaults]
        inventory = inventory.ini
        stdout_callback = default
        interpreter_python = auto_silent
        retry_files_enabled = False
        # unknown or changed host keys stop the run (the default, stated on purpose)
        host_key_checking = True

        [ssh_connection]
        # pipelining: modules go through stdin, so become_user to the unprivileged app user works
        # without acl (no temporary files another user would have to read)
        pipelining = True

        """

    static func groupVars(_ plan: ExportPlan) -> String {
        var s = "---\n# The deploy's inputs (written by `djdeploy export --format ansible`). Per-host values (e.g. the\n"
        s += "# domain) can go into host_vars/<host>.yml; see docs/scale-out.md.\n"
        s += "#\n# django_version: \(plan.djangoVersion) — fixed at export time: the pip pins and the settings forms in\n"
        s += "# the tasks were chosen for it. Export again to change it (it is not a variable here).\n"
        for v in plan.variables {
            s += "\n"
            for line in v.comment.split(separator: "\n", omittingEmptySubsequences: false) where !v.comment.isEmpty {
                s += line.isEmpty ? "#\n" : "# \(line)\n"
            }
            s += "\(v.name): \(AnsibleYAML.scalar(v.value, unsafe: AnsibleText.hasJinja(v.value)))\n"
        }
        return s
    }

    static func site(_ plan: ExportPlan, stages: [(id: StageID, title: String)]) throws -> String {
        var tasks: [AnsibleYAML.Item] = []
        for s in stages {
            tasks.append(.init(node: .map([("name", .str("Stage \(s.id.rawValue): \(s.title)")),
                                           ("ansible.builtin.import_tasks", .str("tasks/\(s.id.rawValue).yml"))])))
        }
        var handlers: [AnsibleYAML.Item] = []
        for h in ExportHandler.allCases {
            let commands = plan.handlers[h] ?? []
            for (i, c) in commands.enumerated() {
                let name = commands.count == 1 ? h.rawValue : "\(h.rawValue) (\(i + 1)/\(commands.count))"
                var m: [(String, AnsibleYAML.Node)] = [("name", .str(name)), ("listen", .str(h.rawValue))]
                m += try TaskRenderer.commandModule(c)
                m.append(("changed_when", .plain("true")))  // a handler runs only when notified
                handlers.append(.init(node: .map(m)))
            }
        }
        var play: [(String, AnsibleYAML.Node)] = [
            ("name", .str("Deploy a Django app behind gunicorn and nginx with HTTPS (djdeploy export)")),
            ("hosts", .str(group)),
            ("become", .plain("true")),
            ("gather_facts", .plain("false")),
            ("tasks", .list(tasks)),
        ]
        if !handlers.isEmpty { play.append(("handlers", .list(handlers))) }
        return "---\n# Written by `djdeploy export --format ansible` (django_version \(plan.djangoVersion)).\n"
            + "# Run from this directory: ansible-playbook site.yml   (--check --diff first: changes nothing)\n"
            + AnsibleYAML.emit(.list([.init(node: .map(play))]))
    }
}

// MARK: - steps and tasks

struct TaskRenderer {
    let plan: ExportPlan
    /// templates/<name> → content
    var templates: [String: String] = [:]
    /// path + content → template name (one template per distinct content of a file)
    private var templateFor: [String: String] = [:]
    private var counter = 0

    init(plan: ExportPlan) { self.plan = plan }

    typealias Node = AnsibleYAML.Node
    typealias Item = AnsibleYAML.Item

    static func s(_ text: String) -> Node { .str(AnsibleText.convert(text)) }

    /// One wizard step: a named block (or a comment only, when the step has no tasks).
    mutating func step(_ step: ExportStep) throws -> [Item] {
        let label = "\(step.id.rawValue): \(Self.display(step.title))"
        var inner: [Item] = []
        for t in step.tasks { inner += try task(t, step: step) }
        guard !inner.isEmpty else {
            return [.init(comment: "\(label) — nothing to do in the export", node: nil)]
        }
        var m: [(String, Node)] = [("name", .str(label))]
        if step.runsOn == .operator {
            // the operator's side (cloud firewall, DNS): shown on the control machine, once
            m += [("delegate_to", .plain("localhost")), ("become", .plain("false"))]
            // once for the whole fleet, unless it names per-host values (each host's domain
            // needs its own DNS records): then once per host
            if !step.tasks.contains(where: Self.mentionsVariable) { m.append(("run_once", .plain("true"))) }
        }
        m.append(("block", .list(inner)))
        return [.init(comment: label + (step.runsOn == .operator ? " (operator side)" : ""), node: .map(m))]
    }

    static func mentionsVariable(_ t: ExportTask) -> Bool {
        switch t {
        case .note(let text): return ExportRef.contains(text)
        case .when(_, _, let tasks): return tasks.contains(where: mentionsVariable)
        default: return true
        }
    }

    private mutating func nextVar(_ kind: String) -> String {
        counter += 1
        return "djd_\(kind)_\(counter)"
    }

    static func factVar(_ f: ExportFact) -> String {
        "djd_fact_" + String(f.name.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    }

    /// A read-only check: registered, never "changed", never failed, also run under --check.
    static func check(name: String, _ command: Command, register: String) throws -> Item {
        var m: [(String, Node)] = [("name", .str(name))]
        m += try commandModule(command)
        m += [("register", .plain(register)), ("changed_when", .plain("false")), ("failed_when", .plain("false")),
              ("check_mode", .plain("false"))]
        return .init(node: .map(m))
    }

    /// A fact read on the target; a combination (`all`/`none`) is not run again but computed
    /// from its parts' results, which come right before it (`closure` order).
    func factCheck(_ f: ExportFact, step: ExportStep) throws -> Item {
        guard f.isCombination else {
            return try Self.check(name: "\(step.id.rawValue): fact \(Self.display(f.name))?", Command(f.test), register: Self.factVar(f))
        }
        let parts = f.all.map { "\(Self.factVar($0)).rc == 0" } + f.none.map { "\(Self.factVar($0)).rc != 0" }
        return .init(node: .map([
            ("name", .str("\(step.id.rawValue): fact \(Self.display(f.name))? (from its parts)")),
            ("ansible.builtin.set_fact", .map([
                (Self.factVar(f), .map([("rc", .str("{{ 0 if (\(parts.joined(separator: " and "))) else 1 }}"))])),
            ])),
        ]))
    }

    /// The checks a fact needs, parts first.
    func factChecks(_ f: ExportFact, step: ExportStep) throws -> [Item] {
        try f.closure.map { try factCheck($0, step: step) }
    }

    /// `ansible.builtin.command` with argv (plus chdir/stdin) and the task's `environment`.
    static func commandModule(_ c: Command) throws -> [(String, Node)] {
        var args: [(String, Node)] = [("argv", .list(c.argv.map { .init(node: s($0)) }))]
        if let d = c.workingDirectory { args.append(("chdir", s(d))) }
        if let stdin = c.stdin {
            args.append(("stdin", s(String(decoding: stdin, as: UTF8.self))))
            args.append(("stdin_add_newline", .plain("false")))
        }
        var m: [(String, Node)] = [("ansible.builtin.command", .map(args))]
        if !c.environment.isEmpty {
            m.append(("environment", .map(c.environment.sorted { $0.key < $1.key }.map { ($0.key, s($0.value)) })))
        }
        return m
    }

    static func notify(_ handlers: [ExportHandler]) -> [(String, Node)] {
        handlers.isEmpty ? [] : [("notify", .list(handlers.map { .init(node: .str($0.rawValue)) }))]
    }

    /// `validate:` is one command line that Ansible formats with Python's `%` (every `%s` becomes
    /// the candidate file) and then splits like a shell: the word `%s` is the placeholder; any other
    /// `%` is doubled so that it reaches the command as is (e.g. a `printf '%s'` in a script).
    static func validateLine(_ argv: [String]) throws -> String {
        let hasWord = argv.contains("%s")
        return try argv.map { w -> String in
            if w == "%s" { return w }
            let q = try ShellQuote.quote(AnsibleText.convert(w))
            return hasWord ? q.replacingOccurrences(of: "%", with: "%%") : q.replacingOccurrences(of: "%", with: "%%").replacingOccurrences(of: "%%s", with: "%s")
        }.joined(separator: " ")
    }

    mutating func task(_ t: ExportTask, step: ExportStep) throws -> [Item] {
        let id = step.id.rawValue
        // task names are not templated: variable references are shown as NAME
        func item(_ what: String, _ rest: [(String, Node)]) -> Item {
            .init(node: .map([("name", .str("\(id): \(Self.display(what))"))] + rest))
        }
        switch t {
        case .note(let text):
            return [item("note", [("ansible.builtin.debug", .map([("msg", Self.s(text))]))])]

        case .packages(let names, let preventStart):
            var args: [(String, Node)] = [("name", .list(names.map { .init(node: Self.s($0)) })), ("state", .plain("present")),
                                          ("update_cache", .plain("true")), ("cache_valid_time", .plain("3600"))]
            if preventStart { args.append(("policy_rc_d", .plain("101"))) }
            return [item("apt packages " + names.joined(separator: " "), [("ansible.builtin.apt", .map(args))])]

        case .systemUser(let name, let home):
            return [
                item("system group \(name)", [("ansible.builtin.group", .map([("name", Self.s(name)), ("system", .plain("true"))]))]),
                item("system user \(name)", [("ansible.builtin.user", .map([
                    ("name", Self.s(name)), ("group", Self.s(name)), ("system", .plain("true")), ("create_home", .plain("true")),
                    ("home", Self.s(home)), ("shell", .str("/usr/sbin/nologin")),
                ]))]),
                item("home of \(name) mode 0750", [("ansible.builtin.file", .map([
                    ("path", Self.s(home)), ("state", .plain("directory")), ("owner", Self.s(name)), ("group", Self.s(name)),
                    ("mode", .str("0750")),
                ]))]),
            ]

        case .directories(let paths, let owner, let group, let mode):
            return [item(paths.count <= 2 ? "directories " + paths.joined(separator: " ") : "\(paths.count) directories", [
                ("ansible.builtin.file", .map([("path", .str("{{ item }}")), ("state", .plain("directory")), ("owner", Self.s(owner)),
                                               ("group", Self.s(group)), ("mode", .str(Self.octal(mode)))])),
                ("loop", .list(paths.map { .init(node: Self.s($0)) })),
            ])]

        case .pip(let venv, let requirements, let user):
            // ansible.builtin.pip compares versions with the target's own python3 `packaging` (or
            // setuptools' pkg_resources), which a minimal Debian/Ubuntu does not have
            let packaging: [(String, Node)] = [
                ("name", .str("python3-packaging")), ("state", .plain("present")), ("update_cache", .plain("true")),
                ("cache_valid_time", .plain("3600")),
            ]
            return [
                item("python3-packaging (needed by ansible.builtin.pip)", [("ansible.builtin.apt", .map(packaging))]),
                item("pip install in \(venv)", [
                    ("ansible.builtin.pip", .map([("name", .list(requirements.map { .init(node: Self.s($0)) })),
                                                  ("virtualenv", Self.s(venv))])),
                    ("become", .plain("true")), ("become_user", Self.s(user)),
                ]),
            ]

        case .commands(let title, let commands, let unless, let onlyIf, let creates, let changedUnless, let notify):
            var out: [Item] = []
            var when: [Node] = []
            if let unless {
                let v = nextVar("done")
                out.append(try Self.check(name: "\(id): \(Self.display(title)) — already done?", unless, register: v))
                when.append(.str("\(v).rc != 0"))
            }
            if let onlyIf {
                let v = nextVar("needed")
                out.append(try Self.check(name: "\(id): \(Self.display(title)) — needed?", onlyIf, register: v))
                when.append(.str("\(v).rc == 0"))
            }
            var createsParam: String?
            if let creates {
                if commands.count == 1 {
                    createsParam = creates
                } else {
                    // the first command may create the path: decide once, before any runs
                    let v = nextVar("exists")
                    out.append(item("\(title) — \(creates) exists?", [
                        ("ansible.builtin.stat", .map([("path", Self.s(creates))])), ("register", .plain(v)),
                        ("check_mode", .plain("false")),
                    ]))
                    when.append(.str("not \(v).stat.exists"))
                }
            }
            let guarded = unless != nil || onlyIf != nil || creates != nil
            for (i, c) in commands.enumerated() {
                let name = commands.count == 1 ? title : "\(title) (\(i + 1)/\(commands.count))"
                var m: [(String, Node)] = [("name", .str("\(id): \(Self.display(name))"))]
                var module = try Self.commandModule(c)
                if let createsParam, case .map(var args) = module[0].1 {
                    args.append(("creates", Self.s(createsParam)))
                    module[0].1 = .map(args)
                }
                m += module
                if let changedUnless, i == commands.count - 1 {
                    let v = nextVar("out")
                    m.append(("register", .plain(v)))
                    m.append(("changed_when", .str("\(AnsibleText.jinjaString(changedUnless)) not in \(v).stdout")))
                } else if !guarded && changedUnless == nil {
                    // unguarded commands are idempotent by construction (checks, reloads of the
                    // same state): running them again is not a change
                    m.append(("changed_when", .plain("false")))
                } else if changedUnless != nil {
                    m.append(("changed_when", .plain("false")))
                } else if createsParam == nil {
                    // guarded by `when`: it runs only when its guard says something is to be done
                    // (with `creates`, the module itself reports "skipped, not changed")
                    m.append(("changed_when", .plain("true")))
                }
                if !when.isEmpty { m.append(("when", when.count == 1 ? when[0] : .list(when.map { .init(node: $0) }))) }
                m += Self.notify(notify)
                out.append(.init(node: .map(m)))
            }
            return out

        case .file(let path, let content, let mode, let owner, let group, let validate, let notify):
            var out: [Item] = []
            for f in content.facts { out.append(try factCheck(f, step: step)) }
            let name = templateName(step: step, path: path, content: try AnsibleTemplate.render(content))
            var args: [(String, Node)] = [("src", .str(name)), ("dest", Self.s(path)), ("owner", Self.s(owner)),
                                          ("group", Self.s(group)), ("mode", .str(Self.octal(mode))), ("backup", .plain("true"))]
            if let validate { args.append(("validate", .str(try Self.validateLine(validate)))) }
            out.append(item("file \(Self.display(path))", [("ansible.builtin.template", .map(args))] + Self.notify(notify)))
            return out

        case .symlink(let path, let target, let notify):
            return [item("symlink \(Self.display(path)) -> \(Self.display(target))", [
                ("ansible.builtin.file", .map([("src", Self.s(target)), ("dest", Self.s(path)), ("state", .plain("link")),
                                               ("force", .plain("true"))])),
            ] + Self.notify(notify))]

        case .absent(let path, let notify):
            return [item("absent \(Self.display(path))", [
                ("ansible.builtin.file", .map([("path", Self.s(path)), ("state", .plain("absent"))])),
            ] + Self.notify(notify))]

        case .block(let path, let name, let body, let notify):
            return [item("managed section \(name) in \(Self.display(path))", [
                ("ansible.builtin.blockinfile", .map([
                    ("path", Self.s(path)), ("marker", .str("# {mark} djdeploy managed section: \(name)")),
                    ("block", Self.s(body)), ("insertafter", .plain("EOF")), ("backup", .plain("true")),
                ])),
            ] + Self.notify(notify))]

        case .replaceLines(let path, let regex, let replacement, let validate, let notify):
            var args: [(String, Node)] = [("path", Self.s(path)), ("regexp", Self.s(regex)), ("replace", Self.s(replacement)),
                                          ("backup", .plain("true"))]
            if let validate { args.append(("validate", .str(try Self.validateLine(validate)))) }
            return [item("edit lines in \(Self.display(path))", [("ansible.builtin.replace", .map(args))] + Self.notify(notify))]

        case .serviceStarted(let name):
            return [item("\(name) running", [("ansible.builtin.service", .map([("name", Self.s(name)), ("state", .plain("started"))]))])]

        case .flushHandlers:
            return [item("run notified handlers now", [("ansible.builtin.meta", .plain("flush_handlers"))])]

        case .when(let fact, let negate, let tasks):
            var inner: [Item] = []
            for t in tasks { inner += try task(t, step: step) }
            guard !inner.isEmpty else { return [] }
            let cond = "\(Self.factVar(fact)).rc \(negate ? "!=" : "==") 0"
            return try factChecks(fact, step: step) + [
                item("when \(negate ? "not " : "")\(fact.name)", [("when", .str(cond)), ("block", .list(inner))])]
        }
    }

    static func octal(_ mode: Int) -> String {
        let s = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }

    /// A path for a task name: variable references as `<name>` (names are not templated).
    static func display(_ s: String) -> String {
        ExportRef.pieces(s).map { if case .variable(let v) = $0 { return v.uppercased() } else if case .text(let t) = $0 { return t } else { return "" } }.joined()
    }

    /// `<step id>.<parent dir>_<file name>.j2`; the same content for the same file (the site
    /// file rendered by several steps) shares one template.
    mutating func templateName(step: ExportStep, path: String, content: String) -> String {
        let parts = Self.display(path).split(separator: "/").suffix(2).map(String.init)
        let clean = String((step.id.rawValue + "." + parts.joined(separator: "_"))
            .map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) ? $0 : "_" })
        if let same = templateFor[path + "\u{0}" + content] { return same }
        var name = clean + ".j2", n = 2
        while templates[name] != nil { name = "\(clean).\(n).j2"; n += 1 }
        templates[name] = content
        templateFor[path + "\u{0}" + content] = name
        return name
    }
}

// MARK: - strings in Ansible: variable references and literal Jinja

enum AnsibleText {
    static func hasJinja(_ s: String) -> Bool { s.contains("{{") || s.contains("{%") || s.contains("{#") }

    /// Literal text Ansible must not template: wrapped in `{% raw %}` when it holds a delimiter.
    static func literal(_ s: String) -> String {
        hasJinja(s) ? "{% raw %}\(s){% endraw %}" : s
    }

    /// A string with variable references → Ansible text (`{{ name }}`, literals protected).
    static func convert(_ s: String) -> String {
        ExportRef.pieces(s).map { p -> String in
            switch p {
            case .text(let t): return literal(t)
            case .variable(let v): return "{{ \(v) }}"
            }
        }.joined()
    }

    /// A Jinja string literal ('…', with \ and ' escaped).
    static func jinjaString(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
            .replacingOccurrences(of: "\n", with: "\\n") + "'"
    }
}

// MARK: - file contents → Jinja templates

/// `ExportContent` → a `.j2` file for `ansible.builtin.template` (which renders with
/// `trim_blocks`: the newline after a `{% … %}` tag is dropped, so a tag on a line of its own
/// leaves no line behind; `{% raw %}` blocks therefore carry their own newlines).
enum AnsibleTemplate {
    enum Segment: Equatable { case literal(String), expr(String), tag(String) }

    static func render(_ content: ExportContent) throws -> String {
        try emit(segments(content))
    }

    static func segments(_ content: ExportContent) throws -> [Segment] {
        switch content {
        case .text(let s): return textSegments(s)
        case .choice(let f, let t, let e):
            let v = TaskRenderer.factVar(f)
            return [.tag("if \(v).rc == 0")] + textSegments(t) + [.tag("else")] + textSegments(e) + [.tag("endif")]
        case .tree(_, let nodes, let values):
            return try treeSegments(nodes, values: values)
        }
    }

    static func textSegments(_ s: String) -> [Segment] {
        ExportRef.pieces(s).map { p in
            switch p {
            case .text(let t): return .literal(t)
            case .variable(let v): return .expr(v)
            }
        }
    }

    static func treeSegments(_ nodes: [TemplateNode], values: [String: ExportValue]) throws -> [Segment] {
        var out: [Segment] = []
        for node in nodes {
            switch node {
            case .line(let pieces):
                for p in pieces {
                    switch p {
                    case .text(let t): out.append(.literal(t))
                    case .value(let name):
                        switch values[name] {
                        case .text(let s)?: out += textSegments(s)
                        case .flag(let b)?: out.append(.literal(b ? "true" : "false"))
                        case .fact(let f)?: out.append(.expr("'true' if \(TaskRenderer.factVar(f)).rc == 0 else 'false'"))
                        case nil: break
                        }
                    }
                }
                out.append(.literal("\n"))
            case .section(let name, let inverted, let body):
                switch values[name] {
                case .fact(let f)?:
                    out.append(.tag("if \(TaskRenderer.factVar(f)).rc \(inverted ? "!=" : "==") 0"))
                    out += try treeSegments(body, values: values)
                    out.append(.tag("endif"))
                default:
                    // known at export time: mustache truthiness (a non-empty text or true)
                    let truthy: Bool
                    switch values[name] {
                    case .text(let s)?: truthy = !s.isEmpty
                    case .flag(let b)?: truthy = b
                    default: truthy = false
                    }
                    if truthy != inverted { out += try treeSegments(body, values: values) }
                }
            }
        }
        return out
    }

    static func emit(_ segments: [Segment]) throws -> String {
        // merge adjacent literals, so a raw block holds its line's newline
        var merged: [Segment] = []
        for s in segments {
            if case .literal(let b) = s, case .literal(let a)? = merged.last {
                merged[merged.count - 1] = .literal(a + b)
            } else if s != .literal("") {
                merged.append(s)
            }
        }
        var out = ""
        for s in merged {
            switch s {
            case .literal(let t):
                if AnsibleText.hasJinja(t) {
                    guard !t.contains("endraw") else { throw ExportError.unsupported("template text contains \"endraw\": \(t)") }
                    out += "{% raw %}\(t){% endraw %}"
                } else {
                    out += t
                }
            case .expr(let e): out += "{{ \(e) }}"
            case .tag(let t): out += "{% \(t) %}\n"  // trim_blocks drops this newline
            }
        }
        return out
    }
}

// MARK: - a small YAML writer

enum AnsibleYAML {
    indirect enum Node {
        /// A string, quoted as needed.
        case str(String)
        /// Written as is (booleans, numbers, keywords such as `present`).
        case plain(String)
        case list([Item])
        case map([(String, Node)])
    }

    struct Item {
        var comment: String?
        var node: Node?
        init(comment: String? = nil, node: Node?) {
            self.comment = comment
            self.node = node
        }
    }

    static func emit(_ node: Node) -> String {
        lines(node, indent: 0).joined(separator: "\n") + "\n"
    }

    private static func pad(_ n: Int) -> String { String(repeating: " ", count: n) }

    private static func comment(_ c: String, indent: Int) -> [String] {
        c.split(separator: "\n", omittingEmptySubsequences: false).map { "\(pad(indent))# \($0)" }
    }

    /// Lines of a node at `indent` (block style).
    static func lines(_ node: Node, indent: Int) -> [String] {
        switch node {
        case .str, .plain: return [pad(indent) + inline(node, indent: indent).joined(separator: "\n")]
        case .list(let items):
            if items.isEmpty { return [pad(indent) + "[]"] }
            var out: [String] = []
            for item in items {
                if let c = item.comment { out += comment(c, indent: indent) }
                guard let n = item.node else { continue }
                var sub = lines(n, indent: indent + 2)
                // "- " takes the place of the first line's indentation
                sub[0] = pad(indent) + "- " + sub[0].dropFirst(indent + 2)
                out += sub
            }
            return out
        case .map(let pairs):
            if pairs.isEmpty { return [pad(indent) + "{}"] }
            var out: [String] = []
            for (k, v) in pairs {
                let key = pad(indent) + scalar(k) + ":"
                switch v {
                case .str, .plain:
                    let parts = inline(v, indent: indent)
                    out.append(key + " " + parts[0])
                    out += parts.dropFirst()
                case .list(let items) where items.isEmpty: out.append(key + " []")
                case .map(let p) where p.isEmpty: out.append(key + " {}")
                case .list:
                    out.append(key)
                    out += lines(v, indent: indent + 2)
                case .map:
                    out.append(key)
                    out += lines(v, indent: indent + 2)
                }
            }
            return out
        }
    }

    /// A scalar after `key: ` or `- `: one line, or a literal block (`|`) whose content lines are
    /// indented by `indent + 2`.
    static func inline(_ node: Node, indent: Int) -> [String] {
        switch node {
        case .plain(let s): return [s]
        case .str(let s):
            if let block = literalBlock(s, indent: indent + 2) { return block }
            return [scalar(s)]
        default: return [""]
        }
    }

    /// `|` / `|-` / `|+` for readable multi-line text; nil when a literal block cannot carry it
    /// exactly (leading blank first line or indentation, CR, other control characters).
    static func literalBlock(_ s: String, indent: Int) -> [String]? {
        guard s.contains("\n") else { return nil }
        guard let first = s.first, first != " ", first != "\n", first != "\t" else { return nil }
        guard !s.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || $0.value == 0x7F || $0 == "\u{FEFF}" || $0 == "\u{85}" || $0 == "\u{2028}" || $0 == "\u{2029}" })
        else { return nil }
        var body = s, trailing = 0
        while body.hasSuffix("\n") { body.removeLast(); trailing += 1 }
        let chomp = trailing == 0 ? "-" : trailing == 1 ? "" : "+"
        var out = ["|" + chomp]
        for line in body.split(separator: "\n", omittingEmptySubsequences: false) {
            out.append(line.isEmpty ? "" : pad(indent) + line)
        }
        if trailing > 1 { out += Array(repeating: "", count: trailing - 1) }
        return out
    }

    /// A YAML scalar for `s`: plain when nothing could misread it, else double-quoted.
    /// `unsafe`: tagged `!unsafe` (Ansible does not template it).
    static func scalar(_ s: String, unsafe: Bool = false) -> String {
        if unsafe { return "!unsafe " + doubleQuoted(s) }
        return isPlainSafe(s) ? s : doubleQuoted(s)
    }

    static let yamlWords: Set<String> = ["y", "n", "yes", "no", "true", "false", "on", "off", "null", "~"]

    static func isPlainSafe(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first else { return false }
        // starts with a letter, '_' or '/': never a number, date, indicator or anchor
        guard ("a"..."z").contains(first) || ("A"..."Z").contains(first) || first == "_" || first == "/" else { return false }
        guard s.unicodeScalars.allSatisfy({ c in
            ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || "_./-+@=".unicodeScalars.contains(c)
        }) else { return false }
        return !yamlWords.contains(s.lowercased())
    }

    static func doubleQuoted(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if c.value < 0x20 || c.value == 0x7F || (0x80...0x9F).contains(c.value) || c == "\u{2028}" || c == "\u{2029}" || c == "\u{FEFF}" {
                    out += String(format: "\\u%04X", c.value)
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }
}
