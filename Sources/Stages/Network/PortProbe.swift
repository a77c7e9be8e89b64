import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Probes a TCP port from the operator's machine. "Refused" means the packets reached the host
/// (the firewall lets them through, nothing listens yet); a timeout means something drops them.
public enum PortProbe {
    public enum Result: String, Sendable, Equatable {
        case open
        case refused
        case filtered
        case error

        /// Whether the firewall lets the port through.
        public var passesFirewall: Bool { self == .open || self == .refused }
    }

    public static func probe(host: String, port: Int, timeout: Double = 3) -> Result {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &res) == 0, let ai = res else { return .error }
        defer { freeaddrinfo(res) }
        let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, ai.pointee.ai_protocol)
        guard fd >= 0 else { return .error }
        defer { close(fd) }
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        let rc = connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen)
        if rc == 0 { return .open }
        if errno == ECONNREFUSED { return .refused }
        guard errno == EINPROGRESS else { return .error }
        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let r = poll(&pfd, 1, Int32(timeout * 1000))
        if r <= 0 { return .filtered }
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
        if err == 0 { return .open }
        if err == ECONNREFUSED { return .refused }
        if err == ETIMEDOUT || err == EHOSTUNREACH || err == ENETUNREACH { return .filtered }
        return .error
    }
}
