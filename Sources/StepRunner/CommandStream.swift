import Foundation

/// A running command whose output is consumed as an `AsyncSequence` of lines.
public struct CommandStream: Sendable {
    public let lines: LineSequence
    let task: Task<CommandResult, Error>

    /// The command's result, once it has ended.
    public func result() async throws -> CommandResult { try await task.value }

    /// Stops the command and its whole process tree (also on the server).
    public func cancel() { task.cancel() }
}

/// Output lines in order. Memory is bounded: the producer blocks when `capacity` lines wait.
public struct LineSequence: AsyncSequence, Sendable {
    public typealias Element = OutputLine
    let channel: LineChannel

    public struct AsyncIterator: AsyncIteratorProtocol {
        let channel: LineChannel
        var batch: [OutputLine] = []
        var index = 0

        public mutating func next() async -> OutputLine? {
            if index < batch.count {
                defer { index += 1 }
                return batch[index]
            }
            guard let next = await channel.take() else { return nil }
            batch = next
            index = 1
            return batch[0]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(channel: channel) }
}

/// A bounded hand-off between the reader thread (blocking producer) and an async consumer.
/// Lines move in batches, so the per-line cost is an array append.
final class LineChannel: @unchecked Sendable {
    private let cond = NSCondition()
    private var pending: [OutputLine] = []
    private var finished = false
    private var waiter: CheckedContinuation<[OutputLine]?, Never>?
    let capacity: Int

    init(capacity: Int) { self.capacity = max(capacity, 1) }

    /// Called on the reader thread; blocks while the consumer is `capacity` lines behind.
    func push(_ lines: [OutputLine]) {
        cond.lock()
        while pending.count >= capacity && !finished && waiter == nil {
            cond.wait()
        }
        if let w = waiter {
            waiter = nil
            let batch = pending + lines
            pending = []
            cond.unlock()
            w.resume(returning: batch)
            return
        }
        pending += lines
        cond.unlock()
    }

    func finish() {
        cond.lock()
        finished = true
        let w = waiter
        waiter = nil
        let rest = pending
        pending = []
        cond.broadcast()
        cond.unlock()
        if let w { w.resume(returning: rest.isEmpty ? nil : rest) } else if !rest.isEmpty {
            cond.lock(); pending = rest; cond.unlock()
        }
    }

    func take() async -> [OutputLine]? {
        await withCheckedContinuation { (c: CheckedContinuation<[OutputLine]?, Never>) in
            cond.lock()
            if !pending.isEmpty {
                let batch = pending
                pending = []
                cond.broadcast()
                cond.unlock()
                c.resume(returning: batch)
            } else if finished {
                cond.unlock()
                c.resume(returning: nil)
            } else {
                waiter = c
                cond.broadcast()
                cond.unlock()
            }
        }
    }
}
