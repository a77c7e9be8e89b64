import Foundation
import StepRunner
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Faults that need no deployed server: hostile inputs end to end, and a full disk.
@Suite struct HostileInputTests {
    /// (answers key as YAML, value) pairs; every one must be rejected naming its field.
    static let cases: [(field: String, yaml: String)] = {
        var c: [(String, String)] = []
        let domains = ["'; rm -rf /'", "$(id).example.com", "`id`.example.com", "exa mple.com", "-example.com",
                       "example..com", "../etc/passwd", "example.com\\nwww", "a_b.example.com", String(repeating: "a", count: 64) + ".com",
                       String(repeating: "a.", count: 130) + "com", "example", "ex\\u0000ample.com", "*.example.com", "example.com;",
                       "éxample.com\\u202e", "http://example.com", "example.com:80", "ex|ample.com", "\\u0435xample.com."]
        for d in domains { c.append(("domain", "domain: \"\(d)\"")) }
        let emails = ["not-an-email", "a@", "@example.com", "a b@example.com", "a@example.com\\nBcc: x@y.z", "-a@example.com",
                      "a@$(id).com", "a@exa mple.com"]
        for e in emails { c.append(("email", "email: \"\(e)\"")) }
        let ips = ["999.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.4; id", "localhost", "-1.2.3.4", "::g", "1.2.3.4/33"]
        for i in ips { c.append(("server_ip", "server_ip: \"\(i)\"")) }
        let users = ["Root", "-u", "a b", "user;id", "$(id)", String(repeating: "a", count: 40), "9user", "../x"]
        for u in users { c.append(("app_user", "app_user: \"\(u)\"")) }
        let urls = ["ftp://example.com/dir", "javascript:alert(1)", "https://", "https://exa mple.com/dir", "-https://x.y/dir",
                    "https://example.com/\\n"]
        for u in urls { c.append(("acme_server", "acme_server: \"\(u)\"")) }
        let versions = ["1.11", "3.2; id", "latest", "-3.2"]
        for v in versions { c.append(("django_version", "django_version: \"\(v)\"")) }
        let resolvers = ["1.2.3.4; id", "resolver.example.com", "1.2.3.4:99999"]
        for r in resolvers { c.append(("dns_resolver", "dns_resolver: \"\(r)\"")) }
        let paths = ["relative/path", "/etc/../root", "/tmp/a\\nb", "-/x"]
        for p in paths { c.append(("app.path", "app:\n  path: \"\(p)\"")) }
        c.append(("hsts_final_seconds", "hsts_final_seconds: -5"))
        c.append(("hsts_final_seconds", "hsts_final_seconds: \"1; id\""))
        c.append(("target.port", "target:\n  host: 127.0.0.1\n  port: 70000"))
        c.append(("target.host", "target:\n  host: \"-oProxyCommand=id\""))
        c.append(("target.user", "target:\n  host: 127.0.0.1\n  user: \"root;id\""))
        return c
    }()

    @Test func everyHostileValueIsRejectedNamingItsField() async throws {
        #expect(Self.cases.count >= 50)
        let dir = scratchDir()
        let state = dir + "/s.json"
        // A valid state file first: it must stay byte-for-byte unchanged.
        try "target: local\ndomain: example.com\n".write(toFile: dir + "/ok.yaml", atomically: true, encoding: .utf8)
        let first = try await CLI.run(["run", "--demo", "--answers", dir + "/ok.yaml", "--state", state, "--only", "demo", "--yes", "--demo-sleep", "0"],
                                      env: ["HOME": dir])
        #expect(first.code == 0, "\(first.all)")
        let before = try Data(contentsOf: URL(fileURLWithPath: state))
        var rejected = 0
        for (i, c) in Self.cases.enumerated() {
            let base = c.yaml.hasPrefix("target:") ? "domain: example.com\n" : "target: local\n" + (c.field == "domain" ? "" : "domain: example.com\n")
            let file = dir + "/bad\(i).yaml"
            try (base + c.yaml + "\n").write(toFile: file, atomically: true, encoding: .utf8)
            let out = try await CLI.run(["run", "--demo", "--answers", file, "--state", state, "--yes"], env: ["HOME": dir])
            let fieldWord = c.field.split(separator: ".").last.map(String.init) ?? c.field
            #expect(out.code == 2, "accepted \(c.field) = \(c.yaml)")
            #expect(out.stderr.contains(fieldWord) || out.stderr.contains(c.field), "message does not name \(c.field): \(out.stderr)")
            if out.code == 2 { rejected += 1 }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: state)) == before, "the state file changed")
        // The demo's files were written once by the valid run; nothing else ran on the target.
        print("hostile inputs rejected: \(rejected) of \(Self.cases.count)")
        // Through the command line too.
        for bad in ["../x", "a b", "-x", "x;y", String(repeating: "p", count: 300)] {
            let out = try await CLI.run(["status", "--profile", bad], env: ["HOME": dir])
            #expect(out.code == 2, "--profile \(bad) accepted")
            #expect(out.stderr.contains("profile"))
        }
    }
}

@Suite(.serialized, .enabled(if: getuid() == 0, "needs root to mount a small tmpfs"))
struct DiskFullTests {
    @Test func stateSaveFailsClearlyAndThePreviousFileIsIntact() async throws {
        let dir = scratchDir()
        let mnt = dir + "/small"
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        let runner = SystemRunner(target: .local)
        let m = try await runner.run(Command(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt]))
        #expect(m.succeeded, "\(m.stderrText)")
        defer { Task { _ = try? await SystemRunner(target: .local).run(Command(["umount", "-l", mnt])) } }
        let state = mnt + "/s.json"
        try "target: local\ndomain: example.com\n".write(toFile: dir + "/a.yaml", atomically: true, encoding: .utf8)
        let ok = try await CLI.run(["run", "--demo", "--demo-sleep", "0", "--answers", dir + "/a.yaml", "--state", state, "--yes"],
                                   env: ["HOME": dir])
        #expect(ok.code == 0, "\(ok.all)")
        let before = try Data(contentsOf: URL(fileURLWithPath: state))
        // Fill the file system.
        _ = try await runner.run(Command(["dd", "if=/dev/zero", "of=\(mnt)/filler", "bs=4k", "count=1000"]))
        let out = try await CLI.run(["run", "--demo", "--demo-sleep", "0", "--answers", dir + "/a.yaml", "--state", state, "--yes", "--recheck"],
                                    env: ["HOME": dir])
        #expect(out.code != 0)
        #expect(out.all.contains("No space left on device"), "\(out.all)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: state)) == before, "the state file changed")
        #expect(readJSON(state) != nil)
        // Free the space: the next run works and the state moves on.
        try FileManager.default.removeItem(atPath: mnt + "/filler")
        let again = try await CLI.run(["run", "--demo", "--demo-sleep", "0", "--answers", dir + "/a.yaml", "--state", state, "--yes", "--recheck"],
                                      env: ["HOME": dir])
        #expect(again.code == 0, "\(again.all)")
    }
}
