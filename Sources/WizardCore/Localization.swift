import Foundation

// MARK: - Language

/// The language of the UI and of the lessons (`Assets/lessons/<language>/<stage>.md`).
public enum Language: String, Sendable, CaseIterable, Codable, Hashable {
    case en
    case zh

    /// The value of `--lang`: `en` or `zh`, case-insensitive; a locale-like value (`zh_CN`,
    /// `zh-Hans`, `en_US.UTF-8`) is accepted too. Nil for anything else.
    public init?(flag: String) {
        let v = flag.trimmingCharacters(in: .whitespaces).lowercased()
        for l in Language.allCases {
            if v == l.rawValue || ["_", "-", ".", "@"].contains(where: { v.hasPrefix(l.rawValue + $0) }) {
                self = l
                return
            }
        }
        return nil
    }

    /// The language a POSIX locale name asks for: `zh`, `zh_CN.UTF-8`, `zh_TW`, `zh-Hans`… → `zh`;
    /// any other non-empty name (`en_US.UTF-8`, `C`, `POSIX`, `de_DE`) → `en`; empty → nil.
    public static func fromLocale(_ value: String) -> Language? {
        let v = value.trimmingCharacters(in: .whitespaces).lowercased()
        if v.isEmpty { return nil }
        if v == "zh" { return .zh }
        for sep in ["_", "-", ".", "@"] where v.hasPrefix("zh" + sep) { return .zh }
        return .en
    }

    /// The UI language from the environment, as the C library picks the message locale: the first
    /// of `LC_ALL`, `LC_MESSAGES`, `LANG` that is set and not empty decides (so `LC_ALL=C` wins
    /// over `LANG=zh_CN.UTF-8`). `zh_*` → Chinese; anything else, or nothing set → English.
    public static func detect(environment: [String: String] = ProcessInfo.processInfo.environment) -> Language {
        for name in ["LC_ALL", "LC_MESSAGES", "LANG"] {
            if let v = environment[name], let l = fromLocale(v) { return l }
        }
        return .en
    }

    /// `--lang` when given (already parsed with `Language(flag:)`), else the environment.
    public static func detect(flag: Language?, environment: [String: String] = ProcessInfo.processInfo.environment) -> Language {
        flag ?? detect(environment: environment)
    }

    /// The language's own name, for a language menu.
    public var nativeName: String {
        switch self {
        case .en: return "English"
        case .zh: return "简体中文"
        }
    }
}

// MARK: - Keys

/// Every UI string. Texts with `%@` take arguments in order; `%1$@`, `%2$@`… pick an argument by
/// position (for languages that order them differently); `%%` is a literal percent sign.
public enum StringKey: String, Sendable, CaseIterable, Hashable {
    // step and stage statuses (StepStatus)
    case statusPending = "status.pending"
    case statusRunning = "status.running"
    case statusSucceeded = "status.succeeded"
    case statusFailed = "status.failed"
    case statusSkipped = "status.skipped"
    case statusInterrupted = "status.interrupted"
    case statusStale = "status.stale"

    // the right pane's tabs
    case tabLesson = "tab.lesson"
    case tabPlan = "tab.plan"
    case tabOutput = "tab.output"
    case tabInputs = "tab.inputs"
    case paneStages = "pane.stages"

    // key bar: short labels
    case keyMove = "key.move"
    case keyRun = "key.run"
    case keyRunAll = "key.run-all"
    case keySkip = "key.skip"
    case keyRetry = "key.retry"
    case keyEdit = "key.edit"
    case keyPlan = "key.plan"
    case keyDiff = "key.diff"
    case keyLog = "key.log"
    case keyHelp = "key.help"
    case keyQuit = "key.quit"
    case keySwitchPane = "key.switch-pane"
    case keyScroll = "key.scroll"

