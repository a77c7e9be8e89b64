import Foundation
import StepRunner
import Testing
@testable import WizardCore

func parseProblems(_ yaml: String) -> [AnswersError.Problem] {
    do {
        _ = try Answers.parse(yaml, file: "a.yaml", home: "/home/me")
        Issue.record("parsed without error: \(yaml)")
        return []
    } catch let e as AnswersError {
        return e.problems
    } catch {
        Issue.record("unexpected error \(error)")
        return []
    }
}

@Test func fullExampleParses() throws {
    let yaml = """
    target:
      host: 203.0.113.10
      port: 2222
      user: deploy
      identity_file: ~/.ssh/id_ed25519
      known_hosts_file: /etc/ssh/known
      accept_new_host_key: true
    profile: prod
    domain: Bücher.example
    email: admin@bücher.example
    server_ip: 203.0.113.10
    app:
      git: https://github.com/you/project.git
      requirements: req/prod.txt
    django_version: 4.2
    acme_server: https://127.0.0.1:14000/dir
    dns_resolver: 127.0.0.53
    operator_cidr: 198.51.100.0/24
    firewall:
      provider: aws
      security_group_id: sg-0123456789abcdef0
      region: eu-central-1
      endpoint_url: http://127.0.0.1:5000
    hsts_final_seconds: 2592000
    app_user: django
    """
    let a = try Answers.parse(yaml, home: "/home/me")
    #expect(a.target == .ssh(SSHDestination(host: "203.0.113.10", port: 2222, user: "deploy",
                                            identityFile: "/home/me/.ssh/id_ed25519", knownHostsFile: "/etc/ssh/known",
                                            acceptNewHostKey: true)))
    #expect(a.profile == "prod")
    #expect(a.inputs == [
        "domain": "xn--bcher-kva.example", "email": "admin@xn--bcher-kva.example", "server_ip": "203.0.113.10",
        "app_source": "git", "app_git": "https://github.com/you/project.git", "app_requirements": "req/prod.txt",
        "django_version": "4.2", "acme_server": "https://127.0.0.1:14000/dir", "dns_resolver": "127.0.0.53",
        "operator_cidr": "198.51.100.0/24", "firewall_provider": "aws", "aws_security_group_id": "sg-0123456789abcdef0",
        "aws_region": "eu-central-1", "aws_endpoint_url": "http://127.0.0.1:5000", "hsts_final_seconds": "2592000",
        "app_user": "django",
    ])
    // every input the answers give is accepted by the reducer as is
    var s = sampleState()
    for action in a.actions(at: t(1)) { #expect(reduce(&s, action).allSatisfy { $0 == .persist }) }
    #expect(s.invariantViolations() == [])
    #expect(s.target == a.target)
    #expect(s.inputs.count == a.inputs.count)
}

