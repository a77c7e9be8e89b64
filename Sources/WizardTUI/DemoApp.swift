import TerminalUI

/// Placeholder content for the demo screen (and the snapshot tests).
public enum DemoData {
    public static let stageNames = ["firewall", "static-ip", "dns", "django", "gunicorn", "nginx", "static-files",
                                    "https-cert", "https-redirect", "security-headers", "go-live", "verify"]

    /// Every status glyph appears at least once.
    public static func stages() -> [StageRowModel] {
        [
            StageRowModel("firewall", .done, elapsed: "12s"),
            StageRowModel("static-ip", .skipped),
            StageRowModel("dns", .done, elapsed: "3s"),
            StageRowModel("django", .done, elapsed: "1m48s"),
            StageRowModel("gunicorn", .stale, elapsed: "21s"),
            StageRowModel("nginx", .running, elapsed: "7s", steps: [
                StepRowModel("install nginx", .done, elapsed: "5s"),
                StepRowModel("write site config", .done, elapsed: "0s"),
                StepRowModel("nginx -t", .running, elapsed: "2s"),
                StepRowModel("reload nginx", .pending),
            ], expanded: true),
            StageRowModel("static-files", .interrupted, elapsed: "4s"),
            StageRowModel("https-cert", .failed, elapsed: "31s"),
            StageRowModel("https-redirect", .pending),
            StageRowModel("security-headers", .pending),
            StageRowModel("go-live", .pending),
            StageRowModel("verify", .pending),
        ]
    }

    public static let lesson: [Line] = [
        Line("Why this stage exists", style: .bold),
        "gunicorn speaks HTTP, but it is not built to face the internet: slow clients tie up its workers, and it does not serve static files well. nginx sits in front as a reverse proxy: it accepts connections, buffers slow clients, serves /static/ straight from disk and passes the rest to gunicorn over a Unix socket.",
        "",
        Line("What it changes", style: .bold),
        "- installs the nginx package",
        "- writes /etc/nginx/sites-available/mysite and links it into sites-enabled",
        "- removes the default site (asks first)",
        "- checks the configuration with nginx -t, then reloads nginx",
        "",
        Line("中文说明", style: .bold),
        "nginx 作为反向代理服务器：它接收客户端连接，缓冲慢速客户端，直接从磁盘提供静态文件，其余请求通过 Unix 套接字转发给 gunicorn。",
    ]

    public static func plan(theme: Theme) -> [Line] {
        WizardView.planLines(commands: [
            "sudo apt-get install -y nginx",
            "sudo install -m 644 mysite.conf /etc/nginx/sites-available/mysite",
            "sudo ln -sf ../sites-available/mysite /etc/nginx/sites-enabled/mysite",
            "sudo nginx -t",
            "sudo systemctl reload nginx",
        ], diffs: [(path: "/etc/nginx/sites-available/mysite", diff: """
            --- /etc/nginx/sites-available/mysite (absent)
            +++ /etc/nginx/sites-available/mysite
            @@ -0,0 +1,9 @@
            +server {
            +    listen 80;
            +    server_name example.com www.example.com;
            +    location /static/ { alias /srv/mysite/static/; }
            +    location / {
            +        proxy_pass http://unix:/run/gunicorn.sock;
            +        proxy_set_header Host $host;
            +    }
            +}
            """)], theme: theme)
    }

    public static let outputLines = [
        "$ sudo apt-get install -y nginx",
        "Reading package lists... Done",
        "Building dependency tree... Done",
        "The following NEW packages will be installed:",
        "  nginx nginx-common",
        "Setting up nginx (1.24.0-2ubuntu7) ...",
        "$ sudo nginx -t",
        "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok",
    ]

    public static let inputs = [
        FormFieldModel("server_name", value: "example.com www.example.com"),
        FormFieldModel("static_root", value: "", defaultValue: "/srv/mysite/static"),
        FormFieldModel("upstream", value: "unix:/run/gunicorn.sock", defaultValue: "unix:/run/gunicorn.sock"),
        FormFieldModel("client_max_body", value: "10q", error: "expected a size like 10m or 512k"),
        FormFieldModel("remove_default", value: "yes", defaultValue: "yes"),
    ]