    // help screen: what each key does
    case helpTitle = "help.title"
    case helpSelectPrevious = "help.select-previous"
    case helpSelectNext = "help.select-next"
    case helpRunSelected = "help.run-selected"
    case helpRunAll = "help.run-all"
    case helpSkip = "help.skip"
    case helpRetry = "help.retry"
    case helpEdit = "help.edit"
    case helpPlan = "help.plan"
    case helpDiff = "help.diff"
    case helpLog = "help.log"
    case helpNextPane = "help.next-pane"
    case helpPreviousPane = "help.previous-pane"
    case helpScrollUp = "help.scroll-up"
    case helpScrollDown = "help.scroll-down"
    case helpTop = "help.top"
    case helpEnd = "help.end"
    case helpSearch = "help.search"
    case helpNextMatch = "help.next-match"
    case helpFollow = "help.follow"
    case helpCancel = "help.cancel"
    case helpQuit = "help.quit"
    case helpHelp = "help.help"

    // modals and prompts
    case quitTitle = "prompt.quit.title"
    case confirmQuitRunning = "prompt.quit.running"
    case confirmQuitIdle = "prompt.quit.idle"
    case cancelStepTitle = "prompt.cancel.title"
    case confirmCancelStep = "prompt.cancel.running"
    case confirmStepTitle = "prompt.confirm.title"
    case confirmProceed = "prompt.confirm.proceed"
    case sudoPasswordTitle = "prompt.sudo.title"
    case sudoPasswordMessage = "prompt.sudo.message"
    case sudoPasswordLabel = "prompt.sudo.label"
    case sudoPasswordCLI = "prompt.sudo.cli"
    case resumeBanner = "prompt.resume.banner"
    case resumeHint = "prompt.resume.hint"

    // modal key hints
    case hintYes = "hint.yes"
    case hintNo = "hint.no"
    case hintOK = "hint.ok"
    case hintCancel = "hint.cancel"
    case hintClose = "hint.close"
    case hintQuit = "hint.quit"
    case hintStay = "hint.stay"
    case hintCancelStep = "hint.cancel-step"
    case hintKeepRunning = "hint.keep-running"
    case hintProceed = "hint.proceed"
    case hintDecline = "hint.decline"

    // status bar and notices
    case statusBarProfile = "bar.profile"
    case statusBarState = "bar.state"
    case statusBarProgress = "bar.progress"
    case statusBarRunning = "bar.running"
    case statusBarCancelling = "bar.cancelling"
    case targetLocal = "bar.target-local"
    case targetNone = "bar.target-none"
    case noticeStepRunning = "notice.step-running"
    case noticeNoInputs = "notice.no-inputs"
    case noticeMissingInputs = "notice.missing-inputs"
    case noticeNoPassword = "notice.no-password"
    case noticeStepFailed = "notice.step-failed"
    case planPlaceholder = "plan.placeholder"
    case planCommands = "plan.commands"
    case planFiles = "plan.files"
    case planNoChanges = "plan.no-changes"
    case lessonMissing = "lesson.missing"

    // common errors
    case errorTerminalTooSmall = "error.terminal-too-small"
    case errorTerminalSizeNow = "error.terminal-size-now"
    case errorTerminalEnlarge = "error.terminal-enlarge"
    case errorNoTerminal = "error.no-terminal"
    case errorDumbTerminal = "error.dumb-terminal"
    case errorStateLocked = "error.state-locked"
    case errorSaveState = "error.save-state"
    case errorUnknownLanguage = "error.unknown-language"
    case errorFirstRunNeedsAnswers = "error.first-run-needs-answers"

    // the CLI's run summary
    case runDone = "run.done"
    case runFailedAt = "run.failed-at"
    case runFailedHint = "run.failed-hint"
    case runInterrupted = "run.interrupted"
    case runNothingToDo = "run.nothing-to-do"
    case runResuming = "run.resuming"
    case runSummaryCount = "run.summary-count"
    case runStepNoop = "run.step-noop"
    case runStepChanged = "run.step-changed"
    case runStepFailed = "run.step-failed"
    case runStepInterrupted = "run.step-interrupted"
    case runSignal = "run.signal"
}

// MARK: - Table

