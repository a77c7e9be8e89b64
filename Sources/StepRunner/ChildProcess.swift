import CSupport
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A child process in its own session, with stdout and stderr drained concurrently by one
/// `poll` loop on a dedicated thread. Lines are split from raw buffers (no per-byte work beyond
/// `memchr`), which is what makes ~1M lines/s possible.
final class ChildProcess: @unchecked Sendable {
    struct Outcome {
        var exited: Bool
        var code: Int32
        var tail: [OutputLine]
        var lineCount: Int
        /// Raw stdout, when `captureStdout` was set (lines are then not split for stdout).
        var stdoutData: Data
    }

    let pid: pid_t
    let startedAt: Date
    private let startNanos: UInt64
    private let outFD: Int32
    private let errFD: Int32
    private var inFD: Int32
    private var pendingInput: Data
    private let captureStdout: Bool
    private let tailLimit: Int
    private let holdStdinOpen: Bool
    private let lock = NSLock()
    private var finished = false
    private var exitObserved = false

    /// True once the child has been reaped (or its output fully drained).
    var hasExited: Bool {
        lock.lock(); defer { lock.unlock() }
        return exitObserved || finished
    }

    /// Spawns `argv` with `environment` (nil: inherit). Throws `RunnerError.cannotStart`.
    init(argv: [String], environment: [String: String]?, workingDirectory: String?,
         stdin: Data?, holdStdinOpen: Bool = false, captureStdout: Bool = false,
         tailLimit: Int = 200) throws {
        let wantStdin = stdin != nil || holdStdinOpen
        precondition(!argv.isEmpty)
        let env = environment.map { $0.map { "\($0.key)=\($0.value)" } }
        var pid: pid_t = 0
        var inFD: Int32 = -1, outFD: Int32 = -1, errFD: Int32 = -1
        let rc: Int32 = withCStrings(argv) { argvp in
            if let env {
                return withCStrings(env) { envp in
                    Self.spawn(argv[0], argvp, envp, workingDirectory, wantStdin, &pid, &inFD, &outFD, &errFD)
                }
            }
            return Self.spawn(argv[0], argvp, nil, workingDirectory, wantStdin, &pid, &inFD, &outFD, &errFD)
        }
        if rc != 0 {
            throw RunnerError.cannotStart(program: argv[0], reason: String(cString: strerror(rc)))
        }
        self.pid = pid
        self.startedAt = Date()
        self.startNanos = DispatchTime.now().uptimeNanoseconds
        self.inFD = inFD
        self.outFD = outFD
        self.errFD = errFD
        self.pendingInput = stdin ?? Data()
        self.captureStdout = captureStdout
        self.tailLimit = tailLimit
        self.holdStdinOpen = holdStdinOpen
        _ = dj_set_nonblocking(outFD)
        _ = dj_set_nonblocking(errFD)
        #if os(Linux)
        // A bigger stdout pipe (F_SETPIPE_SZ): a fast writer blocks, and we wake up, less often.
        _ = fcntl(outFD, 1031, Int32(Self.readSize))
        #endif
        if inFD >= 0 { _ = dj_set_nonblocking(inFD) }
    }

    private static func spawn(_ file: String, _ argv: UnsafePointer<UnsafeMutablePointer<CChar>?>,
                              _ envp: UnsafePointer<UnsafeMutablePointer<CChar>?>?,
                              _ cwd: String?, _ wantStdin: Bool,
                              _ pid: inout pid_t, _ inFD: inout Int32, _ outFD: inout Int32,
                              _ errFD: inout Int32) -> Int32 {
        let argvM = UnsafeMutablePointer(mutating: argv)
        let envM = envp.map { UnsafeMutablePointer(mutating: $0) }
        if let cwd {
            return cwd.withCString { c in
                dj_spawn(file, argvM, envM, c, 1, wantStdin ? 1 : 0, &pid, &inFD, &outFD, &errFD)
            }
        }
        return dj_spawn(file, argvM, envM, nil, 1, wantStdin ? 1 : 0, &pid, &inFD, &outFD, &errFD)
    }

    /// Signals the whole process group (the child is a session leader, so pgid == pid).
    func signalGroup(_ sig: Int32) {
        lock.lock()
        let done = finished
        lock.unlock()
        if done { return }
        _ = kill(-pid, sig)
    }

    /// SIGTERM to the group now, SIGKILL after `grace` unless it has ended.
    func terminate(grace: Double = 2.0) {
        signalGroup(SIGTERM)
        let pid = self.pid
        DispatchQueue.global().asyncAfter(deadline: .now() + grace) { [weak self] in
            guard let self else { return }
            self.lock.lock()
            let done = self.finished
            self.lock.unlock()
            if !done { _ = kill(-pid, SIGKILL) }
        }
    }

