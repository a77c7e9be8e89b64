import Foundation
import StepRunner
import Testing
@testable import WizardCore

/// (kind, hostile value). Each must be rejected with a message naming the field.
let hostileInputs: [(InputKind, String)] = [
    // domain
    (.domain, ""), (.domain, "-example.com"), (.domain, "example"), (.domain, "exa mple.com"),
    (.domain, "example.com."), (.domain, ".example.com"), (.domain, "a..b.com"), (.domain, "ex_ample.com"),
    (.domain, "exa-.com"), (.domain, "-exa.com"), (.domain, String(repeating: "a", count: 64) + ".com"),
    (.domain, (0 ..< 50).map { _ in "abcde" }.joined(separator: ".") + ".com"), (.domain, "example.com\nx.com"),
    (.domain, "example.com;rm -rf /"), (.domain, "$(id).example.com"), (.domain, "`id`.example.com"),
    (.domain, "1.2.3.4"), (.domain, "exa\u{0}mple.com"), (.domain, "example.com\u{202E}"), (.domain, " example.com"),
    (.domain, "ex\u{1B}[31mample.com"), (.domain, "b\u{fc}cher\u{2603}.example"), (.domain, "example.c/m"),
    // email
    (.email, "admin"), (.email, "admin@@example.com"), (.email, "@example.com"), (.email, "admin@"),
    (.email, "-oProxyCommand=x@example.com"), (.email, "a b@example.com"), (.email, "admin@example"),
    (.email, ".admin@example.com"), (.email, "ad..min@example.com"), (.email, "ad'min@example.com"),
    (.email, "admin@example.com\n"), (.email, "admin@exa$(id)mple.com"),
    // ipv4 / ipv6 / ip
    (.ipv4, "256.1.1.1"), (.ipv4, "1.2.3"), (.ipv4, "01.2.3.4"), (.ipv4, "1.2.3.4.5"), (.ipv4, "1.2.3.-4"),
    (.ipv4, "0x7f.0.0.1"), (.ipv4, "1.2.3.4 "), (.ipv4, "localhost"),
    (.ipv6, "::g"), (.ipv6, "1:2:3:4:5:6:7:8:9"), (.ipv6, "fe80::1%eth0"), (.ipv6, "[::1]"), (.ipv6, "1::2::3"),
    (.ipAddress, "example.com"), (.ipAddress, "-1.2.3.4"), (.ipAddress, "1.2.3.4/32"),
    // cidr
    (.cidr, "10.0.0.0"), (.cidr, "10.0.0.0/33"), (.cidr, "10.0.0.1/8"), (.cidr, "10.0.0.0/08"), (.cidr, "10.0.0.0/-1"),
    (.cidr, "::/129"), (.cidr, "2001:db8::1/32"), (.cidr, "10.0.0.0/8/8"), (.cidr, "x/8"),
    // port
    (.port, "0"), (.port, "65536"), (.port, "-22"), (.port, "+22"), (.port, "022"), (.port, "22a"), (.port, "2 2"),
    (.port, "99999999999999999999999"),
    // unix user
    (.unixUser, "Root"), (.unixUser, "1user"), (.unixUser, "-user"), (.unixUser, "us er"), (.unixUser, "user$"),
    (.unixUser, String(repeating: "a", count: 33)), (.unixUser, "us\u{e9}r"), (.unixUser, "user\n"),
    // absolute path
    (.absolutePath, "relative/path"), (.absolutePath, "/srv/../etc/passwd"), (.absolutePath, "/srv/app\n"),
    (.absolutePath, "/srv/\u{0}app"), (.absolutePath, "~/app"), (.absolutePath, "/srv/.."), (.absolutePath, "-/srv"),
    (.absolutePath, "/" + String(repeating: "a", count: 256)),
    // relative path
    (.relativePath, "/etc/passwd"), (.relativePath, "../requirements.txt"), (.relativePath, "-r"),
    // ssh destination
    (.sshDestination, "-oProxyCommand=sh"), (.sshDestination, "user@-host"), (.sshDestination, "user@host:0"),
    (.sshDestination, "user@host:99999"), (.sshDestination, "us er@host"), (.sshDestination, "user@ho st"),
    (.sshDestination, "user@[::1"), (.sshDestination, "user@host;id"), (.sshDestination, "@host"),
    (.sshDestination, "user@host:22:33"), (.sshDestination, "user@[::1]x"),
    // url
    (.url, "ftp://example.com/dir"), (.url, "https://"), (.url, "https://user:pw@example.com/dir"),
    (.url, "javascript:alert(1)"), (.url, "example.com/dir"), (.url, "https://exa mple.com/"),
    (.url, "https://example.com:0/"), (.url, "-https://example.com"), (.url, "https://ex$ample.com/"),
    (.url, "file:///etc/passwd"),
    // git
    (.gitURL, "--upload-pack=touch /tmp/x"), (.gitURL, "ext::sh -c touch% /tmp/x"), (.gitURL, "file:///etc"),
    (.gitURL, "host:-oProxyCommand=x"),
    // django version, profile, aws
    (.djangoVersion, "4.1"), (.djangoVersion, "5"), (.djangoVersion, "3.2.1"), (.djangoVersion, "latest"),
    (.profileName, "../etc"), (.profileName, ".hidden"), (.profileName, "a/b"),
    (.awsSecurityGroupID, "sg-xyz"), (.awsSecurityGroupID, "0123abcd"), (.awsRegion, "EU-central-1"), (.awsRegion, "eu-central"),
    (.resolver, "127.0.0.53:0"), (.resolver, "dns.google"),
    (.choice(["manual", "aws", "ufw"]), "UFW"), (.integer(0 ... 100), "101"), (.integer(0 ... 100), "-1"),
    (.integer(0 ... 100), "1e2"), (.text, "-rf"), (.text, "a\u{7}b"),
]

