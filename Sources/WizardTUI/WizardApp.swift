#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization
import Stages
import StepRunner
import TerminalUI
import WizardCore

/// A confirmation the runtime is waiting for (a step with a `confirmation` text).
struct PendingConfirmation: Sendable {
    var step: StepID
    var text: String
    var continuation: CheckedContinuation<Bool, Never>
}

/// What arrives from other threads (runtime events, step output, confirmations), drained by
/// `WizardApp.update()` on the main actor. Output lines are bounded: when the screen cannot keep
/// up, the oldest undrained lines are dropped (and counted).
final class WizardMailbox: Sendable {
    struct Content: Sendable {
        /// Runtime events in arrival order (step output included).
        var events: [RuntimeEvent] = []
        var outputCount = 0
        var droppedLines = 0
        var confirmations: [PendingConfirmation] = []
    }

    let maxLines: Int
    private let box = Mutex(Content())

    init(maxLines: Int = 20_000) { self.maxLines = maxLines }

    func push(_ event: RuntimeEvent) {
        box.withLock { c in
            c.events.append(event)
            guard case .stepOutput = event else { return }
            c.outputCount += 1
            if c.outputCount > 2 * maxLines {
                // Drop the oldest undrained output lines (keep the other events).
                var toDrop = c.outputCount - maxLines
                c.droppedLines += toDrop
                c.outputCount -= toDrop
                c.events.removeAll { e in
                    guard toDrop > 0, case .stepOutput = e else { return false }
                    toDrop -= 1
                    return true
                }
            }
        }
    }

    func push(_ confirmation: PendingConfirmation) {
        box.withLock { $0.confirmations.append(confirmation) }
    }

    func drain() -> Content {
        box.withLock { c in
            let out = c
            c = Content()
            return out
        }
    }

    func drainConfirmations() -> [PendingConfirmation] {
        box.withLock { c in
            let out = c.confirmations
            c.confirmations = []
            return out
        }
    }
}

/// The wizard: presents the live `WizardState` of a `WizardRuntime` and maps keys to the
/// runtime's requests (run, retry, skip, cancel, set input, plan). No deployment logic here.
@MainActor
public final class WizardApp: TUIApp {
    public typealias ConfirmHandler = @Sendable (StepID, String) async -> Bool
    public typealias EventHandler = @Sendable (RuntimeEvent) -> Void

    public let runtime: WizardRuntime
    public let deployment: Deployment
    public let theme: Theme
    public let keymap: Keymap<WizardAction>
    /// The keys while training mode shows a step.
    public let trainingKeymap: Keymap<WizardAction>
    /// The last state read from the runtime.
    public private(set) var state: WizardState
    public var model = WizardViewModel()
    /// The result of the last run/retry (tests).
    public private(set) var lastRunResult: RunResult?
    /// The step the resume banner points at, if any.
    public private(set) var resumeStep: StepID?

    let runner: any CommandRunning
    let statePath: String
    let transcriptPath: String?
    let assetsDirectory: String?
    /// The language of the UI and the lessons (--lang, else LC_ALL / LC_MESSAGES / LANG).
    public let language: Language
    var strings: Strings { Strings(language) }
    /// Training mode (`--training`): each step is shown, with its commands, before it runs.
    public let trainingMode: Bool
    /// Training mode's walk (see `Training`).
    public private(set) var training = TrainingState()
    /// The plan of the step the walk shows.
    private var trainingEntry: PlanEntry?
    private var trainingPrompt = TextInput()
    private var trainingScroll = 0
    private var trainingTask: Task<Void, Never>?
    let now: @Sendable () -> Timestamp
    private let mailbox: WizardMailbox

    private var size = (width: 80, height: 24)
    private var runTask: Task<Void, Never>?
    private var refreshTask: Task<Void, Never>?
    private var refreshAgain = false
    private var stateChanged = false

    enum Overlay {
        case help
        case confirmQuit
        case confirmCancel
        case confirmStep(PendingConfirmation)
        case password(StepID, TextInput)
    }
    private var overlay: Overlay?
    private var confirmQueue: [PendingConfirmation] = []
    private var search: TextInput?

    // Inputs form
    private var formKeys: [InputKey] = []
    private var formIndex: Int?
    private var formEdit = TextInput()
    private var formErrors: [InputKey: String] = [:]

    // Output: live, or the transcript (`l`)
    private var showingLog = false
    private var logOutput = ScrollbackBuffer(capacity: 10_000)

    // Plan
    private var planStage: StageID?
    private var planTask: Task<Void, Never>?
    private var planGeneration = 0
    private var jumpToDiff = false

    private var lessonStage: StageID?
    /// The step whose output the Output pane shows, and a header held back (see runtimeEvent).
    private var outputStep: StepID?
    private var pendingHeader: String?

    /// - Parameters:
    ///   - makeRuntime: builds the runtime with the app's confirmation and event handlers (the
    ///     TUI passes `Session.makeRuntime`; tests build one directly).
    public init(deployment: Deployment, state: WizardState, statePath: String, transcriptPath: String?,
                assetsDirectory: String?, runner: any CommandRunning, theme: Theme,
                language: Language = .en, training: Bool = false,
                now: @escaping @Sendable () -> Timestamp = { .now() },
                makeRuntime: (@escaping ConfirmHandler, @escaping EventHandler) -> WizardRuntime) {
        let mailbox = WizardMailbox()
        self.language = language
        self.trainingMode = training
        self.keymap = WizardKeys.keymap(language)
        self.trainingKeymap = WizardKeys.trainingKeymap(language)
        self.mailbox = mailbox
        self.deployment = deployment
        self.theme = theme
        self.runner = runner
        self.statePath = statePath
        self.transcriptPath = transcriptPath
        self.assetsDirectory = assetsDirectory
        self.now = now
        var s = state
        s.reconcile(with: deployment)
        self.state = s
        self.runtime = makeRuntime(
            { id, text in
                await withCheckedContinuation { c in
                    mailbox.push(PendingConfirmation(step: id, text: text, continuation: c))
                }
            },
            { event in mailbox.push(event) })
        model.strings = Strings(language)
        model.outputTitle = Strings(language)[.outputLive]
        setUpResume()
        rebuildModel()
        selectionChanged()
    }

    /// The wizard over a session (the same core and runner as `djdeploy run`).
    public convenience init(session: Session, runner: any CommandRunning, localRunner: (any CommandRunning)?,
                            theme: Theme, language: Language = .en, training: Bool = false) {
        self.init(deployment: session.deployment, state: session.state, statePath: session.store.path,
                  transcriptPath: session.transcriptPath, assetsDirectory: session.options.assetsDirectory,
                  runner: runner, theme: theme, language: language, training: training) { confirm, events in
            session.makeRuntime(runner: runner, localRunner: localRunner, confirm: confirm, events: events)
        }
    }

