import TerminalUI

/// Signals the TUI turns into events instead of dying.
public enum TUISignal: Sendable, Hashable {
    case interrupt   // SIGINT (Ctrl-C): the app decides (cancel the step, or ask to quit)
    case terminate   // SIGTERM: the run loop quits after the app has seen it
    case hangup      // SIGHUP: the terminal went away; the run loop quits
}

/// Input to an app.
public enum TUIEvent: Sendable, Hashable {
    case key(Key)
    case resize(width: Int, height: Int)
    case signal(TUISignal)
    /// Periodic tick while the app asks for one (spinners).
    case tick
}

/// What the app wants after an event.
public enum TUICommand: Sendable, Hashable {
    case none
    case redraw
    case quit
}

/// A screen driven by the run loop: state → `render(into:)`; events → `handle(_:)`.
@MainActor
public protocol TUIApp: AnyObject {
    /// Draws the whole screen into a buffer of the terminal's size.
    func render(into buffer: inout Buffer)
    /// Reacts to an event.
    func handle(_ event: TUIEvent) -> TUICommand
    /// Called every loop iteration: drain external updates (runner output, core state);
    /// return true when something visible changed.
    func update() -> Bool
    /// Interval of `.tick` events while something animates; nil when idle (no ticks, no redraws).
    var tickInterval: Duration? { get }
}

extension TUIApp {
    public func update() -> Bool { false }
    public var tickInterval: Duration? { nil }
}

/// A terminal the run loop draws to and reads from.
@MainActor
public protocol TerminalBackend: AnyObject {
    var width: Int { get }
    var height: Int { get }
    /// Shows a frame (sending only what changed since the last one).
    func draw(_ buffer: Buffer)
    /// Waits up to `timeoutMs` for input and returns what arrived; nil when input is closed.
    func events(timeoutMs: Int) -> [TUIEvent]?
}

/// Why the run loop stopped.
public enum TUIExit: Sendable, Hashable {
    case quit
    case signal(TUISignal)
    case inputClosed
}

/// The generic run loop: redraws only when something changed, waits on input otherwise
/// (idle CPU near zero), renders at most ~60 frames/s while output streams, but always right
/// after a key press.
@MainActor
public enum TUIRunLoop {
    /// Frames rendered by the last `run` (for tests of the idle behaviour).
    public private(set) static var framesRendered = 0

    public static func run(_ app: some TUIApp, on backend: some TerminalBackend,
                           idleWaitMs: Int = 50, frameInterval: Duration = .milliseconds(16)) async -> TUIExit {
        let clock = ContinuousClock()
        var dirty = true
        var urgent = true
        var lastFrame = clock.now - frameInterval
        var lastTick = clock.now
        framesRendered = 0
        while true {
            let now = clock.now
            if dirty && (urgent || now - lastFrame >= frameInterval) {
                var buffer = Buffer(width: backend.width, height: backend.height)
                app.render(into: &buffer)
                backend.draw(buffer)
                framesRendered += 1
                dirty = false; urgent = false; lastFrame = now
            }
            // How long we may wait for input.
            var waitMs = idleWaitMs
            if dirty { waitMs = max(0, min(waitMs, ms(frameInterval - (now - lastFrame)))) }
            if let ti = app.tickInterval { waitMs = max(0, min(waitMs, ms(ti - (now - lastTick)))) }

            guard let events = backend.events(timeoutMs: waitMs) else { return .inputClosed }
            for e in events {
                let cmd = app.handle(e)
                if case .signal(let s) = e, s != .interrupt { return .signal(s) }
                switch cmd {
                case .quit: return .quit
                case .redraw: dirty = true; urgent = true
                case .none: break
                }
                if case .resize = e { dirty = true; urgent = true }
            }
            if let ti = app.tickInterval, clock.now - lastTick >= ti {
                lastTick = clock.now
                if app.handle(.tick) == .redraw { dirty = true }
            }
            if app.update() { dirty = true }
            await Task.yield()
        }
    }

    private static func ms(_ d: Duration) -> Int {
        let c = d.components
        return Int(c.seconds) * 1000 + Int(c.attoseconds / 1_000_000_000_000_000)
    }
}

/// A backend for tests and headless drivers: a `TestBackend` screen plus scripted events.
@MainActor
public final class ScriptedBackend: TerminalBackend {
    public private(set) var screen: TestBackend
    /// Events still to deliver, one batch per `events(timeoutMs:)` call.
    public var script: [[TUIEvent]]
    /// Frames drawn, with the number of cells each one sent.
    public private(set) var sentCells: [Int] = []
    /// Number of `events` calls that returned nothing (idle iterations).
    public private(set) var idlePolls = 0
    /// After the script, report this many idle polls, then close input.
    public var idlePollsBeforeClose: Int

    public init(width: Int, height: Int, script: [[TUIEvent]] = [], idlePollsBeforeClose: Int = 0) {
        screen = TestBackend(width: width, height: height)
        self.script = script
        self.idlePollsBeforeClose = idlePollsBeforeClose
    }

    public var width: Int { screen.width }
    public var height: Int { screen.height }

    public func draw(_ buffer: Buffer) {
        screen.draw(buffer)
        sentCells.append(screen.lastChanges.count)
    }

    public func events(timeoutMs: Int) -> [TUIEvent]? {
        if !script.isEmpty {
            let batch = script.removeFirst()
            for e in batch { if case .resize(let w, let h) = e { screen.resize(width: w, height: h) } }
            return batch
        }
        if idlePolls < idlePollsBeforeClose { idlePolls += 1; return [] }
        return nil
    }
}
