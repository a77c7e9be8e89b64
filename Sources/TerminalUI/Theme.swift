/// Status of a stage or step, as shown by a glyph.
public enum StatusGlyph: String, Hashable, Sendable, CaseIterable {
    case pending, running, done, failed, interrupted, skipped, stale
}

/// Box-drawing characters.
public struct BorderSet: Hashable, Sendable {
    public var topLeft, topRight, bottomLeft, bottomRight, horizontal, vertical: String
    public var teeLeft, teeRight: String
    public static let unicode = BorderSet(topLeft: "┌", topRight: "┐", bottomLeft: "└", bottomRight: "┘",
                                          horizontal: "─", vertical: "│", teeLeft: "├", teeRight: "┤")
    public static let rounded = BorderSet(topLeft: "╭", topRight: "╮", bottomLeft: "╰", bottomRight: "╯",
                                          horizontal: "─", vertical: "│", teeLeft: "├", teeRight: "┤")
    public static let ascii = BorderSet(topLeft: "+", topRight: "+", bottomLeft: "+", bottomRight: "+",
                                        horizontal: "-", vertical: "|", teeLeft: "+", teeRight: "+")
}

/// Colours, attributes and glyphs. `color == false` (NO_COLOR, monochrome terminals) keeps only
/// attributes; `plain` uses ASCII glyphs only.
public struct Theme: Hashable, Sendable {
    public var color: Bool
    public var plain: Bool

    public init(color: Bool = true, plain: Bool = false) { self.color = color; self.plain = plain }

    /// Colour off when `NO_COLOR` is set to a non-empty value (https://no-color.org).
    public static func fromEnvironment(_ env: [String: String], plain: Bool = false) -> Theme {
        let noColor = (env["NO_COLOR"].map { !$0.isEmpty } ?? false)
        return Theme(color: !noColor, plain: plain)
    }

    private func s(_ style: Style) -> Style { color ? style : style.monochrome }

    public var text: Style { .plain }
    public var muted: Style { s(Style(fg: .default, flags: .dim)) }
    public var border: Style { s(Style(fg: .blue)) }
    public var focusedBorder: Style { s(Style(fg: .cyan, flags: .bold)) }
    public var title: Style { s(Style(fg: .cyan, flags: .bold)) }
    public var selected: Style { s(Style(flags: .reverse)) }
    public var tabActive: Style { s(Style(fg: .black, bg: .cyan, flags: [.bold])).adding(color ? [] : .reverse) }
    public var tabInactive: Style { s(Style(flags: .dim)) }
    public var statusBar: Style { s(Style(fg: .black, bg: .white)).adding(color ? [] : .reverse) }
    public var keyBarKey: Style { s(Style(fg: .black, bg: .cyan, flags: .bold)).adding(color ? [] : .reverse) }
    public var keyBarText: Style { .plain }
    public var error: Style { s(Style(fg: .red, flags: .bold)) }
    public var warning: Style { s(Style(fg: .yellow, flags: .bold)) }
    public var success: Style { s(Style(fg: .green)) }
    public var diffAdded: Style { s(Style(fg: .green)) }
    public var diffRemoved: Style { s(Style(fg: .red)) }
    public var diffHunk: Style { s(Style(fg: .cyan)) }
    public var command: Style { s(Style(fg: .yellow)) }
    public var searchMatch: Style { s(Style(fg: .black, bg: .yellow)).adding(color ? [] : .underline) }

    public var borders: BorderSet { plain ? .ascii : .unicode }
    public var ellipsis: String { plain ? "..." : "…" }
    public var times: String { plain ? "x" : "×" }
    public var separator: String { plain ? "|" : "│" }
    public var passwordMask: String { plain ? "*" : "•" }

    /// Status glyph; `tick` animates the running spinner. Unicode glyphs are 1 column, plain
    /// glyphs 3 columns (`[x]`).
    public func glyph(_ status: StatusGlyph, tick: Int = 0) -> String {
        if plain {
            switch status {
            case .pending: return "[ ]"
            case .running: return "[" + Spinner.frame(tick, plain: true) + "]"
            case .done: return "[x]"
            case .failed: return "[!]"
            case .interrupted: return "[=]"
            case .skipped: return "[>]"
            case .stale: return "[~]"
            }
        }
        switch status {
        case .pending: return "·"
        case .running: return Spinner.frame(tick, plain: false)
        case .done: return "✔"
        case .failed: return "✘"
        case .interrupted: return "⏸"
        case .skipped: return "↷"
        case .stale: return "↻"
        }
    }

    public func glyphStyle(_ status: StatusGlyph) -> Style {
        switch status {
        case .pending: return muted
        case .running: return s(Style(fg: .cyan, flags: .bold))
        case .done: return success
        case .failed: return error
        case .interrupted: return warning
        case .skipped: return muted
        case .stale: return s(Style(fg: .yellow))
        }
    }

    /// Human description of a status (legend, help).
    public static func describe(_ status: StatusGlyph) -> String {
        switch status {
        case .pending: return "pending"
        case .running: return "running"
        case .done: return "done"
        case .failed: return "failed"
        case .interrupted: return "interrupted"
        case .skipped: return "skipped"
        case .stale: return "stale (inputs changed since it ran)"
        }
    }
}

/// Spinner frames (braille dots, or `|/-\` when plain).
public enum Spinner {
    public static let unicodeFrames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
    public static let plainFrames = ["|", "/", "-", "\\"]
    public static func frames(plain: Bool) -> [String] { plain ? plainFrames : unicodeFrames }
    public static func frame(_ tick: Int, plain: Bool) -> String {
        let f = frames(plain: plain)
        return f[((tick % f.count) + f.count) % f.count]
    }
}
