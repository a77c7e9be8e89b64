import Foundation

/// Replaces secret values by `[REDACTED]`. Shared by the transcript and everything shown on screen.
public final class Redactor: @unchecked Sendable {
    public static let mask = "[REDACTED]"
    private let lock = NSLock()
    private var secrets: [String] = []

    public init(_ secrets: [String] = []) {
        for s in secrets { add(s) }
    }

    public func add(_ secret: String) {
        // Even a very short secret is registered: over-redacting is the safe direction.
        guard !secret.isEmpty else { return }
        lock.lock()
        if !secrets.contains(secret) {
            secrets.append(secret)
            secrets.sort { $0.count > $1.count }
        }
        lock.unlock()
    }

    /// The registered secrets (a snapshot).
    var snapshot: [String] {
        lock.lock(); defer { lock.unlock() }
        return secrets
    }

    public var isEmpty: Bool {
        lock.lock(); defer { lock.unlock() }
        return secrets.isEmpty
    }

    public func redact(_ text: String, extra: [String] = []) -> String {
        lock.lock()
        var all = secrets
        lock.unlock()
        if !extra.isEmpty { all += extra.filter { !$0.isEmpty }; all.sort { $0.count > $1.count } }
        guard !all.isEmpty else { return text }
        var out = text
        for s in all where out.contains(s) {
            out = out.replacingOccurrences(of: s, with: Self.mask)
        }
        return out
    }
}
