#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Synchronization
import CNCurses
import TerminalUI
import WizardCore

/// Why the TUI cannot start here, or nil when it can.
public enum TUIEnvironment {
    public static func unsupportedReason(env: [String: String], stdinIsTTY: Bool, stdoutIsTTY: Bool,
                                         language: Language = .en) -> String? {
        let strings = Strings(language)
        if !stdinIsTTY || !stdoutIsTTY {
            return strings[.errorNoTerminal]
        }
        let term = env["TERM"] ?? ""
        if term.isEmpty || term == "dumb" {
            return strings(.errorDumbTerminal, term.isEmpty ? "unset" : term)
        }
        return nil
    }

    public static func currentUnsupportedReason(language: Language = .en) -> String? {
        var env: [String: String] = [:]
        if let t = getenv("TERM") { env["TERM"] = String(cString: t) }
        return unsupportedReason(env: env, stdinIsTTY: isatty(0) == 1, stdoutIsTTY: isatty(1) == 1, language: language)
    }

    public static var environment: [String: String] {
        var env: [String: String] = [:]
        for k in ["TERM", "NO_COLOR", "LANG", "LC_ALL"] { if let v = getenv(k) { env[k] = String(cString: v) } }
        return env
    }
}

/// The only code that talks to curses. Sets up the locale, signals and the terminal; draws
/// buffer diffs; turns curses input into `TUIEvent`s; restores the terminal on every exit path
/// (`stop()`, deinit, `atexit`, SIGINT/SIGTERM/SIGHUP surfaced as events).
@MainActor
public final class CursesBackend: TerminalBackend {
    public private(set) var width = 0
    public private(set) var height = 0
    public let colorEnabled: Bool

    private var previous: Buffer?
    private var pairs: [PairKey: Int32] = [:]
    private var nextPair: Int32 = 1
    private var maxPairs: Int32 = 0
    private var started = false
    private var signalSources: [any DispatchSourceSignal] = []
    private let pendingSignals = PendingSignals()
    private let signalQueue = DispatchQueue(label: "djdeploy.tui.signals")

    private struct PairKey: Hashable { var fg: Color; var bg: Color }

    public init(color: Bool) { self.colorEnabled = color }