@Test func jsonAndMinimalAnswers() throws {
    let a = try Answers.parse(#"{"target": "local", "domain": "example.com", "app": "sample", "firewall": {"provider": "ufw"}}"#)
    #expect(a.target == .local)
    #expect(a.effectiveProfile == "example.com")
    #expect(a[.appSource] == "sample" && a[.firewallProvider] == "ufw")
    #expect(a.missing([.domain, .email, .djangoVersion]) == [.email])
    let b = try Answers.parse("domain: example.com\nemail: ~\napp:\n  path: /srv/proj\n")
    #expect(b.inputs == ["domain": "example.com", "app_source": "path", "app_path": "/srv/proj"])
    #expect(b.target == nil)
}

@Test func unknownKeysAreErrorsWithSuggestions() {
    let p1 = parseProblems("domian: example.com\n")
    #expect(p1.map(\.message) == ["unknown key `domian`; did you mean `domain`?"])
    #expect(p1.first?.line == 1)
    let p2 = parseProblems("domain: example.com\ntarget:\n  hots: example.com\n  host: example.com\n")
    #expect(p2.map(\.message) == ["unknown key `target.hots`; did you mean `target.host`?"])
    #expect(p2.first?.line == 3 && p2.first?.column == 3)
    let p3 = parseProblems("firewall:\n  provider: aws\n  region: eu-west-1\n  security_group: sg-01234567\n")
    #expect(p3.contains { $0.message == "unknown key `firewall.security_group`; did you mean `firewall.security_group_id`?" })
    #expect(p3.contains { $0.message == "firewall.security_group_id: is required with provider aws" })
    let p4 = parseProblems("app:\n  pth: /srv\n")
    #expect(p4.map(\.message).contains("unknown key `app.pth`; did you mean `app.path`?"))
    let p5 = parseProblems("completely_unrelated_thing: 1\n")
    #expect(p5.first?.message.hasPrefix("unknown key `completely_unrelated_thing`; known keys here: target, profile, domain") == true)
    let p6 = parseProblems("hsts_final_second: 30\n")
    #expect(p6.map(\.message) == ["unknown key `hsts_final_second`; did you mean `hsts_final_seconds`?"])
}

@Test func badValuesNameTheKeyAndAllAreReported() {
    let p = parseProblems("""
    domain: -example.com
    email: nope
    server_ip: 300.1.1.1
    django_version: "4.1"
    acme_server: ftp://x.example
    dns_resolver: resolver.example
    hsts_final_seconds: -5
    app_user: Root
    target:
      host: "-oProxyCommand=sh"
      port: 70000
      identity_file: relative/key
      accept_new_host_key: maybe
    app: mine
    firewall:
      provider: iptables
    """)
    let messages = p.map(\.message)
    for prefix in ["domain:", "email:", "server_ip:", "django_version:", "acme_server:", "dns_resolver:", "hsts_final_seconds:",
                   "app_user:", "target.host:", "target.port:", "target.identity_file:", "target.accept_new_host_key:", "app:",
                   "firewall.provider:"] {
        #expect(messages.contains { $0.hasPrefix(prefix) }, "no message for \(prefix): \(messages)")
    }
    #expect(p.allSatisfy { $0.line != nil })
}

@Test func structuralErrors() {
    #expect(parseProblems("- a\n- b\n").first?.message == "the top level must be a mapping of keys to values")
    #expect(parseProblems("domain: [a, b]\n").first?.message == "domain: must be a single value, not a list or mapping")
    #expect(parseProblems("app:\n  path: /srv\n  git: https://x.example/r.git\n").map(\.message) == ["app: give either `path` or `git`, not both"])
    #expect(parseProblems("target:\n  port: 22\n").map(\.message) == ["target.host: is required when target is a mapping"])
    #expect(parseProblems("firewall:\n  provider: ufw\n  region: eu-west-1\n").map(\.message) == ["firewall.region: is only used with provider aws"])
    #expect(parseProblems("domain: a.example\ndomain: b.example\n").first?.message.contains("duplicated key(s): 'domain'") == true)
    #expect(parseProblems("domain: [unclosed\n").first?.message.hasPrefix("not valid YAML/JSON") == true)
    let err = AnswersError(file: "f.yaml", problems: [.init(line: 3, column: 1, message: "m")])
    #expect(err.description == "f.yaml:3:1: m")
}

@Test func docsExampleParsesAndDocumentsEveryKey() throws {
    let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/answers.md")
    let text = try String(contentsOf: docs, encoding: .utf8)
    let start = try #require(text.range(of: "```yaml\n"))
    let end = try #require(text.range(of: "```", range: start.upperBound ..< text.endIndex))
    let yaml = String(text[start.upperBound ..< end.lowerBound])
    let a = try Answers.parse(yaml, file: "docs/answers.md", home: "/home/me")
    #expect(a[.domain] == "supersecure.codes")
    #expect(a.profile == "supersecure")
    if case .ssh(let d) = a.target { #expect(d.identityFile == "/home/me/.ssh/id_ed25519") } else { Issue.record("target") }
    for key in Answers.topLevelKeys { #expect(text.contains("| `\(key)` |"), "docs lack \(key)") }
    for key in Answers.targetKeys { #expect(text.contains("| `target.\(key)` |"), "docs lack target.\(key)") }
    for key in Answers.appKeys { #expect(text.contains("| `app.\(key)` |"), "docs lack app.\(key)") }
    for key in Answers.firewallKeys { #expect(text.contains("| `firewall.\(key)` |"), "docs lack firewall.\(key)") }
    for code in DeployExitCode.allCases { #expect(text.contains("| \(code.rawValue) |")) }
}

@Test func closestKeySuggestions() {
    #expect(closest("emial", in: Answers.topLevelKeys) == "email")
    #expect(closest("serverip", in: Answers.topLevelKeys) == "server_ip")
    #expect(closest("DOMAIN", in: Answers.topLevelKeys) == "domain")
    #expect(closest("zzzzzzzz", in: Answers.topLevelKeys) == nil)
    #expect(levenshtein("kitten", "sitting") == 3)
}