    // MARK: state → model

    /// True while a run or retry is in progress.
    public var isRunning: Bool { runTask != nil || state.phase.cursor != nil }

    static func glyph(_ s: StepStatus) -> StatusGlyph {
        switch s {
        case .pending: return .pending
        case .running: return .running
        case .succeeded: return .done
        case .failed: return .failed
        case .skipped: return .skipped
        case .interrupted: return .interrupted
        case .stale: return .stale
        }
    }

    /// `12s`, `1m48s`, `2h03m`.
    public nonisolated static func formatElapsed(ms: Int64) -> String {
        let s = max(0, ms) / 1000
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
        return "\(s / 3600)h\(String(format: "%02d", (s % 3600) / 60))m"
    }

    /// `42 s`, `5 min`, `3 h 12 min`, `2 d` (`42 秒`… in Chinese).
    public nonisolated static func formatAgo(ms: Int64, _ strings: Strings = Strings(.en)) -> String {
        let s = max(0, ms) / 1000
        if s < 60 { return strings(.agoSeconds, "\(s)") }
        if s < 3600 { return strings(.agoMinutes, "\(s / 60)") }
        if s < 86400 { return strings(.agoHours, "\(s / 3600)", "\((s % 3600) / 60)") }
        return strings(.agoDays, "\(s / 86400)")
    }

    private func elapsedMs(_ r: StepRecord, _ t: Timestamp) -> Int64? {
        guard let a = r.startedAt else { return nil }
        let b = r.status == .running ? t : (r.endedAt ?? a)
        return b.millisecondsSince1970 - a.millisecondsSince1970
    }

    var targetText: String {
        switch state.target {
        case nil: return strings[.targetNone]
        case .local?: return strings[.targetLocal]
        case .ssh(let d)?: return d.description + (d.port == nil ? ":22" : "")
        }
    }

    func rebuildModel() {
        let t = now()
        let running = state.phase.cursor?.current
        model.stages = state.stages.enumerated().map { i, st in
            var total: Int64 = 0
            var any = false
            let steps = st.steps.map { r -> StepRowModel in
                let e = elapsedMs(r, t)
                if let e { total += e; any = true }
                return StepRowModel(r.title, Self.glyph(r.status), elapsed: e.map { Self.formatElapsed(ms: $0) })
            }
            let expanded = i == model.selected || st.steps.contains { $0.id == running }
            return StageRowModel(st.id.rawValue, Self.glyph(st.status), elapsed: any ? Self.formatElapsed(ms: total) : nil,
                                 steps: steps, expanded: expanded)
        }
        model.selected = max(0, min(model.selected, state.stages.count - 1))
        model.target = targetText
        model.profile = state.profile
        let home = ProcessInfo.processInfo.environment["HOME"] ?? ""
        model.statePath = !home.isEmpty && home != "/" && statePath.hasPrefix(home + "/")
            ? "~" + statePath.dropFirst(home.count) : statePath
        let all = state.allSteps
        let done = all.filter { $0.status == .succeeded || $0.status == .skipped }.count
        let count = strings(.statusBarProgress, "\(done)", "\(all.count)")
        var progress = count
        if let id = running, let r = state.step(id) {
            progress = (state.phase == .idle ? r.title : strings(.statusBarRunning, r.title)) + " \(theme.separator) " + count
            if case .cancelling = state.phase { progress = strings(.statusBarCancelling, r.title) + " \(theme.separator) " + count }
        }
        model.progress = progress
        if state.stages.isEmpty {
            model.banner = strings[.bannerNoStages]
        }
        rebuildForm()
    }

    var selectedStage: StageRecord? {
        state.stages.indices.contains(model.selected) ? state.stages[model.selected] : nil
    }

    // MARK: resume

    /// The resume banner as set up (before the key hint is added).
    private var resumeBannerText: String?

    private func setUpResume() {
        for (i, st) in state.stages.enumerated() {
            guard let r = st.steps.first(where: { $0.status == .interrupted || $0.status == .failed }) else { continue }
            let when = r.endedAt ?? r.startedAt ?? state.updatedAt
            let ago = Self.formatAgo(ms: now().millisecondsSince1970 - when.millisecondsSince1970, strings)
            model.banner = strings(r.status == .interrupted ? .resumeBanner : .resumeBannerFailed,
                                   state.profile, st.id.rawValue, r.title, ago)
            resumeBannerText = model.banner
            model.selected = i
            resumeStep = r.id
            return
        }
    }

    // MARK: TUIApp

    public var tickInterval: Duration? { isRunning ? .milliseconds(100) : nil }

    public func render(into buffer: inout Buffer) {
        size = (buffer.width, buffer.height)
        var m = model
        if resumeStep != nil, let b = m.banner, b == resumeBannerText,
           DisplayWidth.of(b) + 20 <= buffer.width {
            m.banner = b + " \(theme.separator) " + strings[.resumeHint]
        }
        m.modal = currentModal()
        m.searchPrompt = search?.value
        if showingLog {
            m.output = logOutput
            m.outputTitle = strings[.outputTranscript]
        }
        if training.showsScreen { m.training = trainingView() }
        WizardView.render(m, keyHints: activeKeymap.keyBarEntries(plain: theme.plain), theme: theme, into: &buffer)
    }