@Test func hostileInputsAreRejectedNamingTheField() {
    #expect(hostileInputs.count >= 50)
    for (i, (kind, value)) in hostileInputs.enumerated() {
        let field = "field_\(i)"
        do {
            let v = try Validate.value(value, as: kind, field: field)
            Issue.record("accepted \(Validate.show(value)) as \(kind): \(v)")
        } catch {
            #expect(error.field == field)
            #expect(error.description.hasPrefix("\(field): "), "\(error)")
            #expect(!error.description.contains("\n"), "message must be one line: \(error)")
        }
    }
}

@Test func validInputsAreAcceptedAndNormalized() throws {
    let ok: [(InputKind, String, String)] = [
        (.domain, "Example.COM", "example.com"),
        (.domain, "bücher.example", "xn--bcher-kva.example"),
        (.domain, "www.münchen.de", "www.xn--mnchen-3ya.de"),
        (.domain, "xn--bcher-kva.example", "xn--bcher-kva.example"),
        (.domain, "supersecure.test", "supersecure.test"),
        (.domain, "a-b.c0.example", "a-b.c0.example"),
        (.email, "admin@example.com", "admin@example.com"),
        (.email, "first.last+tag@bücher.example", "first.last+tag@xn--bcher-kva.example"),
        (.ipv4, "203.0.113.10", "203.0.113.10"),
        (.ipv4, "0.0.0.0", "0.0.0.0"),
        (.ipv6, "2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        (.ipAddress, "::1", "::1"),
        (.ipAddress, "127.0.0.1", "127.0.0.1"),
        (.cidr, "203.0.113.0/24", "203.0.113.0/24"),
        (.cidr, "0.0.0.0/0", "0.0.0.0/0"),
        (.cidr, "2001:db8::/32", "2001:db8::/32"),
        (.port, "22", "22"), (.port, "65535", "65535"), (.port, "1", "1"),
        (.unixUser, "django", "django"), (.unixUser, "_svc-1", "_svc-1"),
        (.absolutePath, "/srv/app", "/srv/app"), (.absolutePath, "/home/u/my app", "/home/u/my app"),
        (.relativePath, "requirements/prod.txt", "requirements/prod.txt"),
        (.sshDestination, "deploy@203.0.113.10:2222", "deploy@203.0.113.10:2222"),
        (.sshDestination, "myserver", "myserver"),
        (.sshDestination, "deploy@[2001:db8::1]:22", "deploy@[2001:db8::1]:22"),
        (.url, "https://acme-v02.api.letsencrypt.org/directory", "https://acme-v02.api.letsencrypt.org/directory"),
        (.url, "https://127.0.0.1:14000/dir", "https://127.0.0.1:14000/dir"),
        (.url, "http://localhost:4001/", "http://localhost:4001/"),
        (.gitURL, "https://github.com/user/project.git", "https://github.com/user/project.git"),
        (.gitURL, "git@github.com:user/project.git", "git@github.com:user/project.git"),
        (.djangoVersion, "4.2", "4.2"),
        (.resolver, "127.0.0.53", "127.0.0.53"), (.resolver, "127.0.0.53:5353", "127.0.0.53:5353"),
        (.resolver, "[::1]:53", "[::1]:53"),
        (.awsSecurityGroupID, "sg-0123456789abcdef0", "sg-0123456789abcdef0"),
        (.awsRegion, "eu-central-1", "eu-central-1"), (.awsRegion, "us-gov-west-1", "us-gov-west-1"),
        (.profileName, "example.com", "example.com"),
        (.integer(0 ... 63_072_000), "2592000", "2592000"),
    ]
    for (kind, input, expected) in ok {
        let v = try Validate.value(input, as: kind, field: "f")
        #expect(v == expected, "\(kind) \(input)")
        // normalized values validate to themselves
        #expect(try Validate.value(v, as: kind, field: "f") == v)
    }
    let d = try Validate.sshDestination("deploy@host.example:2222", field: "target")
    #expect(d.user == "deploy" && d.host == "host.example" && d.port == 2222)
}

@Test func domainLengthLimits() throws {
    let label63 = String(repeating: "a", count: 63)
    #expect(try Validate.domain(label63 + ".com", field: "domain") == label63 + ".com")
    // 253 characters exactly is fine, 254 is not
    let name253 = [String](repeating: label63, count: 3).joined(separator: ".") + "." + String(repeating: "b", count: 61)
    #expect(name253.count == 253)
    #expect(try Validate.domain(name253, field: "domain") == name253)
    #expect(throws: ValidationError.self) { try Validate.domain(name253 + "b", field: "domain") }
}

@Test func messagesNameTheField() {
    #expect(throws: ValidationError(field: "domain", message: "needs at least two labels, like example.com: \"localhost\"")) {
        try Validate.domain("localhost", field: "domain")
    }
    do { _ = try Validate.cidr("10.0.0.1/8", field: "operator_cidr") } catch {
        #expect(error.description == "operator_cidr: has host bits set; did you mean 10.0.0.0/8?")
    }
    do { _ = try InputKey.email.validate("-x@example.com") } catch {
        #expect(error.description.hasPrefix("email: must not start with '-'"))
    }
}