    /// Drains output until the child has exited and its pipes are closed (or stay silent for a
    /// short grace after the exit, when a grandchild keeps them open). Blocking: call it on a
    /// dedicated thread. Each read becomes a batch of lines (bytes, split with `memchr`; no
    /// per-line `String`): `filter` may rewrite a batch (redaction, dropping a line) and `sink`
    /// receives the kept batches in order.
    func drain(filter: (OutputBatch) -> OutputBatch, sink: (OutputBatch) -> Void) -> Outcome {
        var outSplit = LineSplitter(stream: .stdout)
        var errSplit = LineSplitter(stream: .stderr)
        var outOpen = true, errOpen = true
        var tail = TailKeeper(limit: tailLimit)
        var lineCount = 0
        var stdoutData = Data()
        var exited = false, exitedFlag: Int32 = 0, code: Int32 = 0
        var exitSeenAt: UInt64 = 0
        let bufSize = Self.readSize
        let buf = UnsafeMutablePointer<UInt8>.allocate(capacity: bufSize)
        defer { buf.deallocate() }
        var ready: [OutputBatch] = []
        ready.reserveCapacity(8)
        var fds: [pollfd] = []
        fds.reserveCapacity(3)
        var inputOffset = 0
        let startNanos = self.startNanos
        if inFD >= 0 && pendingInput.isEmpty && !holdStdinOpen { close(inFD); inFD = -1 }
        let empty = UnsafeBufferPointer<UInt8>(start: nil, count: 0)

        while outOpen || errOpen {
            fds.removeAll(keepingCapacity: true)
            if outOpen { fds.append(pollfd(fd: outFD, events: Int16(POLLIN), revents: 0)) }
            if errOpen { fds.append(pollfd(fd: errFD, events: Int16(POLLIN), revents: 0)) }
            if inFD >= 0 && !pendingInput.isEmpty { fds.append(pollfd(fd: inFD, events: Int16(POLLOUT), revents: 0)) }
            let r = poll(&fds, nfds_t(fds.count), 50)
            if r < 0 && errno != EINTR { break }
            for f in fds where f.revents != 0 {
                if f.fd == inFD {
                    if f.revents & Int16(POLLOUT) != 0 {
                        let written = pendingInput.withUnsafeBytes { raw -> Int in
                            write(inFD, raw.baseAddress! + inputOffset, raw.count - inputOffset)
                        }
                        if written > 0 { inputOffset += written }
                        if written < 0 && errno != EAGAIN && errno != EINTR { inputOffset = pendingInput.count }
                    } else {
                        inputOffset = pendingInput.count  // POLLERR/POLLHUP: reader went away
                    }
                    if inputOffset >= pendingInput.count {
                        pendingInput = Data()
                        if !holdStdinOpen { close(inFD); inFD = -1 }
                    }
                    continue
                }
                let isOut = f.fd == outFD
                while true {
                    let got = read(f.fd, buf, bufSize)
                    if got > 0 {
                        let chunk = UnsafeBufferPointer(start: buf, count: got)
                        let t = Double(DispatchTime.now().uptimeNanoseconds - startNanos) / 1e9
                        if isOut && captureStdout {
                            stdoutData.append(chunk)
                        } else if isOut {
                            outSplit.split(chunk, time: t, final: false, into: &ready)
                        } else {
                            errSplit.split(chunk, time: t, final: false, into: &ready)
                        }
                        if got < bufSize { break }
                        continue
                    }
                    if got == 0 || (errno != EAGAIN && errno != EINTR) {
                        let t = Double(DispatchTime.now().uptimeNanoseconds - startNanos) / 1e9
                        if isOut {
                            outOpen = false
                            if !captureStdout { outSplit.split(empty, time: t, final: true, into: &ready) }
                        } else {
                            errOpen = false
                            errSplit.split(empty, time: t, final: true, into: &ready)
                        }
                    }
                    break
                }
            }
            if !ready.isEmpty {
                for b in ready {
                    let kept = filter(b)
                    if kept.isEmpty { continue }
                    lineCount += kept.count
                    tail.add(kept)
                    sink(kept)
                }
                ready.removeAll(keepingCapacity: true)
            }
            if !exited {
                if dj_wait(pid, 1, &exitedFlag, &code) == pid {
                    exited = true
                    lock.lock(); exitObserved = true; lock.unlock()
                    exitSeenAt = DispatchTime.now().uptimeNanoseconds
                    if inFD >= 0 { close(inFD); inFD = -1 }
                }
            } else if r == 0 && DispatchTime.now().uptimeNanoseconds - exitSeenAt > 300_000_000 {
                // The child is gone but a grandchild keeps a pipe open: stop waiting for EOF.
                break
            }
        }
        let t = Double(DispatchTime.now().uptimeNanoseconds - startNanos) / 1e9
        outSplit.split(empty, time: t, final: true, into: &ready)
        errSplit.split(empty, time: t, final: true, into: &ready)
        for b in ready {
            let kept = filter(b)
            if kept.isEmpty { continue }
            lineCount += kept.count
            tail.add(kept)
            sink(kept)
        }
        if inFD >= 0 { close(inFD); inFD = -1 }
        close(outFD)
        close(errFD)
        if !exited {
            _ = dj_wait(pid, 0, &exitedFlag, &code)
        }
        lock.lock()
        finished = true
        lock.unlock()
        return Outcome(exited: exitedFlag != 0, code: code, tail: tail.lines, lineCount: lineCount,
                       stdoutData: stdoutData)
    }

    /// Bytes per `read` (and the pipe size asked for: fewer wake-ups of the writer).
    static let readSize = 1 << 17

    /// Runs `drain` on a new thread and resumes when it is done.
    func drainAsync(filter: @escaping @Sendable (OutputBatch) -> OutputBatch,
                    sink: @escaping @Sendable (OutputBatch) -> Void) async -> Outcome {
        await withCheckedContinuation { (cont: CheckedContinuation<Outcome, Never>) in
            let thread = Thread { [self] in
                let outcome = self.drain(filter: filter, sink: sink)
                cont.resume(returning: outcome)
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }
}

extension ChildProcess.Outcome: @unchecked Sendable {}

/// Calls `body` with a NULL-terminated C array of C strings.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var ptrs: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    ptrs.append(nil)
    defer { for p in ptrs { free(p) } }
    return ptrs.withUnsafeBufferPointer { body($0.baseAddress!) }
}