    func currentModal() -> Modal? {
        let w = min(60, size.width - 4)
        switch overlay {
        case .help?:
            return WizardView.helpModal(activeKeymap, theme: theme, width: min(78, size.width - 2), strings: strings)
        case .confirmQuit?:
            let hints = [KeyHint(key: "y", text: strings[.hintQuit]), KeyHint(key: "n", text: strings[.hintStay])]
            if let id = state.phase.cursor?.current ?? (isRunning ? resumeStep : nil) {
                return Modal(title: strings[.quitTitle], message: [Line(strings(.confirmQuitRunning, state.step(id)?.title ?? id.rawValue))],
                             hints: hints, theme: theme, width: w)
            }
            return Modal(title: strings[.quitTitle], message: [Line(strings[.confirmQuitIdle])], hints: hints, theme: theme, width: w)
        case .confirmCancel?:
            let title = state.phase.cursor.flatMap { state.step($0.current)?.title } ?? "?"
            return Modal(title: strings[.cancelStepTitle], message: [Line(strings(.confirmCancelStep, title))],
                         hints: [KeyHint(key: "y", text: strings[.hintCancelStep]), KeyHint(key: "n", text: strings[.hintKeepRunning])],
                         theme: theme, width: w)
        case .confirmStep(let pc)?:
            let title = state.step(pc.step)?.title ?? pc.step.rawValue
            return Modal(title: strings(.confirmStepTitle, title), message: [Line(pc.text), "", Line(strings[.confirmProceed])],
                         hints: [KeyHint(key: "y", text: strings[.hintProceed]), KeyHint(key: "n", text: strings[.hintDecline])],
                         theme: theme, width: w)
        case .password(let id, let input)?:
            let title = state.step(id)?.title ?? id.rawValue
            return Modal(title: strings[.sudoPasswordTitle], message: [
                Line(strings(.sudoPasswordMessage, title, targetText)),
            ], hints: [KeyHint(key: "Enter", text: strings[.hintOK]), KeyHint(key: "Esc", text: strings[.hintCancel])],
            input: input, inputLabel: strings[.sudoPasswordLabel], theme: theme, width: w)
        case nil:
            return nil
        }
    }

    public func update() -> Bool {
        let c = mailbox.drain()
        var changed = false
        if c.droppedLines > 0 {
            model.output.append(line: "\(theme.ellipsis) " + strings(.outputDropped, "\(c.droppedLines)"))
        }
        var stateEvents = false
        for e in c.events {
            runtimeEvent(e)
            if case .stepOutput = e {
                if model.tab == .output && !showingLog { changed = true }
            } else {
                stateEvents = true
                changed = true
            }
        }
        if stateEvents { requestStateRefresh() }
        if !c.confirmations.isEmpty {
            confirmQueue += c.confirmations
            showNextConfirmation()
            changed = true
        }
        if stateChanged {
            stateChanged = false
            changed = true
        }
        return changed
    }

    private func runtimeEvent(_ e: RuntimeEvent) {
        switch e {
        case .stepStarted(let id, let mode):
            let title = deployment.step(id)?.title ?? id.rawValue
            let rule = theme.plain ? "--" : "──"
            let header = "\(rule) \(title) (\(id))\(mode == .apply ? strings[.outputApplyWithoutCheck] : "") \(rule)"
            // The runtime reports the next step's start before the previous step's end: hold the
            // header until that end has been shown.
            if let last = outputStep, last != id { pendingHeader = header } else { model.output.append(line: header) }
            outputStep = id
        case .stepOutput(_, let line):
            flushPendingHeader()
            model.output.append(line: line)
        case .stepFinished(let rec):
            defer { flushPendingHeader() }
            if outputStep == rec.id { outputStep = nil }
            switch rec.status {
            case .succeeded:
                model.output.append(line: "\(theme.glyph(.done)) " + (rec.noopReason.map { strings(.outputStepNoop, rec.title, $0) }
                                                                       ?? strings(.outputStepDone, rec.title)))
            case .failed:
                let err = rec.error ?? strings.status(.failed)
                model.output.append(line: "\(theme.glyph(.failed)) " + strings(.noticeStepFailed, rec.title, err))
                model.notice = strings(.noticeStepFailed, rec.title, err)
                if err.contains("needs a sudo password") {
                    if overlay == nil { overlay = .password(rec.id, TextInput(secret: true)) }
                }
            case .interrupted:
                model.output.append(line: "\(theme.glyph(.interrupted)) " + strings(.outputStepInterrupted, rec.title))
            default:
                model.output.append(line: "\(rec.title): \(strings.status(rec.status))")
            }
        case .log(let s):
            model.output.append(line: "· " + s)
        case .rejected(let s):
            model.notice = s
        case .persistFailed(let s):
            model.notice = strings(.errorSaveState, s)
            model.output.append(line: "\(theme.glyph(.failed)) " + strings(.errorSaveState, s))
        case .runFinished:
            break
        }
    }

    private func flushPendingHeader() {
        if let h = pendingHeader { model.output.append(line: h); pendingHeader = nil }
    }

    private func showNextConfirmation() {
        switch overlay {
        case nil, .help?: break
        default: return
        }
        guard !confirmQueue.isEmpty else { return }
        overlay = .confirmStep(confirmQueue.removeFirst())
    }

    /// Reads the runtime's state now and rebuilds the model.
    public func reloadState() async {
        state = await runtime.state
        rebuildModel()
        loadLesson()
        stateChanged = true
    }

    /// Reads the runtime's state (asynchronously) and rebuilds the model.
    public func requestStateRefresh() {
        if refreshTask != nil { refreshAgain = true; return }
        let runtime = self.runtime
        refreshTask = Task { [weak self] in
            let s = await runtime.state
            guard let self else { return }
            self.state = s
            self.rebuildModel()
            self.stateChanged = true
            self.refreshTask = nil
            if self.refreshAgain {
                self.refreshAgain = false
                self.requestStateRefresh()
            }
        }
    }

    public func handle(_ event: TUIEvent) -> TUICommand {
        switch event {
        case .tick:
            model.tick += 1
            rebuildModel()
            return .redraw
        case .resize(let w, let h):
            size = (w, h)
            return .redraw
        case .signal(.interrupt):
            return interrupt()
        case .signal:
            return .quit   // SIGTERM / SIGHUP: the caller stops the running step and exits
        case .key(let key):
            return handleKey(key)
        }
    }

    private func interrupt() -> TUICommand {
        switch overlay {
        case .confirmCancel?, .confirmQuit?: return .none
        case .confirmStep?, .password?: return .none
        case .help?, nil: break
        }
        search = nil
        overlay = isRunning ? .confirmCancel : .confirmQuit
        return .redraw
    }

    private var pageHeight: Int {
        WizardView.paneContentHeight(Rect(x: 0, y: 0, width: size.width, height: size.height), banner: model.banner != nil) - 1
    }

    func handleKey(_ key: Key) -> TUICommand {
        model.notice = nil
        if size.width < WizardView.minWidth || size.height < WizardView.minHeight {
            return key == .char("q") || key == .ctrl("c") ? .quit : .none
        }
        if let o = overlay { return overlayKey(o, key) }
        if var s = search {
            switch s.handle(key) {
            case .submit:
                model.searchQuery = s.value
                withShownOutput { out in
                    model.searchMatches = out.search(s.value)
                    if let first = model.searchMatches.first { out.jump(to: first, height: pageHeight) }
                }
                search = nil
            case .cancel:
                search = nil
            default:
                search = s
            }
            return .redraw
        }
        if training.showsScreen {
            if training.typing && key != .ctrl("c") { return trainingPromptKey(key) }
            guard let action = trainingKeymap.action(for: key) else { return .none }
            return perform(action)
        }
        if model.tab == .inputs, formIndex != nil, key != .ctrl("c") {
            return formKey(key)
        }
        guard let action = keymap.action(for: key) else { return .none }
        return perform(action)
    }

