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
    /// dedicated thread. `hook` may rewrite a line or return false to drop it; `sink` receives
    /// each batch of kept lines in order.
    func drain(hook: (inout OutputLine) -> Bool, sink: ([OutputLine]) -> Void) -> Outcome {
        var outPartial: [UInt8] = []
        var errPartial: [UInt8] = []
        var outOpen = true, errOpen = true
        var tail = Ring(capacity: tailLimit)
        var lineCount = 0
        var stdoutData = Data()
        var exited = false, exitedFlag: Int32 = 0, code: Int32 = 0
        var exitSeenAt: UInt64 = 0
        let bufSize = 1 << 16
        let buf = UnsafeMutablePointer<UInt8>.allocate(capacity: bufSize)
        defer { buf.deallocate() }
        var batch: [OutputLine] = []
        batch.reserveCapacity(512)
        var inputOffset = 0
        if inFD >= 0 && pendingInput.isEmpty && !holdStdinOpen { close(inFD); inFD = -1 }

        func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds - startNanos) / 1e9 }

        func emit(_ bytes: UnsafeBufferPointer<UInt8>, _ stream: OutputStreamKind, _ t: Double) {
            var text = String(decoding: bytes, as: UTF8.self)
            if text.utf8.last == 13 { text.removeLast() }
            var line = OutputLine(stream: stream, text: text, time: t)
            lineCount += 1
            guard hook(&line) else { lineCount -= 1; return }
            tail.append(line)
            batch.append(line)
        }

        func split(_ partial: inout [UInt8], _ data: UnsafeBufferPointer<UInt8>, _ stream: OutputStreamKind, final: Bool) {
            let t = now()
            var start = 0
            let n = data.count
            guard let base = data.baseAddress, n > 0 else {
                if final && !partial.isEmpty {
                    partial.withUnsafeBufferPointer { emit($0, stream, t) }
                    partial.removeAll(keepingCapacity: true)
                }
                return
            }
            while start < n {
                guard let p = memchr(base + start, 10, n - start) else { break }
                let idx = base.distance(to: p.assumingMemoryBound(to: UInt8.self))
                if partial.isEmpty {
                    emit(UnsafeBufferPointer(start: base + start, count: idx - start), stream, t)
                } else {
                    partial.append(contentsOf: UnsafeBufferPointer(start: base + start, count: idx - start))
                    partial.withUnsafeBufferPointer { emit($0, stream, t) }
                    partial.removeAll(keepingCapacity: true)
                }
                start = idx + 1
            }
            if start < n { partial.append(contentsOf: UnsafeBufferPointer(start: base + start, count: n - start)) }
            // Bound a single line's memory: split pathological lines at 64 KiB.
            if partial.count >= 1 << 16 || (final && !partial.isEmpty) {
                partial.withUnsafeBufferPointer { emit($0, stream, t) }
                partial.removeAll(keepingCapacity: true)
            }
        }

        while outOpen || errOpen {
            var fds: [pollfd] = []
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
                        if isOut && captureStdout {
                            stdoutData.append(chunk)
                        } else if isOut {
                            split(&outPartial, chunk, .stdout, final: false)
                        } else {
                            split(&errPartial, chunk, .stderr, final: false)
                        }
                        if got < bufSize { break }
                        continue
                    }
                    if got == 0 || (errno != EAGAIN && errno != EINTR) {
                        let empty = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
                        if isOut {
                            outOpen = false
                            if !captureStdout { split(&outPartial, empty, .stdout, final: true) }
                        } else {
                            errOpen = false
                            split(&errPartial, empty, .stderr, final: true)
                        }
                    }
                    break
                }
            }
            if !batch.isEmpty {
                sink(batch)
                batch.removeAll(keepingCapacity: true)
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
        let empty = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
        split(&outPartial, empty, .stdout, final: true)
        split(&errPartial, empty, .stderr, final: true)
        if !batch.isEmpty { sink(batch) }
        if inFD >= 0 { close(inFD); inFD = -1 }
        close(outFD)
        close(errFD)
        if !exited {
            _ = dj_wait(pid, 0, &exitedFlag, &code)
        }
        lock.lock()
        finished = true
        lock.unlock()
        return Outcome(exited: exitedFlag != 0, code: code, tail: tail.elements, lineCount: lineCount,
                       stdoutData: stdoutData)
    }

    /// Runs `drain` on a new thread and resumes when it is done.
    func drainAsync(hook: @escaping @Sendable (inout OutputLine) -> Bool,
                    sink: @escaping @Sendable ([OutputLine]) -> Void) async -> Outcome {
        await withCheckedContinuation { (cont: CheckedContinuation<Outcome, Never>) in
            let thread = Thread { [self] in
                let outcome = self.drain(hook: hook, sink: sink)
                cont.resume(returning: outcome)
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }
}

extension ChildProcess.Outcome: @unchecked Sendable {}

/// A fixed-capacity ring of the most recent lines.
struct Ring {
    private var storage: [OutputLine] = []
    private var head = 0
    let capacity: Int
    init(capacity: Int) { self.capacity = max(capacity, 0) }
    mutating func append(_ line: OutputLine) {
        guard capacity > 0 else { return }
        if storage.count < capacity {
            storage.append(line)
        } else {
            storage[head] = line
            head = (head + 1) % capacity
        }
    }
    var elements: [OutputLine] {
        storage.count < capacity ? storage : Array(storage[head...] + storage[..<head])
    }
}

/// Calls `body` with a NULL-terminated C array of C strings.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var ptrs: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    ptrs.append(nil)
    defer { for p in ptrs { free(p) } }
    return ptrs.withUnsafeBufferPointer { body($0.baseAddress!) }
}
