import TerminalUI
import WizardCore

/// Everything a key can ask the wizard to do. The core wiring maps these to core actions.
public enum WizardAction: String, Sendable, Hashable, CaseIterable {
    case moveUp, moveDown
    case runSelected, runAll, skip, retry, editInputs
    case showPlan, showDiff, showLog
    case nextPane, previousPane
    case pageUp, pageDown, scrollTop, scrollBottom
    case search, nextMatch, toggleFollow
    case cancelStep
    case quit, help
    // training mode (`--training`): the step gate and the screen after a step
    case trainContinue, trainType, trainSkip, trainLeave
}

/// The wizard's declarative key bindings: dispatch, the key bar and the `?` help (and
/// docs/tui.md) all come from these lists. Key-bar order = priority when space runs out;
/// the last entry (`? help`) is always kept. Texts come from the string table.
public enum WizardKeys {
    /// The main keymap in English (docs, tests).
    public static let keymap = keymap(.en)

    public static func keymap(_ lang: Language) -> Keymap<WizardAction> {
        Keymap(mainBindings(Strings(lang)))
    }

    /// While training mode shows a step (before it runs, or after it): its own keys first, then
    /// the main bindings whose keys it does not take.
    public static func trainingKeymap(_ lang: Language) -> Keymap<WizardAction> {
        let training = trainingBindings(Strings(lang))
        let taken = Set(training.flatMap(\.keys))
        let shown: Set<WizardAction> = [.moveUp, .quit, .help]
        let main = mainBindings(Strings(lang)).filter { b in !b.keys.contains { taken.contains($0) } }.map { b in
            var b = b
            b.inKeyBar = b.inKeyBar && shown.contains(b.action)
            return b
        }
        return Keymap(training + main)
    }

    static func trainingBindings(_ s: Strings) -> [KeyBinding<WizardAction>] {
        [
            KeyBinding(keys: [.enter], label: "Enter", help: s[.helpTrainContinue], short: s[.keyTrainRun], action: .trainContinue),
            KeyBinding(keys: [.char("t")], help: s[.helpTrainType], short: s[.keyTrainType], action: .trainType),
            KeyBinding(keys: [.char("s")], help: s[.helpTrainSkip], short: s[.keySkip], action: .trainSkip),
            KeyBinding(keys: [.escape], help: s[.helpTrainLeave], short: s[.keyTrainLeave], action: .trainLeave),
        ]
    }

    static func mainBindings(_ s: Strings) -> [KeyBinding<WizardAction>] {
        [
            KeyBinding(keys: [.up, .char("k")], label: "↑↓", help: s[.helpSelectPrevious], short: s[.keyMove], action: .moveUp),
            KeyBinding(keys: [.down, .char("j")], help: s[.helpSelectNext], action: .moveDown, inKeyBar: false),
            KeyBinding(keys: [.enter], label: "Enter", help: s[.helpRunSelected], short: s[.keyRun], action: .runSelected),
            KeyBinding(keys: [.char("a")], help: s[.helpRunAll], short: s[.keyRunAll], action: .runAll),
            KeyBinding(keys: [.char("s")], help: s[.helpSkip], short: s[.keySkip], action: .skip),
            KeyBinding(keys: [.char("r")], help: s[.helpRetry], short: s[.keyRetry], action: .retry),
            KeyBinding(keys: [.char("e")], help: s[.helpEdit], short: s[.keyEdit], action: .editInputs),
            KeyBinding(keys: [.char("p")], help: s[.helpPlan], short: s[.keyPlan], action: .showPlan),
            KeyBinding(keys: [.char("d")], help: s[.helpDiff], short: s[.keyDiff], action: .showDiff, inKeyBar: false),
            KeyBinding(keys: [.char("l")], help: s[.helpLog], short: s[.keyLog], action: .showLog, inKeyBar: false),
            KeyBinding(keys: [.tab], label: "Tab", help: s[.helpNextPane], short: s[.keySwitchPane], action: .nextPane),
            KeyBinding(keys: [.backTab], help: s[.helpPreviousPane], action: .previousPane, inKeyBar: false),
            KeyBinding(keys: [.pageUp], help: s[.helpScrollUp], action: .pageUp, inKeyBar: false),
            KeyBinding(keys: [.pageDown, .char(" ")], help: s[.helpScrollDown], action: .pageDown, inKeyBar: false),
            KeyBinding(keys: [.home, .char("g")], help: s[.helpTop], action: .scrollTop, inKeyBar: false),
            KeyBinding(keys: [.end, .char("G")], help: s[.helpEnd], action: .scrollBottom, inKeyBar: false),
            KeyBinding(keys: [.char("/")], help: s[.helpSearch], action: .search, inKeyBar: false),
            KeyBinding(keys: [.char("n")], help: s[.helpNextMatch], action: .nextMatch, inKeyBar: false),
            KeyBinding(keys: [.char("f")], help: s[.helpFollow], action: .toggleFollow, inKeyBar: false),
            KeyBinding(keys: [.ctrl("c")], help: s[.helpCancel], action: .cancelStep, inKeyBar: false),
            KeyBinding(keys: [.char("q")], help: s[.helpQuit], short: s[.keyQuit], action: .quit),
            KeyBinding(keys: [.char("?"), .function(1)], label: "?", help: s[.helpHelp], short: s[.keyHelp], action: .help),
        ]
    }

    /// The key table as Markdown (docs/tui.md is generated from this): the main keys, then the
    /// keys training mode adds while it shows a step.
    public static func markdownTable() -> String {
        var s = "| Keys | Action |\n|---|---|\n"
        let training = Keymap(trainingBindings(Strings(.en)))
        for (h, isTraining) in keymap.helpTable().map({ ($0, false) }) + training.helpTable().map({ ($0, true) }) {
            let keys = h.key.split(separator: ",").map { "`\($0.trimmingCharacters(in: " "))`" }.joined(separator: " ")
            s += "| \(keys) | \(isTraining ? "training mode: " : "")\(h.text) |\n"
        }
        return s
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var s = self
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