/// The string table: every key in every language (a test enforces it).
public enum L10n {
    /// The text for `key` in `lang` (placeholders not filled in).
    public static func string(_ key: StringKey, _ lang: Language) -> String {
        table(lang)[key] ?? table(.en)[key] ?? key.rawValue
    }

    /// The text for `key` in `lang` with its placeholders filled in.
    public static func format(_ key: StringKey, _ lang: Language, _ args: String...) -> String {
        fill(string(key, lang), args)
    }

    /// The keys a language defines (for the completeness test).
    public static func keys(_ lang: Language) -> Set<StringKey> { Set(table(lang).keys) }

    static func table(_ lang: Language) -> [StringKey: String] {
        switch lang {
        case .en: return english
        case .zh: return chinese
        }
    }

    /// Fills `%@` (next argument), `%N$@` (argument N, from 1) and `%%`. A placeholder with no
    /// argument is left as it is.
    public static func fill(_ template: String, _ args: [String]) -> String {
        var out = ""
        var next = 0
        var i = template.startIndex
        while i < template.endIndex {
            let c = template[i]
            guard c == "%" else {
                out.append(c)
                i = template.index(after: i)
                continue
            }
            let rest = template[template.index(after: i)...]
            if rest.hasPrefix("%") {
                out.append("%")
                i = template.index(i, offsetBy: 2)
            } else if rest.hasPrefix("@") {
                out += next < args.count ? args[next] : "%@"
                next += 1
                i = template.index(i, offsetBy: 2)
            } else if let m = rest.prefixMatch(of: /([1-9][0-9]?)\$@/), let n = Int(m.1) {
                out += n <= args.count ? args[n - 1] : "%\(n)$@"
                i = m.range.upperBound
            } else {
                out.append("%")
                i = template.index(after: i)
            }
        }
        return out
    }

    /// The placeholders of a text, as argument positions (1-based), for the consistency test.
    public static func placeholders(_ template: String) -> [Int] {
        var out: [Int] = []
        var next = 0
        var i = template.startIndex
        while i < template.endIndex {
            guard template[i] == "%" else { i = template.index(after: i); continue }
            let rest = template[template.index(after: i)...]
            if rest.hasPrefix("%") {
                i = template.index(i, offsetBy: 2)
            } else if rest.hasPrefix("@") {
                next += 1
                out.append(next)
                i = template.index(i, offsetBy: 2)
            } else if let m = rest.prefixMatch(of: /([1-9][0-9]?)\$@/), let n = Int(m.1) {
                out.append(n)
                i = m.range.upperBound
            } else {
                i = template.index(after: i)
            }
        }
        return out
    }

    /// The text for a step status.
    public static func status(_ s: StepStatus, _ lang: Language) -> String {
        string(statusKey(s), lang)
    }

    public static func statusKey(_ s: StepStatus) -> StringKey {
        switch s {
        case .pending: return .statusPending
        case .running: return .statusRunning
        case .succeeded: return .statusSucceeded
        case .failed: return .statusFailed
        case .skipped: return .statusSkipped
        case .interrupted: return .statusInterrupted
        case .stale: return .statusStale
        }
    }

    // MARK: English

