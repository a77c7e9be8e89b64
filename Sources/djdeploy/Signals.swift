import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// SIGINT / SIGTERM / SIGHUP as events: the first one asks the running step to stop (on the
/// server too) so the state records it as interrupted; a second SIGINT exits at once.
final class SignalHandler: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private let lock = NSLock()
    private var count = 0

    init(_ onSignal: @escaping @Sendable (Int32) -> Void) {
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            src.setEventHandler { [weak self] in
                guard let self else { return }
                let n: Int = self.lock.withLock { self.count += 1; return self.count }
                if n >= 2 && sig == SIGINT {
                    FileHandle.standardError.write(Data("djdeploy: interrupted again; exiting now\n".utf8))
                    exit(130)
                }
                onSignal(sig)
            }
            src.resume()
            sources.append(src)
        }
    }
}
