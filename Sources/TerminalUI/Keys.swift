/// A key press, as the backends report it.
public enum Key: Hashable, Sendable {
    case char(Character)
    case up, down, left, right
    case pageUp, pageDown, home, end
    case enter, tab, backTab, escape, backspace
    case delete
    case ctrl(Character)          // lowercase letter, e.g. .ctrl("c")
    case function(Int)            // F1…F12
    case resize

    /// Short label for key bars and help ("↑", "PgUp", "^C", "q"); ASCII when `plain`.
    public func label(plain: Bool = false) -> String {
        switch self {
        case .char(" "): return "Space"
        case .char(let c): return String(c)
        case .up: return plain ? "Up" : "↑"
        case .down: return plain ? "Down" : "↓"
        case .left: return plain ? "Left" : "←"
        case .right: return plain ? "Right" : "→"
        case .pageUp: return "PgUp"
        case .pageDown: return "PgDn"
        case .home: return "Home"
        case .end: return "End"
        case .enter: return "Enter"
        case .tab: return "Tab"
        case .backTab: return "S-Tab"
        case .escape: return "Esc"
        case .backspace: return "Bksp"
        case .delete: return "Del"
        case .ctrl(let c): return "^" + String(c).uppercased()
        case .function(let n): return "F\(n)"
        case .resize: return "resize"
        }
    }
}

/// One declarative binding: the keys, how the key bar shows them, the help text and the
/// action they trigger. The key bar, the `?` help table and key dispatch all come from this.
public struct KeyBinding<Action> {
    public var keys: [Key]
    /// Label for the key bar / help; empty → derived from `keys` ("↑/k").
    public var label: String
    /// Description for the `?` help table ("run the selected stage").
    public var help: String
    /// Short text for the key bar ("run"); defaults to `help`.
    public var short: String
    public var action: Action
    /// Whether the binding appears in the key bar (all bindings appear in the help table).
    public var inKeyBar: Bool

    public init(keys: [Key], label: String = "", help: String, short: String? = nil, action: Action,
                inKeyBar: Bool = true) {
        self.keys = keys; self.label = label; self.help = help; self.short = short ?? help
        self.action = action; self.inKeyBar = inKeyBar
    }

    public func displayLabel(plain: Bool = false) -> String {
        if !label.isEmpty && !(plain && !label.unicodeScalars.allSatisfy(\.isASCII)) { return label }
        return keys.map { $0.label(plain: plain) }.joined(separator: "/")
    }
}

/// Key bar entry: key label + short description.
public struct KeyHint: Hashable, Sendable {
    public var key: String
    public var text: String
    public init(key: String, text: String) { self.key = key; self.text = text }
}

/// Resolves keys to actions. The first binding listing a key wins.
public struct Keymap<Action> {
    public var bindings: [KeyBinding<Action>]
    private var index: [Key: Int] = [:]

    public init(_ bindings: [KeyBinding<Action>]) {
        self.bindings = bindings
        for (i, b) in bindings.enumerated() { for k in b.keys where index[k] == nil { index[k] = i } }
    }

    public func action(for key: Key) -> Action? {
        index[key].map { bindings[$0].action }
    }
    public func binding(for key: Key) -> KeyBinding<Action>? { index[key].map { bindings[$0] } }

    /// Entries for the key bar (bindings with `inKeyBar`).
    public func keyBarEntries(plain: Bool = false) -> [KeyHint] {
        bindings.filter(\.inKeyBar).map { KeyHint(key: $0.displayLabel(plain: plain), text: $0.short) }
    }

    /// Every binding as (keys, help) rows for the `?` screen and the docs.
    public func helpTable(plain: Bool = false) -> [KeyHint] {
        bindings.map { b in
            KeyHint(key: b.keys.map { $0.label(plain: plain) }.joined(separator: ", "), text: b.help)
        }
    }

    /// Keys that are bound more than once (a configuration mistake; tested).
    public var conflicts: [Key] {
        var seen: [Key: Int] = [:]
        for b in bindings { for k in b.keys { seen[k, default: 0] += 1 } }
        return seen.filter { $0.value > 1 }.map(\.key)
    }
}
extension Keymap: Sendable where Action: Sendable {}
extension KeyBinding: Sendable where Action: Sendable {}
