/// The one function that turns an argument into shell text. Everything that reaches a shell
/// (remote commands over SSH, `sh -c` wrappers) goes through `ShellQuote.quote`.
public enum ShellQuote {
    /// POSIX single-quoting: safe for any byte sequence except NUL, which no shell can carry.
    /// Plain words made only of safe characters are left as they are, for readability.
    public static func quote(_ arg: String) throws -> String {
        if arg.utf8.contains(0) { throw RunnerError.nulInArgument(index: 0) }
        return quoteUnchecked(arg)
    }

    /// Quotes a whole argv into one command line.
    public static func join(_ argv: [String]) throws -> String {
        for (i, a) in argv.enumerated() where a.utf8.contains(0) {
            throw RunnerError.nulInArgument(index: i)
        }
        return argv.map(quoteUnchecked).joined(separator: " ")
    }

    static func quoteUnchecked(_ arg: String) -> String {
        if !arg.isEmpty && arg.utf8.allSatisfy(isSafe) { return arg }
        var out = "'"
        for ch in arg.unicodeScalars {
            if ch == "'" { out += "'\\''" } else { out.unicodeScalars.append(ch) }
        }
        out += "'"
        return out
    }

    private static func isSafe(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "/"),
             UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "%"), UInt8(ascii: "+"),
             UInt8(ascii: ","), UInt8(ascii: "="):
            return true
        default:
            return false
        }
    }
}
