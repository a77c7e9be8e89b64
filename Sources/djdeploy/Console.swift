import Foundation
import WizardCore

#if canImport(Glibc)
import Glibc
#endif

/// Plain line output for the headless CLI. Colour only on a terminal, never with NO_COLOR or --plain.
enum Console {
    nonisolated(unsafe) static var plain = false
    static let isTTY = isatty(STDOUT_FILENO) != 0
    static var color: Bool { isTTY && !plain && ProcessInfo.processInfo.environment["NO_COLOR"] == nil }
    private static let lock = NSLock()

    static func out(_ s: String) {
        lock.lock()
        defer { lock.unlock() }
        rawWrite(STDOUT_FILENO, s + "\n")
    }

    static func error(_ s: String) {
        lock.lock()
        defer { lock.unlock() }
        rawWrite(STDERR_FILENO, "djdeploy: " + s + "\n")
    }

    /// write(2), ignoring errors: FileHandle.write traps on EIO/EPIPE (a closed terminal or pipe),
    /// and a lost terminal must never crash a deployment that is still recording its state.
    static func rawWrite(_ fd: Int32, _ s: String) {
        var bytes = Array(s.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            off += n
        }
    }

    static func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
    static func bold(_ s: String) -> String { paint(s, "1") }
    static func green(_ s: String) -> String { paint(s, "32") }
    static func red(_ s: String) -> String { paint(s, "31") }
    static func yellow(_ s: String) -> String { paint(s, "33") }
    static func dim(_ s: String) -> String { paint(s, "2") }

    static func glyph(_ status: StepStatus) -> String {
        let fancy = !plain && ProcessInfo.processInfo.environment["LANG", default: "C.UTF-8"].uppercased().contains("UTF")
            || (!plain && ProcessInfo.processInfo.environment["LC_ALL", default: ""].uppercased().contains("UTF"))
        switch status {
        case .succeeded: return green(fancy ? "✔" : "[x]")
        case .failed: return red(fancy ? "✘" : "[!]")
        case .running: return yellow(fancy ? "▶" : "[>]")
        case .interrupted: return yellow(fancy ? "⏸" : "[~]")
        case .skipped: return dim(fancy ? "↷" : "[-]")
        case .stale: return yellow(fancy ? "↻" : "[s]")
        case .pending: return dim(fancy ? "·" : "[ ]")
        }
    }

    static func duration(_ a: Timestamp?, _ b: Timestamp?) -> String {
        guard let a, let b else { return "" }
        let ms = b.millisecondsSince1970 - a.millisecondsSince1970
        if ms < 1000 { return "\(ms) ms" }
        let s = Double(ms) / 1000
        if s < 60 { return String(format: "%.1f s", s) }
        return "\(Int(s) / 60) min \(Int(s) % 60) s"
    }

    /// Asks a yes/no question on the terminal; false when there is no terminal.
    static func confirm(_ question: String) -> Bool {
        guard isatty(STDIN_FILENO) != 0 else { return false }
        lock.lock()
        rawWrite(STDOUT_FILENO, question + " [y/N] ")
        lock.unlock()
        guard let line = readLine() else { return false }
        return ["y", "yes"].contains(line.trimmingCharacters(in: .whitespaces).lowercased())
    }
}