    public static func model(theme: Theme) -> WizardViewModel {
        var m = WizardViewModel()
        m.stages = stages()
        m.selected = 5
        m.lesson = lesson
        m.plan = plan(theme: theme)
        for l in outputLines { m.output.append(line: l) }
        m.inputs = inputs
        m.target = "deploy@203.0.113.10:22"
        m.profile = "prod"
        m.statePath = "~/.local/state/djdeploy/prod.json"
        m.progress = "4/12 done"
        return m
    }
}

/// The demo screen: the final layout with placeholder data, driven by the real keymap.
/// Enter opens the no-echo sudo password modal; q / Ctrl-C ask while a step "runs".
@MainActor
public final class DemoApp: TUIApp {
    public var model: WizardViewModel
    public let theme: Theme
    public let keymap = WizardKeys.keymap
    private var size = (width: 80, height: 24)
    private var password: TextInput?
    private var search: TextInput?
    private var confirm: Confirm?
    private var showingHelp = false
    /// Streams fake output lines while running (for a live look); off in tests.
    public var streaming = false
    private var streamed = 0

    enum Confirm { case quit, cancelStep }

    public init(theme: Theme) {
        self.theme = theme
        self.model = DemoData.model(theme: theme)
    }

    var running: Bool { model.stages.contains { $0.status == .running } }

    public var tickInterval: Duration? { running ? .milliseconds(100) : nil }

    public func render(into buffer: inout Buffer) {
        size = (buffer.width, buffer.height)
        var m = model
        m.modal = currentModal()
        m.searchPrompt = search?.value
        WizardView.render(m, keyHints: keymap.keyBarEntries(plain: theme.plain), theme: theme, into: &buffer)
    }

    func currentModal() -> Modal? {
        if showingHelp { return WizardView.helpModal(keymap, theme: theme, width: min(78, size.width - 2)) }
        if let p = password {
            return Modal(title: "sudo password", message: [
                "Password for deploy@203.0.113.10 (sudo). It is kept in memory only and never written anywhere.",
            ], hints: [KeyHint(key: "Enter", text: "ok"), KeyHint(key: "Esc", text: "cancel")],
            input: p, inputLabel: "password:", theme: theme, width: 60)
        }
        switch confirm {
        case .quit?:
            return Modal(title: "Quit?", message: ["A step is running (nginx -t). Quit anyway? The step is stopped first."],
                         hints: [KeyHint(key: "y", text: "quit"), KeyHint(key: "n", text: "stay")], theme: theme, width: 50)
        case .cancelStep?:
            return Modal(title: "Cancel step?", message: ["Cancel the running step `nginx -t`? It is stopped on the server too."],
                         hints: [KeyHint(key: "y", text: "cancel step"), KeyHint(key: "n", text: "keep running")], theme: theme, width: 50)
        case nil:
            return nil
        }
    }

    public func update() -> Bool {
        guard streaming, running else { return false }
        // A few lines per loop iteration.
        for _ in 0..<50 {
            streamed += 1
            model.output.append(line: "demo output line \(streamed): upstream response buffered")
        }
        return model.tab == .output
    }

    public func handle(_ event: TUIEvent) -> TUICommand {
        switch event {
        case .tick:
            model.tick += 1
            return .redraw
        case .resize(let w, let h):
            size = (w, h)
            return .redraw
        case .signal(.interrupt):
            if running { confirm = .cancelStep; return .redraw }
            return .quit
        case .signal:
            return .quit
        case .key(let key):
            return handleKey(key)
        }
    }

    private var pageHeight: Int {
        WizardView.paneContentHeight(Rect(x: 0, y: 0, width: size.width, height: size.height), banner: model.banner != nil) - 1
    }