    private func overlayKey(_ o: Overlay, _ key: Key) -> TUICommand {
        switch o {
        case .help:
            if key == .escape || key == .char("?") || key == .char("q") || key == .enter || key == .function(1) { overlay = nil }
        case .confirmQuit:
            if key == .char("y") || key == .char("Y") { overlay = nil; return .quit }
            if key == .char("n") || key == .char("N") || key == .escape || key == .char("q") { overlay = nil }
        case .confirmCancel:
            if key == .char("y") || key == .char("Y") {
                overlay = nil
                cancelRun()
            } else if key == .char("n") || key == .char("N") || key == .escape {
                overlay = nil
            }
        case .confirmStep(let pc):
            if key == .char("y") || key == .char("Y") {
                overlay = nil
                pc.continuation.resume(returning: true)
                showNextConfirmation()
            } else if key == .char("n") || key == .char("N") || key == .escape {
                overlay = nil
                pc.continuation.resume(returning: false)
                showNextConfirmation()
            }
        case .password(let id, var input):
            switch input.handle(key) {
            case .submit:
                let pw = input.value
                input.clear()
                overlay = nil
                if pw.isEmpty {
                    model.notice = strings[.noticeNoPassword]
                } else {
                    runner.setSudoPassword(pw)
                    startRetry(id)
                }
            case .cancel:
                input.clear()
                overlay = nil
                model.notice = strings[.noticeNoPassword]
            default:
                overlay = .password(id, input)
            }
        }
        return .redraw
    }

    // MARK: actions

    func perform(_ action: WizardAction) -> TUICommand {
        let count = state.stages.count
        switch action {
        case .moveUp:
            if model.selected > 0 { model.selected -= 1; selectionChanged() }
        case .moveDown:
            if model.selected < count - 1 { model.selected += 1; selectionChanged() }
        case .runSelected:
            if let st = selectedStage {
                if trainingMode { startTrainingWalk(RunScope(only: st.id)) }
                else { startRun(RunScope(only: st.id), what: strings(.outputScopeStage, st.id.rawValue)) }
            }
        case .runAll:
            if trainingMode { startTrainingWalk(.all) } else { startRun(.all, what: strings[.outputScopeAll]) }
        case .skip:
            skipSelected()
        case .retry:
            retrySelected()
        case .editInputs:
            model.tab = .inputs
            rebuildForm()
            if formKeys.isEmpty { model.notice = strings[.noticeNoInputs] } else { focusField(0) }
        case .showPlan:
            model.tab = .plan
            startPlan(jump: false)
        case .showDiff:
            model.tab = .plan
            startPlan(jump: true)
        case .showLog:
            if model.tab == .output { showingLog.toggle() } else { model.tab = .output; showingLog = true }
            if showingLog { loadTranscript() }
        case .nextPane:
            switchTab(PaneTab(rawValue: (model.tab.rawValue + 1) % 4)!)
        case .previousPane:
            switchTab(PaneTab(rawValue: (model.tab.rawValue + 3) % 4)!)
        case .pageUp: scroll(-pageHeight)
        case .pageDown: scroll(pageHeight)
        case .scrollTop:
            if model.tab == .output { withShownOutput { $0.scrollToTop() } } else { scroll(-1_000_000) }
        case .scrollBottom:
            if model.tab == .output { withShownOutput { $0.scrollToBottom() } } else { scroll(1_000_000) }
        case .search:
            model.tab = .output
            search = TextInput()
        case .nextMatch:
            let h = pageHeight
            withShownOutput { out in
                let cur = out.topLine(height: h)
                if let n = out.nextMatch(model.searchQuery, after: cur) { out.jump(to: n, height: h) }
            }
        case .toggleFollow:
            let h = pageHeight
            withShownOutput { out in
                if out.follow { out.scroll(by: -1, height: h) } else { out.scrollToBottom() }
            }
        case .cancelStep:
            return interrupt()
        case .quit:
            if isRunning { overlay = .confirmQuit } else { return .quit }
        case .help:
            overlay = .help
        case .trainContinue:
            sendTraining(.proceed)
        case .trainType:
            if training.expected.isEmpty { model.notice = strings[.trainNoCommand] } else { sendTraining(.openPrompt) }
        case .trainSkip:
            sendTraining(.skip)
        case .trainLeave:
            sendTraining(.leave)
            model.notice = strings[.trainLeft]
        }
        return .redraw
    }

    private func switchTab(_ tab: PaneTab) {
        model.tab = tab
        if tab == .plan, planStage != selectedStage?.id { startPlan(jump: false) }
        if tab == .inputs { rebuildForm() }
    }

    private func withShownOutput(_ body: (inout ScrollbackBuffer) -> Void) {
        if showingLog { body(&logOutput) } else { body(&model.output) }
    }

    private func scroll(_ delta: Int) {
        if training.showsScreen { trainingScroll = max(0, trainingScroll + delta); return }
        switch model.tab {
        case .lesson: model.lessonScroll = max(0, model.lessonScroll + delta)
        case .plan: model.planScroll = max(0, model.planScroll + delta)
        case .output: let h = pageHeight; withShownOutput { $0.scroll(by: delta, height: h) }
        case .inputs: break
        }
    }

    private func selectionChanged() {
        rebuildModel()
        loadLesson()
        if planStage != selectedStage?.id {
            planTask?.cancel()
            planTask = nil
            planStage = nil
            model.plan = [Line(strings[.planPlaceholder], style: theme.muted)]
            model.planScroll = 0
            if model.tab == .plan { startPlan(jump: false) }
        }
        formIndex = nil
        formErrors = [:]
        rebuildForm()
    }

    /// Inputs that steps in `scope` need (`InputKey.isRequired`: provider-specific inputs only
    /// with their provider) and that have neither a value nor a default — the same rule as the CLI.
    func missingInputs(_ scope: RunScope) -> [InputKey] {
        var out: [InputKey] = []
        for id in state.stepIDs(in: scope) {
            guard let s = state.step(id), s.status.isRunnable || scope.recheckSucceeded else { continue }
            for k in deployment.step(id)?.reads ?? [] where state.inputs[k.rawValue] == nil && k.isRequired(given: state.inputs) && !out.contains(k) {
                out.append(k)
            }
        }
        return out
    }

