/// Terminal colours (the 8 ANSI colours plus the terminal's default).
public enum Color: Int, Hashable, Sendable, CaseIterable {
    case `default` = -1
    case black = 0, red, green, yellow, blue, magenta, cyan, white
}

/// Text attributes.
public struct StyleFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let bold = StyleFlags(rawValue: 1 << 0)
    public static let reverse = StyleFlags(rawValue: 1 << 1)
    public static let underline = StyleFlags(rawValue: 1 << 2)
    public static let dim = StyleFlags(rawValue: 1 << 3)
}

/// Foreground, background and attributes of a cell.
public struct Style: Hashable, Sendable {
    public var fg: Color
    public var bg: Color
    public var flags: StyleFlags

    public init(fg: Color = .default, bg: Color = .default, flags: StyleFlags = []) {
        self.fg = fg
        self.bg = bg
        self.flags = flags
    }

    public static let plain = Style()
    public static let bold = Style(flags: .bold)
    public static let reverse = Style(flags: .reverse)
    public static let dim = Style(flags: .dim)
    public static let underline = Style(flags: .underline)

    /// `other` layered on top of `self`: non-default colours of `other` win, flags are unioned.
    public func patched(_ other: Style) -> Style {
        Style(fg: other.fg == .default ? fg : other.fg,
              bg: other.bg == .default ? bg : other.bg,
              flags: flags.union(other.flags))
    }

    public func adding(_ f: StyleFlags) -> Style { var s = self; s.flags.formUnion(f); return s }
    /// Colours dropped, attributes kept (monochrome / NO_COLOR).
    public var monochrome: Style { Style(flags: flags) }
}

/// A run of text with one style.
public struct Span: Hashable, Sendable {
    public var text: String
    public var style: Style
    public init(_ text: String, style: Style = .plain) {
        self.text = text
        self.style = style
    }
    public var width: Int { DisplayWidth.of(text) }
}

/// One logical line of styled spans (may wrap into several rows).
public struct Line: Hashable, Sendable, ExpressibleByStringLiteral {
    public var spans: [Span]
    public init(_ spans: [Span]) { self.spans = spans }
    public init(_ text: String, style: Style = .plain) { self.spans = [Span(text, style: style)] }
    public init(stringLiteral value: String) { self.spans = [Span(value)] }
    public var width: Int { spans.reduce(0) { $0 + $1.width } }
    public var text: String { spans.map(\.text).joined() }
}
