/// Terminal column widths, from a table of our own (not libc `wcwidth`, which depends on the
/// locale). Wide/Fullwidth (CJK, Hangul, fullwidth forms, emoji) = 2; combining marks, format
/// characters and controls = 0; everything else (including East Asian *Ambiguous*) = 1.
public enum DisplayWidth {
    /// Width of one scalar: 0, 1 or 2.
    public static func of(_ scalar: Unicode.Scalar) -> Int {
        let v = scalar.value
        if v < 0x7F { return v < 0x20 ? 0 : 1 }          // ASCII fast path; controls are 0
        if v < 0xA0 { return 0 }                           // DEL and C1 controls
        if v < 0x300 { return 1 }                          // Latin-1 / Latin Extended (incl. soft hyphen)
        if contains(zeroRanges, v) { return 0 }
        if contains(wideRanges, v) { return 2 }
        return 1
    }

    /// Width of one grapheme cluster: the width of its first non-zero-width scalar; an emoji
    /// presentation selector (U+FE0F) widens a narrow base to 2.
    public static func of(_ character: Character) -> Int {
        var base = 0
        var emojiPresentation = false
        for s in character.unicodeScalars {
            if base == 0 { base = of(s) }
            if s.value == 0xFE0F { emojiPresentation = true }
        }
        if base == 1 && emojiPresentation { return 2 }
        return base
    }

    /// Width of a string (sum of its grapheme clusters).
    public static func of(_ string: String) -> Int {
        var total = 0
        for c in string {
            if c.isASCII, let a = c.asciiValue { total += a < 0x20 || a == 0x7F ? 0 : 1; continue }
            total += of(c)
        }
        return total
    }

    private static func contains(_ table: [(UInt32, UInt32)], _ v: UInt32) -> Bool {
        if v < table[0].0 || v > table[table.count - 1].1 { return false }
        var lo = 0, hi = table.count - 1
        while lo <= hi {
            let mid = (lo + hi) / 2
            if v < table[mid].0 { hi = mid - 1 } else if v > table[mid].1 { lo = mid + 1 } else { return true }
        }
        return false
    }
}
