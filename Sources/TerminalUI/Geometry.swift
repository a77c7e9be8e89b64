/// A rectangle of terminal cells.
public struct Rect: Hashable, Sendable, CustomStringConvertible {
    public var x: Int, y: Int, width: Int, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x; self.y = y
        self.width = max(0, width); self.height = max(0, height)
    }
    public static let zero = Rect(x: 0, y: 0, width: 0, height: 0)
    public var isEmpty: Bool { width == 0 || height == 0 }
    public var left: Int { x }
    public var top: Int { y }
    public var right: Int { x + width }      // exclusive
    public var bottom: Int { y + height }    // exclusive
    public var area: Int { width * height }
    public var description: String { "Rect(\(x),\(y) \(width)x\(height))" }

    /// Shrunk by `margin` cells on every side.
    public func inset(by margin: Int) -> Rect { inset(horizontal: margin, vertical: margin) }
    public func inset(horizontal: Int, vertical: Int) -> Rect {
        Rect(x: x + horizontal, y: y + vertical, width: width - 2 * horizontal, height: height - 2 * vertical)
    }
    public func intersection(_ o: Rect) -> Rect {
        let x0 = max(x, o.x), y0 = max(y, o.y)
        let x1 = min(right, o.right), y1 = min(bottom, o.bottom)
        return Rect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }
    /// A `width`×`height` rectangle centered in this one (clamped to it).
    public func centered(width w: Int, height h: Int) -> Rect {
        let w = min(w, width), h = min(h, height)
        return Rect(x: x + (width - w) / 2, y: y + (height - h) / 2, width: w, height: h)
    }
    public func row(_ i: Int) -> Rect { Rect(x: x, y: y + i, width: width, height: i < height ? 1 : 0) }
}

/// A size constraint for one segment of a layout split.
public enum Constraint: Hashable, Sendable {
    /// Exactly n cells (less if space runs out).
    case length(Int)
    /// p percent of the total.
    case percentage(Int)
    /// At least n cells; grows like `fill(1)`.
    case min(Int)
    /// A weighted share of what is left.
    case fill(Int)
}

public enum Direction: Sendable { case horizontal, vertical }

/// Splits a rect into segments along one axis.
public struct Layout: Sendable {
    public var direction: Direction
    public var constraints: [Constraint]
    public var spacing: Int

    public init(_ direction: Direction, _ constraints: [Constraint], spacing: Int = 0) {
        self.direction = direction; self.constraints = constraints; self.spacing = spacing
    }
    public static func horizontal(_ c: [Constraint], spacing: Int = 0) -> Layout { Layout(.horizontal, c, spacing: spacing) }
    public static func vertical(_ c: [Constraint], spacing: Int = 0) -> Layout { Layout(.vertical, c, spacing: spacing) }

    /// Sizes along the axis for a total of `total` cells.
    public static func sizes(_ constraints: [Constraint], total: Int, spacing: Int = 0) -> [Int] {
        let n = constraints.count
        guard n > 0 else { return [] }
        let avail = max(0, total - spacing * (n - 1))
        var sizes = constraints.map { c -> Int in
            switch c {
            case .length(let l): return Swift.max(0, l)
            case .percentage(let p): return Swift.max(0, avail * p / 100)
            case .min(let m): return Swift.max(0, m)
            case .fill: return 0
            }
        }
        var used = sizes.reduce(0, +)
        if used > avail {
            // Over-allocated: take the excess back from the last segments first.
            var excess = used - avail
            for i in stride(from: n - 1, through: 0, by: -1) where excess > 0 {
                let take = Swift.min(sizes[i], excess)
                sizes[i] -= take; excess -= take
            }
            return sizes
        }
        // Distribute the rest among fill and min segments by weight.
        let weights = constraints.map { c -> Int in
            switch c {
            case .fill(let w): return Swift.max(0, w)
            case .min: return 1
            default: return 0
            }
        }
        let totalWeight = weights.reduce(0, +)
        let rest = avail - used
        if totalWeight > 0 && rest > 0 {
            var given = 0
            for i in 0..<n where weights[i] > 0 {
                let share = rest * weights[i] / totalWeight
                sizes[i] += share; given += share
            }
            // Remainder to the last weighted segment.
            if let last = weights.lastIndex(where: { $0 > 0 }) { sizes[last] += rest - given }
            used = avail
        }
        return sizes
    }

    public func split(_ rect: Rect) -> [Rect] {
        let total = direction == .horizontal ? rect.width : rect.height
        let sizes = Layout.sizes(constraints, total: total, spacing: spacing)
        var out: [Rect] = []
        var pos = direction == .horizontal ? rect.x : rect.y
        for s in sizes {
            switch direction {
            case .horizontal: out.append(Rect(x: pos, y: rect.y, width: s, height: rect.height))
            case .vertical: out.append(Rect(x: rect.x, y: pos, width: rect.width, height: s))
            }
            pos += s + spacing
        }
        return out
    }
}