    /// When inputs the scope needs are missing: opens the form on the first one and says so.
    private func askForMissingInputs(_ scope: RunScope) -> Bool {
        let missing = missingInputs(scope)
        guard let first = missing.first else { return false }
        if let i = state.stages.firstIndex(where: { $0.steps.contains { deployment.step($0.id)?.reads.contains(first) == true && $0.status.isRunnable } }),
               i != model.selected {
                model.selected = i
                selectionChanged()
            }
            model.tab = .inputs
            rebuildForm()
            if let j = formKeys.firstIndex(of: first) { focusField(j) }
        model.notice = strings(.noticeMissingInputs, missing.map(\.label).joined(separator: ", "))
        return true
    }

    func startRun(_ scope: RunScope, what: String) {
        if isRunning { model.notice = strings[.noticeStepRunning]; return }
        if askForMissingInputs(scope) { return }
        model.banner = state.stages.isEmpty ? model.banner : nil
        showRunStart(strings(.outputRun, what))
        let runtime = self.runtime
        runTask = Task { [weak self] in
            let r = await runtime.run(scope)
            self?.runFinished(r)
        }
        requestStateRefresh()
    }

    func startRetry(_ id: StepID) {
        if isRunning { model.notice = strings[.noticeStepRunning]; return }
        model.banner = nil
        showRunStart(strings(.outputRetry, id.rawValue))
        let runtime = self.runtime
        runTask = Task { [weak self] in
            let r = await runtime.retry(id)
            self?.runFinished(r)
        }
        requestStateRefresh()
    }

    /// Switches to the live output and writes the run's first line.
    private func showRunStart(_ line: String) {
        model.tab = .output
        showingLog = false
        model.output.scrollToBottom()
        model.output.append(line: "\(theme.plain ? ">" : "▶") " + line)
    }

