import WizardCore

/// A typed command that is not the expected one: where they part.
public struct TrainingMismatch: Sendable, Hashable {
    public var typed: String
    public var expected: String
    /// 1-based index of the first differing word.
    public var word: Int
    /// That word in the expected command and in the typed one ("" when one of them ended).
    public var want: String
    public var got: String
}

/// Training mode (`djdeploy --training`): before each step the wizard shows what the step will
/// run and waits; Enter runs it, `t` lets the learner type the command(s) first. A pure state
/// machine like the core's reducer: `Training.reduce(&state, event)` returns the effects the
/// app carries out (plan a step, run it, skip it, close the walk).
public struct TrainingState: Sendable, Hashable {
    public enum Phase: Sendable, Hashable {
        /// No walk (the normal wizard screen).
        case off
        /// Asking the runtime what the step would do.
        case planning(StepID)
        /// Showing the step and its commands; waiting for Enter or `t`.
        case gate(StepID)
        /// The step runs (the Output tab is shown).
        case running(StepID)
        /// The step ended: its result and what to look at by hand.
        case after(StepID, succeeded: Bool)
    }

    public var phase: Phase = .off
    /// The steps of the walk, in order, and the position in it.
    public var steps: [StepID] = []
    public var index = 0
    /// The current step's commands as the learner would type them.
    public var expected: [String] = []
    /// How many of them have been typed correctly.
    public var typedCount = 0
    /// The prompt is open.
    public var typing = false
    public var mismatch: TrainingMismatch?
    /// The last command typed correctly.
    public var lastMatch: String?

    public init() {}

    public var current: StepID? {
        switch phase {
        case .off: return nil
        case .planning(let id), .gate(let id), .running(let id), .after(let id, _): return id
        }
    }
    /// The walk shows its own screen (every phase but off and running).
    public var showsScreen: Bool {
        switch phase {
        case .off, .running: return false
        default: return true
        }
    }
    public var next: StepID? { index + 1 < steps.count ? steps[index + 1] : nil }
}

public enum TrainingEvent: Sendable, Hashable {
    /// Walk these steps (the runnable steps of the scope, in order).
    case start([StepID])
    /// The plan of the step arrived: the commands to type (may be none).
    case planned(StepID, commands: [String])
    /// Enter: run the step (gate), or go on (after).
    case proceed
    /// `t`: open the prompt.
    case openPrompt
    /// Esc in the prompt.
    case closePrompt
    /// Enter in the prompt; an empty line runs the expected command.
    case submit(String)
    /// `s` at the gate: skip this step.
    case skip
    /// The step's run ended.
    case finished(StepID, succeeded: Bool)
    /// Esc: leave the walk.
    case leave
}

public enum TrainingEffect: Sendable, Hashable {
    case plan(StepID)
    case run(StepID)
    case skip(StepID)
    case close
}

public enum Training {
    public static func reduce(_ s: inout TrainingState, _ event: TrainingEvent) -> [TrainingEffect] {
        switch (event, s.phase) {
        case (.start(let ids), _):
            s = TrainingState()
            s.steps = ids
            guard let first = ids.first else { return [.close] }
            s.phase = .planning(first)
            return [.plan(first)]

        case (.planned(let id, let commands), .planning(let p)) where p == id:
            s.expected = commands
            s.typedCount = 0
            s.typing = false
            s.mismatch = nil
            s.lastMatch = nil
            s.phase = .gate(id)
            return []

        case (.proceed, .gate(let id)):
            s.typing = false
            s.phase = .running(id)
            return [.run(id)]

        case (.proceed, .after(let id, let ok)):
            if !ok {
                // Show the failed step again: its plan may have changed.
                s.phase = .planning(id)
                return [.plan(id)]
            }
            return advance(&s)

        case (.openPrompt, .gate):
            guard s.typedCount < s.expected.count else { return [] }
            s.typing = true
            return []

        case (.closePrompt, _):
            s.typing = false
            return []

        case (.submit(let text), .gate(let id)) where s.typing:
            if normalize(text).isEmpty {
                s.typing = false
                s.mismatch = nil
                s.phase = .running(id)
                return [.run(id)]
            }
            let want = s.expected[s.typedCount]
            if let m = compare(typed: text, expected: want) {
                s.mismatch = m
                return []
            }
            s.mismatch = nil
            s.lastMatch = want
            s.typedCount += 1
            if s.typedCount == s.expected.count {
                s.typing = false
                s.phase = .running(id)
                return [.run(id)]
            }
            return []

        case (.skip, .gate(let id)):
            return [.skip(id)] + advance(&s)

        case (.finished(let id, let ok), .running(let r)) where r == id:
            s.phase = .after(id, succeeded: ok)
            return []

        case (.leave, _):
            s = TrainingState()
            return [.close]

        default:
            return []
        }
    }

    private static func advance(_ s: inout TrainingState) -> [TrainingEffect] {
        guard let next = s.next else {
            s = TrainingState()
            return [.close]
        }
        s.index += 1
        s.expected = []
        s.typedCount = 0
        s.typing = false
        s.mismatch = nil
        s.lastMatch = nil
        s.phase = .planning(next)
        return [.plan(next)]
    }

    // MARK: comparing commands

    /// The words of a command line: whitespace collapsed, a leading `$ ` or `# ` prompt dropped.
    public static func normalize(_ command: String) -> [String] {
        var words = command.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
        if let f = words.first, f == "$" || f == "#" { words.removeFirst() }
        return words
    }

    /// Nil when the typed command is the expected one (whitespace normalized; `sudo` in front is
    /// optional when the expected command starts with it, since a root login needs none), else
    /// where they differ.
    public static func compare(typed: String, expected: String) -> TrainingMismatch? {
        var t = normalize(typed)
        var e = normalize(expected)
        if e.first == "sudo" && t.first != "sudo" { e.removeFirst() }
        else if t.first == "sudo" && e.first != "sudo" { t.removeFirst() }
        if t == e { return nil }
        var i = 0
        while i < min(t.count, e.count) && t[i] == e[i] { i += 1 }
        // Word positions as the learner sees them (counting a leading sudo they typed).
        let shift = normalize(typed).count - t.count
        return TrainingMismatch(typed: typed, expected: expected, word: i + 1 + shift,
                                want: i < e.count ? e[i] : "", got: i < t.count ? t[i] : "")
    }
}
