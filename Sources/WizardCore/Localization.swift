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

    // TUI (WizardTUI): screens, notices, plan, transcript, training mode
    case resumeBannerFailed = "prompt.resume.banner-failed"
    case agoSeconds = "time.ago-seconds"
    case agoMinutes = "time.ago-minutes"
    case agoHours = "time.ago-hours"
    case agoDays = "time.ago-days"
    case bannerNoStages = "bar.no-stages"
    case outputLive = "output.live"
    case outputTranscript = "output.transcript"
    case outputLines = "output.lines"
    case outputFollow = "output.follow"
    case outputPaused = "output.paused"
    case outputMatches = "output.matches"
    case outputDropped = "output.dropped"
    case outputRun = "output.run"
    case outputRetry = "output.retry"
    case outputScopeStage = "output.scope-stage"
    case outputScopeAll = "output.scope-all"
    case outputApplyWithoutCheck = "output.apply-without-check"
    case outputStepNoop = "output.step-noop"
    case outputStepDone = "output.step-done"
    case outputStepInterrupted = "output.step-interrupted"
    case outputDone = "output.done"
    case outputStopped = "output.stopped"
    case noticeDone = "notice.done"
    case noticeInterrupted = "notice.interrupted"
    case noticeNothingToDo = "notice.nothing-to-do"
    case noticeFailedRetry = "notice.failed-retry"
    case noticeCancelling = "notice.cancelling"
    case noticeSkipped = "notice.skipped"
    case noticeNothingToSkip = "notice.nothing-to-skip"
    case noticeStageRunning = "notice.stage-running"
    case noticeNothingToRetry = "notice.nothing-to-retry"
    case noticeInputSet = "notice.input-set"
    case inputsNone = "inputs.none"
    case inputsHidden = "inputs.hidden"
    case inputsDefault = "inputs.default"
    case planPlanning = "plan.planning"
    case planTitle = "plan.title"
    case planFromLiveChecks = "plan.live"
    case planCannotCheck = "plan.cannot-check"
    case planNothingToDo = "plan.nothing-to-do"
    case planNeedsChange = "plan.needs-change"
    case planAsRoot = "plan.as-root"
    case planUnchanged = "plan.unchanged"
    case planFile = "plan.file"
    case planFileNew = "plan.file-new"
    case planNoSteps = "plan.no-steps"
    case logNone = "log.none"
    case logEmpty = "log.empty"
    case logAsRoot = "log.as-root"
    case logEarlier = "log.earlier"
    case lessonStepsIntro = "lesson.steps-intro"
    case lessonInputs = "lesson.inputs"
    case lessonInputsEdit = "lesson.inputs-edit"
    case glyphLegendDone = "help.legend-done"
    case helpTraining = "help.training"
    case keyTrainRun = "key.train-run"
    case keyTrainNext = "key.train-next"
    case keyTrainType = "key.train-type"
    case keyTrainLeave = "key.train-leave"
    case helpTrainContinue = "help.train-continue"
    case helpTrainType = "help.train-type"
    case helpTrainSkip = "help.train-skip"
    case helpTrainLeave = "help.train-leave"
    case trainTitle = "train.title"
    case trainPlanning = "train.planning"
    case trainStep = "train.step"
    case trainWillRun = "train.will-run"
    case trainNothingToRun = "train.nothing-to-run"
    case trainFromLesson = "train.from-lesson"
    case trainPromptEnter = "train.prompt-enter"
    case trainPromptNoCommand = "train.prompt-no-command"
    case trainTypeHere = "train.type-here"
    case trainMatch = "train.match"
    case trainMismatch = "train.mismatch"
    case trainYouTyped = "train.you-typed"
    case trainFirstDifference = "train.first-difference"
    case trainRetryOrRun = "train.retry-or-run"
    case trainAllTyped = "train.all-typed"
    case trainNoCommand = "train.no-command"
    case trainAfterOK = "train.after-ok"
    case trainAfterFailed = "train.after-failed"
    case trainLookYourself = "train.look-yourself"
    case trainNextStep = "train.next-step"
    case trainAgain = "train.again"
    case trainWalkDone = "train.walk-done"
    case trainLeft = "train.left"
    case trainNoServerTitle = "train.no-server"
    case trainHintFirewall = "train.hint.firewall"
    case trainHintStaticIP = "train.hint.static-ip"
    case trainHintDNS = "train.hint.dns"
    case trainHintDjango = "train.hint.django"
    case trainHintGunicorn = "train.hint.gunicorn"
    case trainHintNginx = "train.hint.nginx"
    case trainHintStaticFiles = "train.hint.static-files"
    case trainHintHTTPSCert = "train.hint.https-cert"
    case trainHintHTTPSRedirect = "train.hint.https-redirect"
    case trainHintSecurityHeaders = "train.hint.security-headers"
    case trainHintGoLive = "train.hint.go-live"
    case trainHintVerify = "train.hint.verify"
    case trainHintGeneric = "train.hint.generic"
    case errorCannotInitTerminal = "error.cannot-init-terminal"
    case exitStoppedStep = "exit.stopped-step"
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

        .resumeBannerFailed: "Resume %@: stopped at %@ / %@ (failed %@ ago)",
        .agoSeconds: "%@ s",
        .agoMinutes: "%@ min",
        .agoHours: "%@ h %@ min",
        .agoDays: "%@ d",
        .bannerNoStages: "this build of djdeploy has no stages yet (try --demo)",
        .outputLive: "live output",
        .outputTranscript: "transcript (l: live output)",
        .outputLines: "%@ lines",
        .outputFollow: "follow",
        .outputPaused: "paused (End: follow)",
        .outputMatches: "/%@: %@ matches",
        .outputDropped: "%@ lines not shown (output faster than the screen)",
        .outputRun: "run %@",
        .outputRetry: "retry %@",
        .outputScopeStage: "stage %@",
        .outputScopeAll: "all remaining stages",
        .outputApplyWithoutCheck: ", apply without checking",
        .outputStepNoop: "%@: ok, no change (%@)",
        .outputStepDone: "%@: done",
        .outputStepInterrupted: "%@: interrupted",
        .outputDone: "done",
        .outputStopped: "stopped: %@ failed (r retries, l shows the log)",
        .noticeDone: "done: every step in scope succeeded",
        .noticeInterrupted: "interrupted; Enter or a resumes",
        .noticeNothingToDo: "nothing to do",
        .noticeFailedRetry: "%@ failed; fix the cause, then r retries",
        .noticeCancelling: "cancelling the running step…",
        .noticeSkipped: "skipped %@",
        .noticeNothingToSkip: "nothing to skip in %@",
        .noticeStageRunning: "the stage is running; Ctrl-C cancels the step first",
        .noticeNothingToRetry: "nothing to retry: no failed or interrupted step",
        .noticeInputSet: "%@ set to %@",
        .inputsNone: "This stage reads no inputs.",
        .inputsHidden: "(set, hidden)",
        .inputsDefault: "default: %@",
        .planPlanning: "Planning %@: checking %@…",
        .planTitle: "Plan for %@ on %@",
        .planFromLiveChecks: "from live checks; nothing has been changed",
        .planCannotCheck: "cannot check: %@",
        .planNothingToDo: "nothing to do: %@",
        .planNeedsChange: "needs change: %@",
        .planAsRoot: "(as root)",
        .planUnchanged: "%@ (unchanged)",
        .planFile: "File %@",
        .planFileNew: "File %@ (new)",
        .planNoSteps: "This stage has no steps.",
        .logNone: "no transcript",
        .logEmpty: "the transcript (%@) is empty: no command has run yet",
        .logAsRoot: "as root",
        .logEarlier: "%@ earlier lines not kept",
        .lessonStepsIntro: "This stage runs these steps, in order. Each step first checks the target and changes it only when needed; p shows the plan.",
        .lessonInputs: "Inputs",
        .lessonInputsEdit: "%@ (e edits them)",
        .glyphLegendDone: "done",
        .helpTraining: "Training",
        .keyTrainRun: "run it",
        .keyTrainNext: "next",
        .keyTrainType: "type it",
        .keyTrainLeave: "leave",
        .helpTrainContinue: "run the step shown/next",
        .helpTrainType: "type the command first",
        .helpTrainSkip: "skip this step",
        .helpTrainLeave: "leave the training walk",
        .trainTitle: "Training: %@ / step %@ of %@",
        .trainPlanning: "Checking %@ to see what this step would do…",
        .trainStep: "Next step: %@",
        .trainWillRun: "This step will run:",
        .trainNothingToRun: "It runs no command here: %@",
        .trainFromLesson: "From the lesson",
        .trainPromptEnter: "Enter runs it; t lets you type the command yourself.",
        .trainPromptNoCommand: "Enter runs it (there is no command to type).",
        .trainTypeHere: "Type command %@ of %@ and press Enter (Esc: close):",
        .trainMatch: "Right: %@",
        .trainMismatch: "Not quite. Expected:",
        .trainYouTyped: "You typed:",
        .trainFirstDifference: "first difference at word %@: expected %@, got %@",
        .trainRetryOrRun: "Type it again, or press Enter on an empty line to run the expected command.",
        .trainAllTyped: "All commands typed correctly: running the step.",
        .trainNoCommand: "this step runs no command to type; Enter runs it",
        .trainAfterOK: "Step done: %@",
        .trainAfterFailed: "Step failed: %@",
        .trainLookYourself: "Look at it yourself",
        .trainNextStep: "Enter: next step (%@).",
        .trainAgain: "Enter: show this step again and retry it.",
        .trainWalkDone: "Training walk finished for this scope; Enter or Esc closes it.",
        .trainLeft: "left the training walk; Enter starts it again",
        .trainNoServerTitle: "training mode needs a server to practise on. For a practice server on this machine (sshd, DNS, ACME; run as root): `%@`, then `%@`",
        .trainHintFirewall: "Check from this machine that the ports answer: `nc -zv %2$@ 22`, then 80 and 443. A timeout means the firewall still drops them.",
        .trainHintStaticIP: "Compare the address with the one your provider shows; after a reboot it must be the same: `ssh you@%2$@ hostname -I`.",
        .trainHintDNS: "Ask a resolver for the name yourself: `dig +short %@` must print the server's address.",
        .trainHintDjango: "Open http://%@:8000/ now (the development check), or on the server: `curl -I http://127.0.0.1:8000/`.",
        .trainHintGunicorn: "On the server: `systemctl status gunicorn` should say active; the site at http://%@:8000/ is now served by gunicorn.",
        .trainHintNginx: "Open http://%@/ now: nginx answers on port 80. On the server, `sudo nginx -t` must say ok.",
        .trainHintStaticFiles: "Open http://%@/static/ with a file name from your app (e.g. admin/css/base.css): nginx serves it straight from disk.",
        .trainHintHTTPSCert: "Open https://%@/ now and look at the padlock; `sudo certbot certificates` on the server lists the certificate.",
        .trainHintHTTPSRedirect: "`curl -I http://%@/` must answer 301 with a Location that starts with https://.",
        .trainHintSecurityHeaders: "`curl -sI https://%@/` shows the security headers (Strict-Transport-Security, X-Content-Type-Options, …).",
        .trainHintGoLive: "Open https://%@/ in a private window: the site runs with DEBUG off, so errors show the plain error page.",
        .trainHintVerify: "Read the grade above, then try `djdeploy verify` yourself; the site is https://%@/.",
        .trainHintGeneric: "The Output tab shows what ran; the lesson's check-by-hand section says how to look at it yourself (domain %@).",
        .errorCannotInitTerminal: "cannot initialise the terminal; use `djdeploy run` for the headless mode",
        .exitStoppedStep: "stopped the running step (%@); run djdeploy again to resume it",
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

        .resumeBannerFailed: "继续 %@：上次停在 %@ / %@（%@前失败）",
        .agoSeconds: "%@ 秒",
        .agoMinutes: "%@ 分钟",
        .agoHours: "%@ 小时 %@ 分钟",
        .agoDays: "%@ 天",
        .bannerNoStages: "这个 djdeploy 版本还没有任何阶段（可试试 --demo）",
        .outputLive: "实时输出",
        .outputTranscript: "命令记录（l：实时输出）",
        .outputLines: "%@ 行",
        .outputFollow: "跟随",
        .outputPaused: "已暂停（End：跟随）",
        .outputMatches: "/%@：%@ 处匹配",
        .outputDropped: "%@ 行未显示（输出快于屏幕刷新）",
        .outputRun: "执行 %@",
        .outputRetry: "重试 %@",
        .outputScopeStage: "阶段 %@",
        .outputScopeAll: "剩余的全部阶段",
        .outputApplyWithoutCheck: "，不检查直接执行",
        .outputStepNoop: "%@：正常，无改动（%@）",
        .outputStepDone: "%@：完成",
        .outputStepInterrupted: "%@：已中断",
        .outputDone: "完成",
        .outputStopped: "已停止：%@ 失败（r 重试，l 查看日志）",
        .noticeDone: "完成：范围内的步骤全部成功",
        .noticeInterrupted: "已中断；按 Enter 或 a 继续",
        .noticeNothingToDo: "无事可做",
        .noticeFailedRetry: "%@ 失败；排除原因后按 r 重试",
        .noticeCancelling: "正在取消当前步骤…",
        .noticeSkipped: "已跳过 %@",
        .noticeNothingToSkip: "%@ 中没有可跳过的步骤",
        .noticeStageRunning: "该阶段正在执行；请先按 Ctrl-C 取消当前步骤",
        .noticeNothingToRetry: "无可重试：没有失败或中断的步骤",
        .noticeInputSet: "%@ 已设为 %@",
        .inputsNone: "本阶段没有输入项。",
        .inputsHidden: "（已设置，不显示）",
        .inputsDefault: "默认：%@",
        .planPlanning: "正在为 %@ 生成计划：检查 %@…",
        .planTitle: "%@ 在 %@ 上的计划",
        .planFromLiveChecks: "来自实时检查；没有做任何改动",
        .planCannotCheck: "无法检查：%@",
        .planNothingToDo: "无需操作：%@",
        .planNeedsChange: "需要改动：%@",
        .planAsRoot: "（以 root 身份）",
        .planUnchanged: "%@（无变化）",
        .planFile: "文件 %@",
        .planFileNew: "文件 %@（新建）",
        .planNoSteps: "本阶段没有步骤。",
        .logNone: "没有命令记录",
        .logEmpty: "命令记录（%@）是空的：还没有执行过命令",
        .logAsRoot: "以 root 身份",
        .logEarlier: "更早的 %@ 行未保留",
        .lessonStepsIntro: "本阶段按顺序执行下面这些步骤。每一步都先检查目标主机，只在需要时才做改动；按 p 查看计划。",
        .lessonInputs: "输入项",
        .lessonInputsEdit: "%@（按 e 编辑）",
        .glyphLegendDone: "完成",
        .helpTraining: "练习",
        .keyTrainRun: "执行",
        .keyTrainNext: "下一步",
        .keyTrainType: "自己输入",
        .keyTrainLeave: "离开",
        .helpTrainContinue: "执行所示步骤 / 下一步",
        .helpTrainType: "先自己输入命令",
        .helpTrainSkip: "跳过这一步",
        .helpTrainLeave: "退出练习流程",
        .trainTitle: "练习：%@ / 第 %@ 步，共 %@ 步",
        .trainPlanning: "正在检查 %@，看这一步要做什么…",
        .trainStep: "下一步：%@",
        .trainWillRun: "这一步将执行：",
        .trainNothingToRun: "这里不执行任何命令：%@",
        .trainFromLesson: "讲解摘录",
        .trainPromptEnter: "按 Enter 执行；按 t 自己输入命令。",
        .trainPromptNoCommand: "按 Enter 执行（没有需要输入的命令）。",
        .trainTypeHere: "输入第 %@ 条命令（共 %@ 条）后按 Enter（Esc 关闭）：",
        .trainMatch: "正确：%@",
        .trainMismatch: "不太对。应为：",
        .trainYouTyped: "你输入的是：",
        .trainFirstDifference: "第 %@ 个词不同：应为 %@，实际为 %@",
        .trainRetryOrRun: "再输入一次，或在空行上按 Enter 执行预期的命令。",
        .trainAllTyped: "命令全部输入正确：开始执行这一步。",
        .trainNoCommand: "这一步没有需要输入的命令；按 Enter 执行",
        .trainAfterOK: "步骤完成：%@",
        .trainAfterFailed: "步骤失败：%@",
        .trainLookYourself: "自己动手看一看",
        .trainNextStep: "Enter：下一步（%@）。",
        .trainAgain: "Enter：重新显示这一步并重试。",
        .trainWalkDone: "本范围的练习已完成；按 Enter 或 Esc 关闭。",
        .trainLeft: "已退出练习流程；按 Enter 重新开始",
        .trainNoServerTitle: "练习模式需要一台用来练手的服务器。要在本机搭一个练习环境（sshd、DNS、ACME，需要 root）：先运行 `%@`，再运行 `%@`",
        .trainHintFirewall: "在本机检查端口是否能连通：`nc -zv %2$@ 22`，再试 80 和 443。超时说明防火墙仍在丢弃数据包。",
        .trainHintStaticIP: "把这个地址和云服务商控制台里显示的对比一下；重启后它必须不变：`ssh you@%2$@ hostname -I`。",
        .trainHintDNS: "自己查询一下域名：`dig +short %@` 应当输出服务器的地址。",
        .trainHintDjango: "现在打开 http://%@:8000/（开发检查），或在服务器上运行：`curl -I http://127.0.0.1:8000/`。",
        .trainHintGunicorn: "在服务器上运行 `systemctl status gunicorn`，应显示 active；http://%@:8000/ 现在由 gunicorn 提供。",
        .trainHintNginx: "现在打开 http://%@/：由 nginx 在 80 端口应答。在服务器上 `sudo nginx -t` 应当显示 ok。",
        .trainHintStaticFiles: "打开 http://%@/static/ 加上你应用里的文件名（例如 admin/css/base.css）：nginx 直接从磁盘返回它。",
        .trainHintHTTPSCert: "现在打开 https://%@/ 看看地址栏的锁；在服务器上 `sudo certbot certificates` 会列出证书。",
        .trainHintHTTPSRedirect: "`curl -I http://%@/` 应当返回 301，Location 以 https:// 开头。",
        .trainHintSecurityHeaders: "`curl -sI https://%@/` 会显示安全响应头（Strict-Transport-Security、X-Content-Type-Options 等）。",
        .trainHintGoLive: "在浏览器隐私窗口打开 https://%@/：网站已关闭 DEBUG，出错时只显示普通的错误页。",
        .trainHintVerify: "看看上面的评分，然后自己运行一次 `djdeploy verify`；网站地址是 https://%@/。",
        .trainHintGeneric: "输出标签页显示了执行的内容；讲解中“手动检查”一节告诉你如何自己查看（域名 %@）。",
        .errorCannotInitTerminal: "无法初始化终端；请用 `djdeploy run` 以非交互模式运行",
        .exitStoppedStep: "已停止正在执行的步骤（%@）；再次运行 djdeploy 即可继续",
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
