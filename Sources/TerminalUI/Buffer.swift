/// One terminal cell: a grapheme cluster and its style. The right half of a wide (2-column)
/// character is a *continuation* cell with an empty symbol.
public struct Cell: Hashable, Sendable {
    public var symbol: String
    public var style: Style
    public var isContinuation: Bool

    public init(_ symbol: String = " ", style: Style = .plain, isContinuation: Bool = false) {
        self.symbol = symbol; self.style = style; self.isContinuation = isContinuation
    }
    public static let blank = Cell()
    static let continuation = Cell("", isContinuation: true)
    /// Columns the symbol occupies (0 for a continuation cell).
    public var width: Int { isContinuation ? 0 : max(1, DisplayWidth.of(symbol)) }
}

/// A changed cell, as produced by `Buffer.diff(previous:)`.
public struct CellChange: Hashable, Sendable {
    public var x: Int, y: Int
    public var cell: Cell
    public init(x: Int, y: Int, cell: Cell) { self.x = x; self.y = y; self.cell = cell }
}

/// A width×height grid of cells that widgets render into.
public struct Buffer: Hashable, Sendable {
    public private(set) var width: Int
    public private(set) var height: Int
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int, fill: Cell = .blank) {
        self.width = max(0, width); self.height = max(0, height)
        cells = Array(repeating: fill, count: self.width * self.height)
    }
    public var area: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
    }
    public func contains(x: Int, y: Int) -> Bool { x >= 0 && y >= 0 && x < width && y < height }

    /// Puts one cell, keeping wide characters consistent: overwriting either half of a wide
    /// character blanks the other half; a wide cell also claims the cell to its right (or
    /// becomes a space in the last column).
    public mutating func setCell(x: Int, y: Int, _ cell: Cell) {
        guard contains(x: x, y: y), !cell.isContinuation else { return }
        let i = y * width + x
        detach(i, x: x)
        if cell.width == 2 {
            guard x + 1 < width else { cells[i] = Cell(" ", style: cell.style); return }
            detach(i + 1, x: x + 1)
            cells[i] = cell
            cells[i + 1] = Cell("", style: cell.style, isContinuation: true)
        } else {
            cells[i] = cell
        }
    }

    /// Blanks the other half of a wide character at index i (column x), if any.
    private mutating func detach(_ i: Int, x: Int) {
        if cells[i].isContinuation {
            if x > 0 { cells[i - 1] = Cell(" ", style: cells[i - 1].style) }
        } else if x + 1 < width, cells[i + 1].isContinuation {
            cells[i + 1] = Cell(" ", style: cells[i].style)
        }
    }

    /// Writes `string` starting at (x, y), one cell per grapheme, clipped at `maxX` (exclusive,
    /// defaults to the buffer width). A wide character takes 2 cells; if only one column is
    /// left it is replaced by a space. Zero-width clusters are dropped. Returns the x after the
    /// last written cell.
    @discardableResult
    public mutating func set(string: String, x: Int, y: Int, style: Style = .plain, maxX: Int? = nil) -> Int {
        let limit = min(maxX ?? width, width)
        guard y >= 0, y < height else { return x }
        var cx = x
        for ch in string {
            if cx >= limit { break }
            var w = DisplayWidth.of(ch)
            var sym = String(ch)
            if ch == "\t" { sym = " "; w = 1 }
            if w == 0 { continue }
            if cx < 0 { cx += w; continue }
            if w == 2 && cx + 1 >= limit { setCell(x: cx, y: y, Cell(" ", style: style)); cx += 1; break }
            setCell(x: cx, y: y, Cell(sym, style: style))
            cx += w
        }
        return cx
    }

    /// Writes styled spans left to right; returns the x after the last cell.
    @discardableResult
    public mutating func set(line: Line, x: Int, y: Int, maxX: Int? = nil, baseStyle: Style = .plain) -> Int {
        var cx = x
        for span in line.spans {
            cx = set(string: span.text, x: cx, y: y, style: baseStyle.patched(span.style), maxX: maxX)
        }
        return cx
    }

    /// Fills `rect` with `cell`.
    public mutating func fill(_ rect: Rect, with cell: Cell = .blank) {
        let r = rect.intersection(area)
        guard !r.isEmpty else { return }
        for y in r.y..<r.bottom { for x in r.x..<r.right { setCell(x: x, y: y, cell) } }
    }

    /// Applies `style` on top of the existing styles in `rect`.
    public mutating func setStyle(_ rect: Rect, _ style: Style) {
        let r = rect.intersection(area)
        guard !r.isEmpty else { return }
        for y in r.y..<r.bottom {
            for x in r.x..<r.right { cells[y * width + x].style = cells[y * width + x].style.patched(style) }
        }
    }

    /// Resets every cell to blank (keeps the size).
    public mutating func clear() { for i in cells.indices { cells[i] = .blank } }

    /// Resizes and clears.
    public mutating func resize(width w: Int, height h: Int) {
        width = max(0, w); height = max(0, h)
        cells = Array(repeating: .blank, count: width * height)
    }

    /// Cells that differ from `previous`, in row-major order. A continuation cell is never
    /// emitted; when one changes, the wide character owning it is emitted instead. When
    /// `previous` is nil or has another size, every (non-continuation) cell is returned.
    public func diff(previous: Buffer?) -> [CellChange] {
        var out: [CellChange] = []
        guard let prev = previous, prev.width == width, prev.height == height else {
            out.reserveCapacity(cells.count)
            for y in 0..<height {
                for x in 0..<width where !cells[y * width + x].isContinuation {
                    out.append(CellChange(x: x, y: y, cell: cells[y * width + x]))
                }
            }
            return out
        }
        for y in 0..<height {
            var lastEmitted = -1
            let row = y * width
            for x in 0..<width {
                let c = cells[row + x]
                guard c != prev.cells[row + x] else { continue }
                let ex = c.isContinuation ? x - 1 : x
                if ex >= 0, ex != lastEmitted {
                    out.append(CellChange(x: ex, y: y, cell: cells[row + ex]))
                    lastEmitted = ex
                }
            }
        }
        return out
    }

    /// Row `y` as text; a wide character appears once.
    public func lineText(_ y: Int) -> String {
        var s = ""
        for x in 0..<width where !cells[y * width + x].isContinuation { s += cells[y * width + x].symbol }
        return s
    }
    /// All rows as text.
    public var lines: [String] { (0..<height).map(lineText) }
}