    private func runFinished(_ r: RunResult) {
        runTask = nil
        lastRunResult = r
        switch r {
        case .rejected(let s):
            model.notice = s
        case .applied:
            model.notice = strings[.noticeNothingToDo]
        case .finished(.completed):
            model.notice = strings[.noticeDone]
            model.output.append(line: "\(theme.plain ? "#" : "■") " + strings[.outputDone])
        case .finished(.cancelled):
            model.notice = strings[.noticeInterrupted]
            model.output.append(line: "\(theme.plain ? "#" : "■") " + strings[.noticeInterrupted])
        case .finished(.failed(let id)):
            if model.notice == nil { model.notice = strings(.noticeFailedRetry, id.rawValue) }
            model.output.append(line: "\(theme.plain ? "#" : "■") " + strings(.outputStopped, id.rawValue))
            if let i = state.stages.firstIndex(where: { $0.steps.contains { $0.id == id } }), i != model.selected {
                model.selected = i
                selectionChanged()
            }
        }
        requestStateRefresh()
        stateChanged = true
    }

    private func cancelRun() {
        let runtime = self.runtime
        model.notice = strings[.noticeCancelling]
        Task { [weak self] in
            let r = await runtime.cancel()
            if case .rejected(let s) = r { self?.model.notice = s }
            self?.requestStateRefresh()
        }
    }

    private func skipSelected() {
        guard let st = selectedStage else { return }
        if st.steps.contains(where: { $0.status == .running }) {
            model.notice = strings[.noticeStageRunning]
            return
        }
        let ids = st.steps.filter { $0.status.isRunnable }.map(\.id)
        if ids.isEmpty { model.notice = strings(.noticeNothingToSkip, st.id.rawValue); return }
        let skipped = strings(.noticeSkipped, st.id.rawValue)
        let runtime = self.runtime
        let now = self.now
        Task { [weak self] in
            for id in ids {
                let effects = await runtime.send(.skip(id, at: now()))
                for case .rejected(let r) in effects { self?.model.notice = r }
            }
            self?.model.notice = self?.model.notice ?? skipped
            self?.requestStateRefresh()
        }
    }

    private func retrySelected() {
        let candidates: (StageRecord) -> StepRecord? = { st in st.steps.first { $0.status == .failed || $0.status == .interrupted } }
        let rec = selectedStage.flatMap(candidates) ?? state.stages.lazy.compactMap(candidates).first
        guard let rec else { model.notice = strings[.noticeNothingToRetry]; return }
        startRetry(rec.id)
    }

    func shutdownNeeded() -> Bool { isRunning || !confirmQueue.isEmpty }

    /// Stops what is running (the step is cancelled on the target too and recorded as
    /// interrupted) and answers pending confirmations with no. Call after the run loop ends.
    /// Returns the id of the step that was stopped, if any.
    @discardableResult
    public func shutdown(timeout: Duration = .seconds(20)) async -> StepID? {
        planTask?.cancel()
        if case .confirmStep(let pc)? = overlay { pc.continuation.resume(returning: false) }
        overlay = nil
        for pc in confirmQueue { pc.continuation.resume(returning: false) }
        confirmQueue = []
        let stopped = state.phase.cursor?.current
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while runTask != nil && clock.now < deadline {
            for pc in mailbox.drainConfirmations() { pc.continuation.resume(returning: false) }
            await runtime.cancel()
            try? await Task.sleep(for: .milliseconds(50))
        }
        _ = mailbox.drain()
        let final = await runtime.state
        state = final
        return stopped
    }

    // MARK: lesson

    /// Assets/lessons/<lang>/<stage>.md (--assets-dir, else the copy embedded in the binary),
    /// in the UI language, else English; nil when the stage has none.
    func lessonSource(_ stage: StageID) -> String? {
        let source = TemplateSource(assetsDirectory: assetsDirectory)
        for lang in [language, .en] {
            if let text = try? source.asset("lessons/\(lang.rawValue)/\(stage.rawValue).md") { return text }
        }
        return nil
    }

    private func loadLesson() {
        guard let st = selectedStage else { model.lesson = []; model.lessonMarkdown = nil; return }
        if lessonStage == st.id { return }
        lessonStage = st.id
        model.lessonScroll = 0
        model.lessonMarkdown = lessonSource(st.id)
        if model.lessonMarkdown != nil { model.lesson = []; return }
        var lines: [Line] = [Line(st.title, style: .bold), ""]
        lines.append(Line(strings[.lessonStepsIntro]))
        lines.append("")
        for s in st.steps {
            var l = "- " + s.title
            if s.needsRoot { l += " " + strings[.planAsRoot] }
            lines.append(Line(l))
        }
        let reads = st.steps.flatMap { deployment.step($0.id)?.reads ?? [] }
        var seen = Set<InputKey>()
        let inputs = reads.filter { seen.insert($0).inserted }
        if !inputs.isEmpty {
            lines.append("")
            lines.append(Line(strings[.lessonInputs], style: .bold))
            lines.append(Line(strings(.lessonInputsEdit, inputs.map(\.label).joined(separator: ", "))))
        }
        model.lesson = lines
    }

    // MARK: plan

    private func startPlan(jump: Bool) {
        guard let st = selectedStage else { return }
        jumpToDiff = jump
        if planStage == st.id, planTask == nil {
            if jump { scrollPlanToDiff() }
            // re-plan: facts may have changed
        }
        planTask?.cancel()
        planStage = st.id
        planGeneration += 1
        let gen = planGeneration
        model.plan = [Line(strings(.planPlanning, st.id.rawValue, targetText), style: theme.muted)]
        model.planScroll = 0
        let runtime = self.runtime
        let theme = self.theme
        let target = targetText
        let strings = self.strings
        planTask = Task { [weak self] in
            let entries = await runtime.plan(RunScope(only: st.id))
            guard let self, self.planGeneration == gen else { return }
            self.model.plan = Self.planLines(stage: st, entries: entries, target: target, theme: theme, strings: strings)
            self.planTask = nil
            if self.jumpToDiff { self.scrollPlanToDiff() }
            self.stateChanged = true
        }
    }

    private func scrollPlanToDiff() {
        let width = WizardView.paneContentWidth(Rect(x: 0, y: 0, width: size.width, height: size.height), banner: model.banner != nil)
        let rows = Paragraph(model.plan).rows(width: width)
        let filePrefix = strings(.planFile, "")
        model.planScroll = rows.firstIndex { $0.text.hasPrefix(filePrefix) } ?? 0
    }

    static func planLines(stage: StageRecord, entries: [PlanEntry], target: String, theme: Theme,
                          strings: Strings) -> [Line] {
        var out: [Line] = [Line(strings(.planTitle, stage.id.rawValue, target), style: .bold),
                           Line(strings[.planFromLiveChecks], style: theme.muted), ""]
        for e in entries {
            out.append(Line([Span(e.title, style: .bold), Span("  " + e.step.rawValue, style: theme.muted)]))
            out += entryLines(e, theme: theme, strings: strings)
            out.append("")
        }
        if entries.isEmpty { out.append(Line(strings[.planNoSteps])) }
        return out
    }

    /// One step's check result and plan: commands (`$`, or `#` as root), notes, file diffs.
    /// Parts of a step's plan to show.
    struct PlanParts: OptionSet {
        let rawValue: Int
        static let check = PlanParts(rawValue: 1)
        static let commands = PlanParts(rawValue: 2)
        static let files = PlanParts(rawValue: 4)
        static let all: PlanParts = [.check, .commands, .files]
    }

    /// One step's check result and plan: notes and commands (`$`, or `#` as root), file diffs.
    /// `typed`: commands as the learner types them (`$ sudo …`), for training mode.
    static func entryLines(_ e: PlanEntry, theme: Theme, strings: Strings, typed: Bool = false,
                           parts: PlanParts = .all) -> [Line] {
        var out: [Line] = []
        if let err = e.error {
            if parts.contains(.check) { out.append(Line(theme.glyph(.failed) + " " + strings(.planCannotCheck, err), style: theme.error)) }
            return out
        }
        if parts.contains(.check) {
            switch e.check {
            case .satisfied(let r)?: out.append(Line(theme.glyph(.done) + " " + strings(.planNothingToDo, r), style: theme.success))
            case .needsChange(let r)?: out.append(Line(strings(.planNeedsChange, r), style: theme.warning))
            case nil: break
            }
        }
        guard let p = e.plan else { return out }
        if parts.contains(.commands) { for n in p.notes { out.append(Line("# " + n, style: theme.muted)) } }
        for a in p.actions {
            switch a {
            case .command(let c) where parts.contains(.commands):
                let argv = c.argv.map(displayQuote).joined(separator: " ")
                var spans = [Span(c.asRoot && !typed ? "# " : "$ ", style: theme.muted),
                             Span((typed && c.asRoot ? "sudo " : "") + argv, style: theme.command)]
                if c.asRoot && !typed { spans.append(Span("  " + strings[.planAsRoot], style: theme.muted)) }
                out.append(Line(spans))
            case .file(let f) where parts.contains(.files):
                let d = f.diff
                if d.isEmpty {
                    out.append(Line("= " + strings(.planUnchanged, f.path), style: theme.muted))
                    continue
                }
                out.append(Line(strings(f.currentContent == nil ? .planFileNew : .planFile, f.path), style: .bold))
                out += WizardView.diffLines(d, theme: theme, omittingEmpty: true)
            default:
                break
            }
        }
        return out
    }

    // MARK: training mode

    /// The keymap in use: training mode's while it shows a step, else the main one.
    var activeKeymap: Keymap<WizardAction> { training.showsScreen ? trainingKeymap : keymap }

    /// Enter / `a` in training mode: walk the runnable steps of the scope one at a time.
    func startTrainingWalk(_ scope: RunScope) {
        if isRunning { model.notice = strings[.noticeStepRunning]; return }
        if askForMissingInputs(scope) { return }
        model.banner = state.stages.isEmpty ? model.banner : nil
        let ids = state.stepIDs(in: scope).filter { state.step($0)?.status.isRunnable == true }
        if ids.isEmpty { model.notice = strings[.noticeNothingToDo]; return }
        sendTraining(.start(ids))
    }

    /// Feeds an event to the training state machine and carries out its effects.
    func sendTraining(_ event: TrainingEvent) {
        let before = training.current
        let effects = Training.reduce(&training, event)
        if training.current != before {
            trainingScroll = 0
            if let id = training.current, let i = state.stages.firstIndex(where: { $0.steps.contains { $0.id == id } }),
               i != model.selected {
                model.selected = i
                selectionChanged()
            }
        }
        for e in effects {
            switch e {
            case .plan(let id):
                trainingEntry = nil
                let runtime = self.runtime
                trainingTask?.cancel()
                trainingTask = Task { [weak self] in
                    let entry = await runtime.plan(RunScope(step: id)).first
                    guard let self, !Task.isCancelled, self.training.phase == .planning(id) else { return }
                    self.trainingEntry = entry
                    self.trainingTask = nil
                    self.sendTraining(.planned(id, commands: Self.typedCommands(entry)))
                    self.stateChanged = true
                }
            case .run(let id):
                runTrainingStep(id)
            case .skip(let id):
                let runtime = self.runtime
                let at = now()
                Task { [weak self] in
                    let effects = await runtime.send(.skip(id, at: at))
                    for case .rejected(let r) in effects { self?.model.notice = r }
                    self?.requestStateRefresh()
                }
            case .close:
                trainingTask?.cancel()
                trainingTask = nil
                trainingEntry = nil
                trainingPrompt.clear()
            }
        }
    }

    private func runTrainingStep(_ id: StepID) {
        if isRunning { model.notice = strings[.noticeStepRunning]; return }
        showRunStart(strings(.outputRun, id.rawValue))
        let runtime = self.runtime
        runTask = Task { [weak self] in
            let r = await runtime.run(RunScope(step: id))
            let after = await runtime.state
            guard let self else { return }
            self.state = after
            self.rebuildModel()
            self.runFinished(r)
            self.sendTraining(.finished(id, succeeded: after.step(id)?.status == .succeeded))
            self.stateChanged = true
        }
        requestStateRefresh()
    }

    /// The commands of a step's plan as the learner types them (`sudo` in front of root ones).
    static func typedCommands(_ entry: PlanEntry?) -> [String] {
        guard let plan = entry?.plan else { return [] }
        return plan.actions.compactMap { a in
            guard case .command(let c) = a else { return nil }
            return (c.asRoot ? "sudo " : "") + c.argv.map(displayQuote).joined(separator: " ")
        }
    }

    private func trainingPromptKey(_ key: Key) -> TUICommand {
        switch trainingPrompt.handle(key) {
        case .submit:
            let text = trainingPrompt.value
            trainingPrompt.clear()
            sendTraining(.submit(text))
        case .cancel:
            trainingPrompt.clear()
            sendTraining(.closePrompt)
        default:
            break
        }
        return .redraw
    }

    /// The hint after a step: what to look at by hand (string table, per stage).
    func trainingHint(_ stage: StageID) -> String {
        let domain = state.inputs[InputKey.domain.rawValue] ?? "yourdomain"
        let ip = state.inputs[InputKey.serverIP.rawValue] ?? domain
        let key = StringKey(rawValue: "train.hint." + stage.rawValue) ?? .trainHintGeneric
        return strings(key, domain, ip)
    }

    /// The training screen for the current phase.
    func trainingView() -> TrainingViewModel {
        let width = WizardView.paneContentWidth(Rect(x: 0, y: 0, width: size.width, height: size.height), banner: model.banner != nil)
        let id = training.current ?? ""
        let step = state.step(id)
        let stage = state.stages.first { $0.steps.contains { $0.id == id } }
        let title = strings(.trainTitle, stage?.id.rawValue ?? "", "\(training.index + 1)", "\(training.steps.count)")
        var body: [Line] = []
        var footer: [Line] = []
        let md = Markdown.Styles(theme: theme)
        func inline(_ text: String) -> Line { Markdown("", styles: md).inline(text, base: .plain) }
        body.append(Line([Span(strings(.trainStep, step?.title ?? id.rawValue), style: .bold), Span("  " + id.rawValue, style: theme.muted)]))
        switch training.phase {
        case .planning:
            body.append(Line(strings(.trainPlanning, targetText), style: theme.muted))
        case .gate:
            // The check, then what will run; a short lesson excerpt (its first section's heading
            // and first paragraph, at most 5 rows: the Lesson tab has the rest); then file diffs.
            if let e = trainingEntry {
                body += Self.entryLines(e, theme: theme, strings: strings, parts: .check)
                if e.plan != nil {
                    body.append(Line(strings[.trainWillRun], style: .bold))
                    body += Self.entryLines(e, theme: theme, strings: strings, typed: true, parts: .commands)
                } else if case .satisfied(let r)? = e.check {
                    body = [body[0], Line(theme.glyph(.done) + " " + strings(.trainNothingToRun, r), style: theme.success)]
                }
            }
            if let st = stage, let src = lessonSource(st.id), let excerpt = Markdown.section(src, where: { _ in true }) {
                let blocks = Markdown.parse(excerpt)
                var short = ""
                if case .heading(_, let h)? = blocks.first { short = "## " + h + "\n" }
                if let p = blocks.lazy.compactMap({ b -> String? in if case .paragraph(let p) = b { return p } else { return nil } }).first {
                    short += p
                }
                var rows = Markdown(short, styles: md, plain: theme.plain).lines(width: width)
                if rows.count > 5 {
                    rows = Array(rows.prefix(5))
                    rows[4] = Line(TextWrap.truncate(rows[4].text, width: width - DisplayWidth.of(theme.ellipsis), ellipsis: "") + theme.ellipsis)
                }
                body.append("")
                body.append(Line(strings[.trainFromLesson], style: theme.title))
                body += rows
            }
            if let e = trainingEntry {
                let files = Self.entryLines(e, theme: theme, strings: strings, parts: .files)
                if !files.isEmpty { body.append(""); body += files }
            }
            if let m = training.mismatch {
                footer.append(Line([Span(theme.glyph(.failed) + " " + strings[.trainMismatch] + " ", style: theme.warning),
                                    Span(m.expected, style: theme.command)]))
                footer.append(Line([Span("  " + strings[.trainYouTyped] + " ", style: theme.warning),
                                    Span(m.typed, style: theme.diffRemoved)]))
                footer.append(Line(strings(.trainFirstDifference, "\(m.word)", "`\(m.want)`", "`\(m.got)`")
                                   + (language == .zh ? "。" : ". ") + strings[.trainRetryOrRun], style: theme.muted))
            } else if let ok = training.lastMatch {
                footer.append(Line(theme.glyph(.done) + " " + strings(.trainMatch, ok), style: theme.success))
            }
            if training.typing && training.mismatch == nil {
                footer.append(Line(strings(.trainTypeHere, "\(training.typedCount + 1)", "\(training.expected.count)"), style: .bold))
            } else if training.mismatch == nil {
                footer.append(Line(strings[training.expected.isEmpty ? .trainPromptNoCommand : .trainPromptEnter], style: .bold))
            }
        case .after(_, let ok):
            if ok {
                let how = step?.noopReason.map { strings(.runStepNoop, $0) } ?? strings[.runStepChanged]
                body.append(Line(theme.glyph(.done) + " " + strings(.trainAfterOK, how), style: theme.success))
            } else {
                body.append(Line(theme.glyph(.failed) + " " + strings(.trainAfterFailed, step?.error ?? strings.status(step?.status ?? .failed)),
                                 style: theme.error))
            }
            body.append("")
            body.append(Line(strings[.trainLookYourself], style: theme.title))
            body.append(inline(trainingHint(stage?.id ?? "")))
            if !ok {
                footer.append(Line(strings[.trainAgain], style: .bold))
            } else if let next = training.next {
                footer.append(Line(strings(.trainNextStep, state.step(next)?.title ?? next.rawValue), style: .bold))
            } else {
                footer.append(Line(strings[.trainWalkDone], style: .bold))
            }
        case .off, .running:
            break
        }
        var v = TrainingViewModel(title: title, body: body, footer: footer,
                                  prompt: training.typing ? trainingPrompt.value : nil)
        v.scroll = trainingScroll
        return v
    }

    // MARK: log (transcript)

    private func loadTranscript() {
        logOutput.clear()
        guard let path = transcriptPath else { logOutput.append(line: strings[.logNone]); return }
        let records = (try? Transcript.read(path: path)) ?? []
        if records.isEmpty { logOutput.append(line: strings(.logEmpty, path)) }
        let fmt = DateFormatter()
        fmt.dateFormat = "HH:mm:ss"
        for r in records.suffix(2_000) {
            let took = String(format: "%.1f s", r.end.timeIntervalSince(r.start))
            let status = r.exitStatus.map { "exit \($0)" } ?? r.termination
            logOutput.append(line: "\(fmt.string(from: r.start)) \(r.label ?? "-") \(theme.separator) \(status) \(theme.separator) \(took)\(r.asRoot ? " \(theme.separator) " + strings[.logAsRoot] : "")")
            logOutput.append(line: "\(r.asRoot ? "#" : "$") \(r.argv.map(displayQuote).joined(separator: " "))")
            if r.lineCount > r.output.count { logOutput.append(line: "  \(theme.ellipsis) " + strings(.logEarlier, "\(r.lineCount - r.output.count)")) }
            for o in r.output { logOutput.append(line: "  " + o.text) }
        }
        logOutput.scrollToBottom()
    }

    // MARK: inputs form

    /// The selected stage's inputs, in the order its steps read them.
    private func stageInputKeys() -> [InputKey] {
        guard let st = selectedStage else { return [] }
        var seen = Set<InputKey>()
        return st.steps.flatMap { deployment.step($0.id)?.reads ?? $0.reads }.filter { seen.insert($0).inserted }
    }

    private func rebuildForm() {
        formKeys = stageInputKeys()
        if let i = formIndex, i >= formKeys.count { formIndex = nil }
        model.inputs = formKeys.enumerated().map { i, k in
            let value = formIndex == i ? formEdit.value : (state.inputs[k.rawValue] ?? "")
            return FormFieldModel(k.label, value: value, defaultValue: InputKey.defaults[k], error: formErrors[k])
        }
        model.focusedInput = formIndex
    }

    private func focusField(_ i: Int) {
        guard formKeys.indices.contains(i) else { formIndex = nil; rebuildForm(); return }
        formIndex = i
        formEdit = TextInput(state.inputs[formKeys[i].rawValue] ?? "")
        rebuildForm()
    }

    /// Validates the focused field; applies it when valid and changed. Returns false when invalid.
    @discardableResult
    private func commitField() -> Bool {
        guard let i = formIndex, formKeys.indices.contains(i) else { return true }
        let key = formKeys[i]
        let raw = formEdit.value
        let current = state.inputs[key.rawValue] ?? ""
        if raw == current { formErrors[key] = nil; return true }
        if raw.isEmpty, InputKey.defaults[key] != nil, current.isEmpty { formErrors[key] = nil; return true }
        let value: String
        do { value = try key.validate(raw) } catch {
            formErrors[key] = error.message
            rebuildForm()
            return false
        }
        formErrors[key] = nil
        state.inputs[key.rawValue] = value   // shown at once; the runtime's state follows
        let runtime = self.runtime
        let at = now()
        Task { [weak self] in
            let effects = await runtime.send(.setInput(key, value, at: at))
            for case .rejected(let r) in effects {
                self?.formErrors[key] = r
                self?.model.notice = r
            }
            self?.requestStateRefresh()
        }
        model.notice = strings(.noticeInputSet, key.label, value)
        return true
    }

    private func formKey(_ key: Key) -> TUICommand {
        guard let i = formIndex else { return .none }
        switch key {
        case .escape:
            formIndex = nil
            rebuildForm()
        case .up, .backTab:
            if commitField() { focusField(max(0, i - 1)) }
        case .down, .tab:
            if commitField() { focusField(min(formKeys.count - 1, i + 1)) }
        case .enter:
            if commitField() {
                if i + 1 < formKeys.count { focusField(i + 1) } else { formIndex = nil; rebuildForm() }
            }
        default:
            if formEdit.handle(key) == .edited { formErrors[formKeys[i]] = nil }
            rebuildForm()
        }
        return .redraw
    }
}

/// Runs the wizard full-screen for an open session, then stops what runs. Returns the exit
/// status: 0, or 130 when a signal ended it.
@MainActor
public func runWizardTUI(session: Session, runner: any CommandRunning, localRunner: (any CommandRunning)?,
                         plain: Bool, language: Language = .en, training: Bool = false,
                         initialActions: [Action] = []) async -> (status: Int32, message: String?) {
    let theme = Theme.fromEnvironment(TUIEnvironment.environment, plain: plain)
    let app = WizardApp(session: session, runner: runner, localRunner: localRunner, theme: theme, language: language,
                        training: training)
    // Inputs from the answers file, applied like `djdeploy run` does, before the screen opens
    // (an invalid answer is a plain error message).
    for action in initialActions {
        for case .rejected(let reason) in await app.runtime.send(action) { return (2, reason) }
    }
    if !initialActions.isEmpty { await app.reloadState() }
    let exit: TUIExit
    do {
        exit = try await runFullScreen(app, color: theme.color)
    } catch {
        await app.shutdown()
        return (2, Strings(language)[.errorCannotInitTerminal])
    }
    // The terminal is restored here. SIGHUP (the terminal is gone) must not kill the cleanup.
    signal(SIGHUP, SIG_IGN)
    let wasRunning = app.isRunning
    let stopped = await app.shutdown()
    var message: String?
    if wasRunning {
        message = Strings(language)(.exitStoppedStep, stopped?.rawValue ?? "?")
    }
    switch exit {
    case .signal, .inputClosed: return (130, message)   // a signal, or the terminal went away
    case .quit: return (0, message)
    }
}