    /// Starts curses. Throws when the terminal cannot be initialised.
    public func start() throws(CursesError) {
        guard !started else { return }
        Self.setUTF8Locale()
        // ncurses would install SIGINT/SIGTERM handlers that exit without our cleanup; with the
        // signals ignored it leaves them alone and we receive them through dispatch sources.
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig, SIG_IGN)
            signalSources.append(Self.makeSignalSource(sig, queue: signalQueue, pending: pendingSignals))
        }
        djc_set_escdelay(25)
        guard djc_init(colorEnabled ? 1 : 0) == 0 else {
            restoreSignals()
            throw CursesError.initFailed
        }
        started = true
        maxPairs = Int32(djc_color_pairs())
        updateSize()
        previous = nil
    }

    /// Restores the terminal and the default signal dispositions. Idempotent.
    public func stop() {
        if started {
            djc_end()
            started = false
        }
        restoreSignals()
    }

    /// Nonisolated so that the handler is not main-actor isolated (it runs on `queue`).
    private nonisolated static func makeSignalSource(_ sig: Int32, queue: DispatchQueue,
                                                     pending: PendingSignals) -> any DispatchSourceSignal {
        let src = DispatchSource.makeSignalSource(signal: sig, queue: queue)
        src.setEventHandler { @Sendable in pending.push(sig) }
        src.resume()
        return src
    }

    private func restoreSignals() {
        for s in signalSources { s.cancel() }
        signalSources.removeAll()
        for sig in [SIGINT, SIGTERM, SIGHUP] { signal(sig, SIG_DFL) }
    }

    isolated deinit { if started { djc_end() } }

    private func updateSize() {
        var r: Int32 = 0, c: Int32 = 0
        djc_size(&r, &c)
        height = Int(r); width = Int(c)
    }

    /// Sets LC_ALL from the environment; falls back to C.UTF-8 when the codeset is not UTF-8.
    static func setUTF8Locale() {
        _ = setlocale(LC_ALL, "")
        let codeset = nl_langinfo(nl_item(CODESET)).map { String(cString: $0) } ?? ""
        if codeset.uppercased().filter({ $0 != "-" }) != "UTF8" {
            if setlocale(LC_ALL, "C.UTF-8") == nil { _ = setlocale(LC_ALL, "en_US.UTF-8") }
        }
    }

    // MARK: drawing

    public func draw(_ buffer: Buffer) {
        guard started else { return }
        let full = previous == nil || previous!.width != buffer.width || previous!.height != buffer.height
        if full { djc_clear() }
        let changes = buffer.diff(previous: full ? nil : previous)
        for ch in changes {
            let style = ch.cell.style
            var attrs: Int32 = 0
            if style.flags.contains(.bold) { attrs |= djc_attr_bold() }
            if style.flags.contains(.reverse) { attrs |= djc_attr_reverse() }
            if style.flags.contains(.underline) { attrs |= djc_attr_underline() }
            if style.flags.contains(.dim) { attrs |= djc_attr_dim() }
            let pair = pairFor(style)
            _ = djc_put(Int32(ch.y), Int32(ch.x), ch.cell.symbol.isEmpty ? " " : ch.cell.symbol, attrs, pair)
        }
        if !changes.isEmpty || full { djc_refresh() }
        previous = buffer
        lastSentCells = changes.count
    }

    /// Cells sent by the last draw.
    public private(set) var lastSentCells = 0

    private func pairFor(_ style: Style) -> Int32 {
        guard colorEnabled, djc_has_colors() == 1, style.fg != .default || style.bg != .default else { return 0 }
        let key = PairKey(fg: style.fg, bg: style.bg)
        if let p = pairs[key] { return p }
        guard nextPair < maxPairs else { return 0 }
        let p = nextPair
        nextPair += 1
        _ = djc_init_pair(p, Int32(style.fg.rawValue), Int32(style.bg.rawValue))
        pairs[key] = p
        return p
    }

    // MARK: input

    public func events(timeoutMs: Int) -> [TUIEvent]? {
        var out: [TUIEvent] = []
        for sig in pendingSignals.drain() {
            switch sig {
            case SIGINT: out.append(.signal(.interrupt))
            case SIGTERM: out.append(.signal(.terminate))
            default: out.append(.signal(.hangup))
            }
        }
        if !out.isEmpty { return out }
        // Wait for input (bounded: SIGWINCH may not interrupt poll when the main actor is not
        // on the main thread, so wget_wch is called every iteration anyway).
        var pfd = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
        let rc = poll(&pfd, 1, Int32(max(0, min(timeoutMs, 50))))
        // The terminal went away (hangup): a tty reports POLLHUP, often together with POLLIN
        // (reads then return EOF/EIO), so POLLIN must not hide it. Without this, a wizard whose
        // terminal closed without a SIGHUP reaching it (e.g. its parent shell ignores SIGHUP)
        // would spin on a dead terminal.
        if rc > 0 && (pfd.revents & Int16(POLLHUP | POLLERR | POLLNVAL)) != 0 {
            return nil
        }
        var ch: Int32 = 0
        while true {
            let r = djc_get_wch(&ch)
            if r == djc_err() { break }
            if r == djc_key_code_yes() {
                if ch == djc_key_resize() {
                    updateSize()
                    previous = nil
                    out.append(.resize(width: width, height: height))
                } else if let k = Self.mapKeyCode(ch) {
                    out.append(.key(k))
                }
            } else if let k = Self.mapChar(ch) {
                out.append(.key(k))
            }
            if out.count > 256 { break }
        }
        return out
    }

    static func mapChar(_ c: Int32) -> Key? {
        switch c {
        case 9: return .tab
        case 10, 13: return .enter
        case 27: return .escape
        case 8, 127: return .backspace
        case 1...26: return .ctrl(Character(Unicode.Scalar(UInt8(c) + 96)))
        case 0..<32: return nil
        default:
            guard let s = Unicode.Scalar(UInt32(bitPattern: c)) else { return nil }
            return .char(Character(s))
        }
    }

    static func mapKeyCode(_ c: Int32) -> Key? {
        switch c {
        case djc_key_up(): return .up
        case djc_key_down(): return .down
        case djc_key_left(): return .left
        case djc_key_right(): return .right
        case djc_key_ppage(): return .pageUp
        case djc_key_npage(): return .pageDown
        case djc_key_home(): return .home
        case djc_key_end(): return .end
        case djc_key_enter(): return .enter
        case djc_key_backspace(): return .backspace
        case djc_key_dc(): return .delete
        case djc_key_btab(): return .backTab
        default:
            for n in 1...12 where c == djc_key_f(Int32(n)) { return .function(n) }
            return nil
        }
    }
}

public enum CursesError: Error, Sendable { case initFailed }

/// Signals received on the dispatch queue, drained by the main actor.
final class PendingSignals: Sendable {
    private let list = Mutex<[Int32]>([])
    func push(_ s: Int32) { list.withLock { $0.append(s) } }
    func drain() -> [Int32] { list.withLock { l in defer { l.removeAll() }; return l } }
}

/// Runs an app full-screen in the real terminal; the terminal is restored however it ends.
@MainActor
public func runFullScreen(_ app: some TUIApp, color: Bool) async throws(CursesError) -> TUIExit {
    let backend = CursesBackend(color: color)
    try backend.start()
    defer { backend.stop() }
    return await TUIRunLoop.run(app, on: backend)
}
