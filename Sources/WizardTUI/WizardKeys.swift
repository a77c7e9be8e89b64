import TerminalUI

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
}

/// The wizard's declarative key bindings: dispatch, the key bar and the `?` help (and
/// docs/tui.md) all come from this one list. Key-bar order = priority when space runs out;
/// the last entry (`? help`) is always kept.
public enum WizardKeys {
    public static let keymap = Keymap<WizardAction>([
        KeyBinding(keys: [.up, .char("k")], label: "↑↓", help: "select previous stage", short: "move", action: .moveUp),
        KeyBinding(keys: [.down, .char("j")], help: "select next stage", action: .moveDown, inKeyBar: false),
        KeyBinding(keys: [.enter], label: "Enter", help: "run the selected stage", short: "run", action: .runSelected),
        KeyBinding(keys: [.char("a")], help: "run all remaining stages", short: "all", action: .runAll),
        KeyBinding(keys: [.char("s")], help: "skip the selected stage", short: "skip", action: .skip),
        KeyBinding(keys: [.char("r")], help: "retry the failed step", short: "retry", action: .retry),
        KeyBinding(keys: [.char("e")], help: "edit the stage's inputs", short: "edit", action: .editInputs),
        KeyBinding(keys: [.char("p")], help: "plan: commands and diffs", short: "plan", action: .showPlan),
        KeyBinding(keys: [.char("d")], help: "jump to the file diffs", short: "diff", action: .showDiff, inKeyBar: false),
        KeyBinding(keys: [.char("l")], help: "live output / log", short: "log", action: .showLog, inKeyBar: false),
        KeyBinding(keys: [.tab], label: "Tab", help: "next pane tab", short: "pane", action: .nextPane),
        KeyBinding(keys: [.backTab], help: "previous pane tab", action: .previousPane, inKeyBar: false),
        KeyBinding(keys: [.pageUp], help: "scroll the pane up", action: .pageUp, inKeyBar: false),
        KeyBinding(keys: [.pageDown, .char(" ")], help: "scroll the pane down", action: .pageDown, inKeyBar: false),
        KeyBinding(keys: [.home, .char("g")], help: "scroll to the top", action: .scrollTop, inKeyBar: false),
        KeyBinding(keys: [.end, .char("G")], help: "scroll to end / follow", action: .scrollBottom, inKeyBar: false),
        KeyBinding(keys: [.char("/")], help: "search the output", action: .search, inKeyBar: false),
        KeyBinding(keys: [.char("n")], help: "next search match", action: .nextMatch, inKeyBar: false),
        KeyBinding(keys: [.char("f")], help: "toggle output follow", action: .toggleFollow, inKeyBar: false),
        KeyBinding(keys: [.ctrl("c")], help: "cancel the running step", action: .cancelStep, inKeyBar: false),
        KeyBinding(keys: [.char("q")], help: "quit (asks when running)", short: "quit", action: .quit),
        KeyBinding(keys: [.char("?"), .function(1)], label: "?", help: "this help", short: "help", action: .help),
    ])

    /// The key table as Markdown (docs/tui.md is generated from this).
    public static func markdownTable() -> String {
        var s = "| Keys | Action |\n|---|---|\n"
        for h in keymap.helpTable() {
            let keys = h.key.split(separator: ",").map { "`\($0.trimmingCharacters(in: " "))`" }.joined(separator: " ")
            s += "| \(keys) | \(h.text) |\n"
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
