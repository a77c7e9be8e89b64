/// A backend that keeps the last frame in memory, for snapshot tests and headless drivers.
public struct TestBackend: Sendable {
    public private(set) var buffer: Buffer
    /// Cells sent by the last `draw` (what a real terminal would have received).
    public private(set) var lastChanges: [CellChange] = []
    public private(set) var frames = 0

    private var fullRedraw = true

    public init(width: Int, height: Int) { buffer = Buffer(width: width, height: height) }

    public var width: Int { buffer.width }
    public var height: Int { buffer.height }

    /// Applies a frame the way the curses backend does: only the diff is "sent" (everything on
    /// the first frame and after a resize).
    public mutating func draw(_ frame: Buffer) {
        lastChanges = frame.diff(previous: fullRedraw ? nil : buffer)
        buffer = frame
        fullRedraw = false
        frames += 1
    }

    /// Simulates a terminal resize (the next draw is a full redraw).
    public mutating func resize(width: Int, height: Int) {
        buffer = Buffer(width: width, height: height)
        fullRedraw = true
    }

    /// Rows as text; a wide character appears once.
    public var lines: [String] { buffer.lines }
    /// Rows with trailing spaces removed, joined by newlines.
    public var snapshot: String {
        lines.map { String($0.reversed().drop(while: { $0 == " " }).reversed()) }.joined(separator: "\n") + "\n"
    }
}
