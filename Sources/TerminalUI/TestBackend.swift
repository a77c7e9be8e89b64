/// A backend that keeps the last frame in memory, for snapshot tests and headless drivers.
public struct TestBackend: Sendable {
    public private(set) var buffer: Buffer
    /// Cells sent by the last `draw` (what a real terminal would have received).
    public private(set) var lastChanges: [CellChange] = []
    public private(set) var frames = 0

    public init(width: Int, height: Int) { buffer = Buffer(width: width, height: height) }

    public var width: Int { buffer.width }
    public var height: Int { buffer.height }

    /// Applies a frame the way the curses backend does: only the diff is "sent".
    public mutating func draw(_ frame: Buffer) {
        lastChanges = frame.diff(previous: buffer)
        buffer = frame
        frames += 1
    }

    /// Simulates a terminal resize (the next draw is a full redraw).
    public mutating func resize(width: Int, height: Int) { buffer = Buffer(width: width, height: height) }

    /// Rows as text; a wide character appears once.
    public var lines: [String] { buffer.lines }
    /// Rows with trailing spaces removed, joined by newlines.
    public var snapshot: String {
        lines.map { String($0.reversed().drop(while: { $0 == " " }).reversed()) }.joined(separator: "\n") + "\n"
    }
}