    static let english: [StringKey: String] = [
        .statusPending: "pending",
        .statusRunning: "running",
        .statusSucceeded: "succeeded",
        .statusFailed: "failed",
        .statusSkipped: "skipped",
        .statusInterrupted: "interrupted",
        .statusStale: "stale",

        .tabLesson: "Lesson",
        .tabPlan: "Plan",
        .tabOutput: "Output",
        .tabInputs: "Inputs",
        .paneStages: "Stages",

        .keyMove: "move",
        .keyRun: "run",
        .keyRunAll: "all",
        .keySkip: "skip",
        .keyRetry: "retry",
        .keyEdit: "edit",
        .keyPlan: "plan",
        .keyDiff: "diff",
        .keyLog: "log",
        .keyHelp: "help",
        .keyQuit: "quit",
        .keySwitchPane: "pane",
        .keyScroll: "scroll",

        .helpTitle: "Keys",
        .helpSelectPrevious: "select previous stage",
        .helpSelectNext: "select next stage",
        .helpRunSelected: "run the selected stage",
        .helpRunAll: "run all remaining stages",
        .helpSkip: "skip the selected stage",
        .helpRetry: "retry the failed step",
        .helpEdit: "edit the stage's inputs",
        .helpPlan: "plan: commands and diffs",
        .helpDiff: "jump to the file diffs",
        .helpLog: "live output / log",
        .helpNextPane: "next pane tab",
        .helpPreviousPane: "previous pane tab",
        .helpScrollUp: "scroll the pane up",
        .helpScrollDown: "scroll the pane down",
        .helpTop: "scroll to the top",
        .helpEnd: "scroll to end / follow",
        .helpSearch: "search the output",
        .helpNextMatch: "next search match",
        .helpFollow: "toggle output follow",
        .helpCancel: "cancel the running step",
        .helpQuit: "quit (asks when running)",
        .helpHelp: "this help",

        .quitTitle: "Quit?",
        .confirmQuitRunning: "A step is running (%@). Quit anyway? The step is stopped first (on the server too) and can be resumed later.",
        .confirmQuitIdle: "Quit djdeploy? Your progress is saved; run djdeploy again to carry on.",
        .cancelStepTitle: "Cancel step?",
        .confirmCancelStep: "Cancel the running step `%@`? It is stopped on the server too, and marked interrupted: Enter or r resumes it.",
        .confirmStepTitle: "Confirm: %@",
        .confirmProceed: "Proceed?",
        .sudoPasswordTitle: "sudo password",
        .sudoPasswordMessage: "`%@` needs a sudo password on %@. It is kept in memory only and never written anywhere; Enter retries the step.",
        .sudoPasswordLabel: "password:",
        .sudoPasswordCLI: "sudo password for the target: ",
        .resumeBanner: "Resume %@: stopped at %@ / %@ (interrupted %@ ago)",
        .resumeHint: "Enter resumes",

        .hintYes: "yes",
        .hintNo: "no",
        .hintOK: "ok",
        .hintCancel: "cancel",
        .hintClose: "close",
        .hintQuit: "quit",
        .hintStay: "stay",
        .hintCancelStep: "cancel step",
        .hintKeepRunning: "keep running",
        .hintProceed: "yes, proceed",
        .hintDecline: "no (the step fails)",

        .statusBarProfile: "profile %@",
        .statusBarState: "state %@",
        .statusBarProgress: "%@/%@ steps done",
        .statusBarRunning: "running: %@",
        .statusBarCancelling: "cancelling: %@",
        .targetLocal: "local",
        .targetNone: "no target",
        .noticeStepRunning: "a step is running; Ctrl-C cancels it",
        .noticeNoInputs: "this stage reads no inputs",
        .noticeMissingInputs: "missing inputs: %@",
        .noticeNoPassword: "no password given; r retries the step",
        .noticeStepFailed: "%@ failed: %@",
        .planPlaceholder: "Press p to plan this stage: djdeploy checks the target and shows the exact commands and the diff of every file, without changing anything.",
        .planCommands: "Commands",
        .planFiles: "Files",
        .planNoChanges: "no changes: everything is already in place",
        .lessonMissing: "There is no lesson for this stage yet.",

        .errorTerminalTooSmall: "terminal too small: need 80×24",
        .errorTerminalSizeNow: "(now %@×%@)",
        .errorTerminalEnlarge: "enlarge the window, or press q to quit",
        .errorNoTerminal: "djdeploy: no terminal (stdin/stdout is not a TTY). Use `djdeploy run` for the headless mode.",
        .errorDumbTerminal: "djdeploy: this terminal (TERM=%@) cannot show the wizard. Use `djdeploy run` for the headless mode.",
        .errorStateLocked: "the state file %@ is in use by pid %@",
        .errorSaveState: "could not save the state: %@",
        .errorUnknownLanguage: "unknown language %@: use en or zh",
        .errorFirstRunNeedsAnswers: "the first run needs an answers file with the target and the domain: `djdeploy --answers FILE` (see docs/answers.md)",

        .runDone: "done in %@: %@",
        .runFailedAt: "failed at %@: %@",
        .runFailedHint: "fix the cause, then run `djdeploy run` again to resume from this step (%@)",
        .runInterrupted: "interrupted; `djdeploy run` resumes from here (%@)",
        .runNothingToDo: "nothing to do: every step in scope has succeeded (use --recheck to check them again)",
        .runResuming: "resuming at %@ (interrupted); checking it first",
        .runSummaryCount: "%1$@ %2$@",
        .runStepNoop: "ok, no change: %@",
        .runStepChanged: "changed",
        .runStepFailed: "FAILED: %@",
        .runStepInterrupted: "interrupted",
        .runSignal: "signal %@: stopping the running step (Ctrl-C again to exit at once)",
    ]