    func handleKey(_ key: Key) -> TUICommand {
        model.notice = nil
        if size.width < WizardView.minWidth || size.height < WizardView.minHeight {
            return key == .char("q") || key == .ctrl("c") ? .quit : .none
        }
        if showingHelp {
            if key == .escape || key == .char("?") || key == .char("q") || key == .enter { showingHelp = false }
            return .redraw
        }
        if var p = password {
            switch p.handle(key) {
            case .submit:
                p.clear(); password = nil
                model.notice = "password received (demo: discarded)"
            case .cancel:
                p.clear(); password = nil
            default:
                password = p
            }
            return .redraw
        }
        if let c = confirm {
            if key == .char("y") {
                confirm = nil
                if c == .quit { return .quit }
                stopRunning()
                return .redraw
            }
            if key == .char("n") || key == .escape { confirm = nil }
            return .redraw
        }
        if var s = search {
            switch s.handle(key) {
            case .submit:
                model.searchQuery = s.value
                model.searchMatches = model.output.search(s.value)
                if let first = model.searchMatches.first { model.output.jump(to: first, height: pageHeight) }
                search = nil
            case .cancel:
                search = nil
            default:
                search = s
            }
            return .redraw
        }
        guard let action = keymap.action(for: key) else { return .none }
        return perform(action)
    }

    func stopRunning() {
        for i in model.stages.indices where model.stages[i].status == .running {
            model.stages[i].status = .interrupted
            for j in model.stages[i].steps.indices where model.stages[i].steps[j].status == .running {
                model.stages[i].steps[j].status = .interrupted
            }
        }
        model.notice = "step cancelled"
    }

    func perform(_ action: WizardAction) -> TUICommand {
        let count = model.stages.count
        switch action {
        case .moveUp: model.selected = max(0, model.selected - 1)
        case .moveDown: model.selected = min(count - 1, model.selected + 1)
        case .runSelected: password = TextInput(secret: true)
        case .runAll, .skip, .retry, .trainContinue, .trainType, .trainSkip, .trainLeave:
            model.notice = "demo: \(action.rawValue) is not wired yet"
        case .editInputs: model.tab = .inputs; model.focusedInput = 0
        case .showPlan: model.tab = .plan; model.planScroll = 0
        case .showDiff:
            model.tab = .plan
            let width = WizardView.paneContentWidth(Rect(x: 0, y: 0, width: size.width, height: size.height), banner: model.banner != nil)
            let rows = Paragraph(model.plan).rows(width: width)
            model.planScroll = rows.firstIndex { $0.text.hasPrefix("File ") } ?? 0
        case .showLog: model.tab = .output
        case .nextPane: model.tab = PaneTab(rawValue: (model.tab.rawValue + 1) % 4)!
        case .previousPane: model.tab = PaneTab(rawValue: (model.tab.rawValue + 3) % 4)!
        case .pageUp: scroll(-pageHeight)
        case .pageDown: scroll(pageHeight)
        case .scrollTop:
            if model.tab == .output { model.output.scrollToTop() } else { scroll(-1_000_000) }
        case .scrollBottom:
            if model.tab == .output { model.output.scrollToBottom() } else { scroll(1_000_000) }
        case .search: model.tab = .output; search = TextInput()
        case .nextMatch:
            let cur = model.output.topLine(height: pageHeight)
            if let n = model.output.nextMatch(model.searchQuery, after: cur) { model.output.jump(to: n, height: pageHeight) }
        case .toggleFollow:
            if model.output.follow { model.output.scroll(by: -1, height: pageHeight) } else { model.output.scrollToBottom() }
        case .cancelStep:
            if running { confirm = .cancelStep } else { return .quit }
        case .quit:
            if running { confirm = .quit } else { return .quit }
        case .help: showingHelp = true
        }
        return .redraw
    }

    func scroll(_ delta: Int) {
        switch model.tab {
        case .lesson: model.lessonScroll = max(0, model.lessonScroll + delta)
        case .plan: model.planScroll = max(0, model.planScroll + delta)
        case .output: model.output.scroll(by: delta, height: pageHeight)
        case .inputs: break
        }
    }
}

/// Runs the demo screen full-screen. Returns a process exit status.
@MainActor
public func runTUIDemo(plain: Bool = false) async -> Int32 {
    if let reason = TUIEnvironment.currentUnsupportedReason() {
        print(reason)
        return 2
    }
    let theme = Theme.fromEnvironment(TUIEnvironment.environment, plain: plain)
    let app = DemoApp(theme: theme)
    app.streaming = true
    do {
        let exit = try await runFullScreen(app, color: theme.color)
        if case .signal(let s) = exit, s != .interrupt { return 128 + (s == .terminate ? 15 : 1) }
        return 0
    } catch {
        print("djdeploy: cannot initialise the terminal. Use `djdeploy run` for the headless mode.")
        return 2
    }
}
