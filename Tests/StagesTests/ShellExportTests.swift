import Foundation
import Testing
import WizardCore
@testable import Stages

/// `djdeploy export --format sh`: every wizard step is in the script, the script is valid bash
/// and shellcheck-clean, and the site file it writes is the wizard's template, byte for byte.
/// (The real run — fresh server → A+ → second run changes nothing — is Tests/e2e/export-sh-e2e.sh.)
@Suite struct ShellExportTests {
    static let answersText = """
    target:
      host: 127.0.0.1
      port: 2222
      user: djdeploy
    domain: example.test
    email: admin@example.test
    server_ip: 203.0.113.10
    operator_cidr: 198.51.100.7/32
    app: sample
    """

    func answers(_ extra: String = "") throws -> Answers { try Answers.parse(Self.answersText + "\n" + extra) }

    @Test func everyWizardStepIsInTheScript() throws {
        let script = try Export.shellScript(answers: try answers())
        let ids = Stages.deployment().stages.flatMap(\.steps).map(\.id.rawValue)
        #expect(ids.count > 40)
        for id in ids {
            #expect(script.contains("\n# --- step \(id): "), "step \(id) is missing from the script")
        }
        // and every stage has its section, in the wizard's order
        var last = script.startIndex
        for stage in Stages.order {
            guard let r = script.range(of: "\n# Stage \(stage.rawValue): ", range: last ..< script.endIndex) else {
                Issue.record("stage \(stage) is missing or out of order"); return
            }
            last = r.upperBound
        }
    }

    @Test func inputsAreVariablesAndNoSecretIsEmbedded() throws {
        let script = try Export.shellScript(answers: try answers())
        #expect(script.contains("\nDOMAIN=${DOMAIN:-example.test}"))
        #expect(script.contains("\nAPP_USER=${APP_USER:-django}"))
        // paths are built from the variables, not from the values
        #expect(script.contains("\"/etc/nginx/sites-available/${DOMAIN}\""))
        #expect(!script.contains("/etc/nginx/sites-available/example.test"))
        #expect(script.contains("secrets.token_hex(40)"))
        #expect(script.firstMatch(of: /SECRET_KEY *= *['"][A-Za-z0-9]{20,}/) == nil)
    }

    @Test func bashAcceptsItAndShellcheckFindsNothing() throws {
        let script = try Export.shellScript(answers: try answers())
        let path = NSTemporaryDirectory() + "djdeploy-export-\(getpid()).sh"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try run(["bash", "-n", path]).status == 0)
        guard let sc = which("shellcheck") else {
            // CI installs shellcheck (scripts/test); there a missing linter is a failure
            #expect(ProcessInfo.processInfo.environment["DJDEPLOY_TEST_CI"] == nil, "shellcheck is not installed")
            return
        }
        let r = try run([sc, "--severity=style", path])
        #expect(r.status == 0, "shellcheck: \(r.output)")
    }

    /// The bash that renders the site file (from facts) prints exactly what the wizard's mustache
    /// rendering prints for the same facts.
    @Test(arguments: [
        (staticRoot: false, cert: false, recorded: ""),
        (staticRoot: true, cert: false, recorded: ""),
        (staticRoot: true, cert: true, recorded: ""),
        (staticRoot: true, cert: true, recorded: "redirect"),
        (staticRoot: true, cert: true, recorded: "headers redirect"),
    ])
    func siteFileMatchesTheWizardsTemplate(_ c: (staticRoot: Bool, cert: Bool, recorded: String)) throws {
        let inputs = StepExports.Inputs(values: ["domain": "example.test", "app_user": "django"], sshPort: 22)
        let exportLayout = try StepExports.layout(inputs)
        let tasks = try StepExports.siteTasks(exportLayout, adding: [], templates: TemplateSource())
        guard case .file(_, let content, _, _, _, _, _)? = tasks.first else { Issue.record("no file task"); return }
        var out = ShellExport.Out()
        ShellExport.content(content, to: "/dev/stdout", &out)
        // facts answered by the test instead of the target
        let recorded = Set(c.recorded.split(separator: " ").map(String.init))
        var fake = "DOMAIN=example.test\nAPP_USER=django\n"
        for f in content.facts where !f.isCombination {
            let yes: Bool
            switch f.name {
            case "static_root_exists": yes = c.staticRoot
            case "certificate_exists": yes = c.cert
            case "nginx_reject_handshake": yes = true
            case "site_has_redirect": yes = recorded.contains("redirect")
            case "site_has_headers": yes = recorded.contains("headers")
            default: Issue.record("unexpected fact \(f.name)"); return
            }
            fake += "fact_\(f.name)() { return \(yes ? 0 : 1); }\n"
        }
        var body = out.text
        for f in content.facts where !f.isCombination {
            body = body.replacingOccurrences(of: "if \(ShellExport.factTest(f)); then", with: "if fact_\(f.name); then")
        }
        let r = try run(["bash", "-c", fake + body])
        #expect(r.status == 0, "\(r.output)")

        let state = SiteFeatures.State(recorded: Set(recorded.compactMap(SiteFeature.init(rawValue:))), tls: c.cert,
                                       nginxVersion: [1, 22, 1])
        var context = NginxStage.siteContext(AppLayout(user: "django", group: "django", home: "/home/django", domain: "example.test", djangoVersion: "3.2"), static: c.staticRoot)
        context.merge(SiteFeatures.context(state, adding: [], domain: "example.test")) { _, new in new }
        let want = try TemplateSource().render("nginx/site.conf", context)
        #expect(r.output == want)
    }

    @Test func ownProjectsAreRefusedClearly() throws {
        let own = try Answers.parse(Self.answersText.replacingOccurrences(of: "app: sample", with: "app:\n  path: /srv/mysite"))
        #expect(throws: ExportError.self) { try Export.shellScript(answers: own) }
        do { _ = try Export.shellScript(answers: own) } catch {
            #expect("\(error)".contains("sample app"))
        }
    }

    @Test func templateTreeParsesTheSubsetAndRejectsTheRest() throws {
        let nodes = try TemplateTree.parse("a {{{x}}}\n{{#f}}\nb\n{{/f}}\n", name: "t")
        #expect(nodes == [.line([.text("a "), .value("x")]), .section(name: "f", inverted: false, body: [.line([.text("b")])])])
        #expect(throws: ExportError.self) { try TemplateTree.parse("daemon = {{#d}}True{{/d}}\n", name: "t") }
        #expect(throws: ExportError.self) { try TemplateTree.parse("{{#f}}\nb\n", name: "t") }
    }

    // MARK: helpers

    struct Ran { var status: Int32; var output: String }

    func run(_ argv: [String]) throws -> Ran {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0].hasPrefix("/") ? argv[0] : "/usr/bin/env")
        p.arguments = argv[0].hasPrefix("/") ? Array(argv.dropFirst()) : argv
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Ran(status: p.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    func which(_ name: String) -> String? {
        for dir in ["/usr/bin", "/bin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
            return "\(dir)/\(name)"
        }
        return nil
    }
}