    // MARK: Chinese (Simplified)

    static let chinese: [StringKey: String] = [
        .statusPending: "待执行",
        .statusRunning: "执行中",
        .statusSucceeded: "已完成",
        .statusFailed: "失败",
        .statusSkipped: "已跳过",
        .statusInterrupted: "已中断",
        .statusStale: "已过时",

        .tabLesson: "讲解",
        .tabPlan: "计划",
        .tabOutput: "输出",
        .tabInputs: "输入",
        .paneStages: "阶段",

        .keyMove: "移动",
        .keyRun: "执行",
        .keyRunAll: "全部",
        .keySkip: "跳过",
        .keyRetry: "重试",
        .keyEdit: "编辑",
        .keyPlan: "计划",
        .keyDiff: "差异",
        .keyLog: "日志",
        .keyHelp: "帮助",
        .keyQuit: "退出",
        .keySwitchPane: "切换",
        .keyScroll: "滚动",

        .helpTitle: "按键",
        .helpSelectPrevious: "选择上一个阶段",
        .helpSelectNext: "选择下一个阶段",
        .helpRunSelected: "执行选中的阶段",
        .helpRunAll: "执行剩余的全部阶段",
        .helpSkip: "跳过选中的阶段",
        .helpRetry: "重试失败的步骤",
        .helpEdit: "编辑本阶段的输入项",
        .helpPlan: "计划：命令与文件差异",
        .helpDiff: "跳到文件差异",
        .helpLog: "实时输出 / 日志",
        .helpNextPane: "下一个标签页",
        .helpPreviousPane: "上一个标签页",
        .helpScrollUp: "向上滚动",
        .helpScrollDown: "向下滚动",
        .helpTop: "滚到顶部",
        .helpEnd: "滚到底部 / 跟随输出",
        .helpSearch: "搜索输出",
        .helpNextMatch: "下一个匹配",
        .helpFollow: "开关输出跟随",
        .helpCancel: "取消正在执行的步骤",
        .helpQuit: "退出（执行中会先确认）",
        .helpHelp: "本帮助",

        .quitTitle: "退出？",
        .confirmQuitRunning: "有步骤正在执行（%@）。仍要退出吗？该步骤会先被停止（服务器上也会停止），之后可以继续。",
        .confirmQuitIdle: "退出 djdeploy？进度已保存，再次运行 djdeploy 即可继续。",
        .cancelStepTitle: "取消步骤？",
        .confirmCancelStep: "取消正在执行的步骤 `%@`？服务器上的操作也会停止，该步骤标记为已中断：按 Enter 或 r 可继续。",
        .confirmStepTitle: "确认：%@",
        .confirmProceed: "继续执行？",
        .sudoPasswordTitle: "sudo 密码",
        .sudoPasswordMessage: "`%@` 需要 %@ 上的 sudo 密码。密码只保存在内存中，不会写到任何地方；按 Enter 重试该步骤。",
        .sudoPasswordLabel: "密码：",
        .sudoPasswordCLI: "目标主机的 sudo 密码：",
        .resumeBanner: "继续 %@：上次停在 %@ / %@（%@前中断）",
        .resumeHint: "按 Enter 继续",

        .hintYes: "是",
        .hintNo: "否",
        .hintOK: "确定",
        .hintCancel: "取消",
        .hintClose: "关闭",
        .hintQuit: "退出",
        .hintStay: "留下",
        .hintCancelStep: "取消步骤",
        .hintKeepRunning: "继续执行",
        .hintProceed: "是，继续",
        .hintDecline: "否（该步骤失败）",

        .statusBarProfile: "配置档 %@",
        .statusBarState: "状态文件 %@",
        .statusBarProgress: "已完成 %@/%@ 步",
        .statusBarRunning: "执行中：%@",
        .statusBarCancelling: "正在取消：%@",
        .targetLocal: "本机",
        .targetNone: "未指定目标",
        .noticeStepRunning: "有步骤正在执行；按 Ctrl-C 取消",
        .noticeNoInputs: "本阶段没有输入项",
        .noticeMissingInputs: "缺少输入项：%@",
        .noticeNoPassword: "未输入密码；按 r 重试该步骤",
        .noticeStepFailed: "%@ 失败：%@",
        .planPlaceholder: "按 p 生成本阶段的计划：djdeploy 会检查目标主机，列出将要执行的确切命令和每个文件的差异，但不做任何改动。",
        .planCommands: "命令",
        .planFiles: "文件",
        .planNoChanges: "无需改动：一切都已就绪",
        .lessonMissing: "本阶段还没有讲解。",

        .errorTerminalTooSmall: "终端窗口太小：至少需要 80×24",
        .errorTerminalSizeNow: "（当前 %@×%@）",
        .errorTerminalEnlarge: "请放大窗口，或按 q 退出",
        .errorNoTerminal: "djdeploy：没有终端（标准输入/输出不是 TTY）。请用 `djdeploy run` 以非交互模式运行。",
        .errorDumbTerminal: "djdeploy：该终端（TERM=%@）无法显示向导界面。请用 `djdeploy run` 以非交互模式运行。",
        .errorStateLocked: "状态文件 %@ 正被进程 %@ 使用",
        .errorSaveState: "无法保存状态：%@",
        .errorUnknownLanguage: "未知语言 %@：请使用 en 或 zh",
        .errorFirstRunNeedsAnswers: "首次运行需要一个写明目标主机和域名的应答文件：`djdeploy --answers FILE`（见 docs/answers.md）",

        .runDone: "完成，用时 %@：%@",
        .runFailedAt: "在 %@ 失败：%@",
        .runFailedHint: "排除原因后再次运行 `djdeploy run`，将从这一步继续（%@）",
        .runInterrupted: "已中断；运行 `djdeploy run` 可从这里继续（%@）",
        .runNothingToDo: "无事可做：范围内的步骤都已完成（加 --recheck 可重新检查）",
        .runResuming: "从 %@ 继续（上次中断）；先检查这一步",
        .runSummaryCount: "%2$@ %1$@ 步",
        .runStepNoop: "正常，无改动：%@",
        .runStepChanged: "已改动",
        .runStepFailed: "失败：%@",
        .runStepInterrupted: "已中断",
        .runSignal: "收到信号 %@：正在停止当前步骤（再按一次 Ctrl-C 立即退出）",
    ]
}

// MARK: - Strings

/// The string table bound to one language: `strings[.tabLesson]`, `strings(.resumeBanner, a, b, c, d)`.
public struct Strings: Sendable, Hashable {
    public let language: Language

    public init(_ language: Language) { self.language = language }

    public subscript(_ key: StringKey) -> String { L10n.string(key, language) }

    public func callAsFunction(_ key: StringKey, _ args: String...) -> String {
        L10n.fill(L10n.string(key, language), args)
    }

    public func status(_ s: StepStatus) -> String { L10n.status(s, language) }
}
