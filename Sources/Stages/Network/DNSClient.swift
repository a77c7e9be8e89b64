import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A minimal DNS client: one A query over UDP straight to a resolver (never /etc/hosts, never
/// the libc resolver), so the wizard sees what the world's resolvers see.
public enum DNSClient {
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case badResolver(String)
        case timeout(String)
        case socket(String)
        case malformed(String)
        /// The resolver answered with an error code (3 = NXDOMAIN, 5 = REFUSED, ...).
        case rcode(Int, String)

        public var description: String {
            switch self {
            case .badResolver(let s): return "invalid resolver address \(s)"
            case .timeout(let s): return "no answer from \(s)"
            case .socket(let s): return "network error: \(s)"
            case .malformed(let s): return "malformed DNS answer: \(s)"
            case .rcode(let c, let name):
                let what = [1: "format error", 2: "server failure", 3: "no such name (NXDOMAIN)", 5: "refused"][c] ?? "error \(c)"
                return "\(name): \(what)"
            }
        }
    }

    /// The first nameserver in /etc/resolv.conf (the system's resolver), or 127.0.0.1.
    public static func systemResolver() -> String {
        let text = (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if f.count >= 2, f[0] == "nameserver" { return String(f[1]) }
        }
        return "127.0.0.1"
    }

    /// The IPv4 addresses of `name` (an empty array when the name exists without A records).
    public static func resolveA(_ name: String, resolver: String, port: UInt16 = 53, timeout: Double = 3) throws -> [String] {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        guard inet_pton(AF_INET, resolver, &addr.sin_addr) == 1 else { throw Failure.badResolver(resolver) }
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw Failure.socket(String(cString: strerror(errno))) }
        defer { close(fd) }
        let id = UInt16.random(in: 0...UInt16.max)
        let query = try makeQuery(name, id: id)
        let sent = query.withUnsafeBytes { raw in
            withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard sent == query.count else { throw Failure.socket(String(cString: strerror(errno))) }
        let deadline = Date().addingTimeInterval(timeout)
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { throw Failure.timeout("\(resolver):\(port)") }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let r = poll(&pfd, 1, Int32(left * 1000))
            if r < 0 && errno == EINTR { continue }
            if r <= 0 { throw Failure.timeout("\(resolver):\(port)") }
            let n = recv(fd, &buf, buf.count, 0)
            if n < 0 { throw Failure.socket(String(cString: strerror(errno))) }
            let msg = Array(buf[0..<n])
            guard msg.count >= 12, UInt16(msg[0]) << 8 | UInt16(msg[1]) == id else { continue }  // not ours
            return try parseAnswer(msg, name: name)
        }
    }

    static func makeQuery(_ name: String, id: UInt16) throws -> [UInt8] {
        var q: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in name.split(separator: ".") {
            let bytes = Array(label.utf8)
            guard !bytes.isEmpty, bytes.count <= 63 else { throw Failure.malformed("bad name \(name)") }
            q.append(UInt8(bytes.count))
            q += bytes
        }
        q += [0, 0, 1, 0, 1]  // root, QTYPE A, QCLASS IN
        return q
    }

    static func parseAnswer(_ m: [UInt8], name: String) throws -> [String] {
        func u16(_ i: Int) throws -> Int {
            guard i + 1 < m.count else { throw Failure.malformed("truncated") }
            return Int(m[i]) << 8 | Int(m[i + 1])
        }
        func skipName(_ start: Int) throws -> Int {
            var i = start
            while true {
                guard i < m.count else { throw Failure.malformed("truncated name") }
                let len = Int(m[i])
                if len == 0 { return i + 1 }
                if len & 0xC0 == 0xC0 { return i + 2 }
                i += 1 + len
            }
        }
        let rcode = Int(m[3] & 0x0F)
        if rcode != 0 { throw Failure.rcode(rcode, name) }
        let qd = try u16(4), an = try u16(6)
        var i = 12
        for _ in 0..<qd { i = try skipName(i) + 4 }
        var out: [String] = []
        for _ in 0..<an {
            i = try skipName(i)
            let type = try u16(i), rdlen = try u16(i + 8)
            i += 10
            guard i + rdlen <= m.count else { throw Failure.malformed("truncated record") }
            if type == 1 && rdlen == 4 {
                out.append("\(m[i]).\(m[i + 1]).\(m[i + 2]).\(m[i + 3])")
            }
            i += rdlen
        }
        return out
    }
}