@Test func punycodeRFC3492Examples() {
    #expect(Punycode.encode("bücher") == "bcher-kva")
    #expect(Punycode.encode("münchen") == "mnchen-3ya")
    #expect(Punycode.encode("ü") == "tda")
    // RFC 3492 7.1 (A) Arabic (Egyptian) and (B) Chinese (simplified)
    #expect(Punycode.encode("\u{0644}\u{064A}\u{0647}\u{0645}\u{0627}\u{0628}\u{062A}\u{0643}\u{0644}\u{0645}\u{0648}\u{0634}\u{0639}\u{0631}\u{0628}\u{064A}\u{061F}") == "egbpdaj6bu4bxfgehfvwxn")
    #expect(Punycode.encode("\u{4ED6}\u{4EEC}\u{4E3A}\u{4EC0}\u{4E48}\u{4E0D}\u{8BF4}\u{4E2D}\u{6587}") == "ihqwcrb4cv8a8dqg056pqjye")
    // (L) 3<nen>B<gumi><kinpachi><sensei>
    #expect(Punycode.encode("3\u{5E74}B\u{7D44}\u{91D1}\u{516B}\u{5148}\u{751F}") == "3B-ww4c5e180e575a65lsy2b")
    #expect(Punycode.encode("abc") == "abc-")
}

@Test func sha256KnownVectors() {
    #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(SHA256.hex(String(repeating: "a", count: 1000)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
}
