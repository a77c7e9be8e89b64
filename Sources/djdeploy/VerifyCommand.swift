import ArgumentParser
import Foundation
import Stages
import StepRunner
import WizardCore

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Grade the live site: HTTP redirects, security headers, TLS, nginx, Django, ports.",
        discussion: """
        Looks at the site from this machine (curl and openssl, sent straight to the server IP) \
        and at the server from the inside (nginx -t/-T, manage.py check --deploy, certbot renew \
        --dry-run), then grades it like securityheaders.com and SSL Labs (rules: docs/grading.md). \
        Nothing is changed. Exit code 0 only when the grade is A or better and no check failed; \
        1 otherwise; 2 for bad input.
        """
    )

    @OptionGroup var common: CommonOptions

    @Option(help: ArgumentHelp("Also write the report as JSON to this file.", valueName: "file"))
    var json: String?

    @Option(help: ArgumentHelp("Also write the report as Markdown to this file.", valueName: "file"))
    var markdown: String?

    @Option(help: ArgumentHelp("Verify the certificate chain against this PEM file instead of the system trust store (e.g. pebble's root in tests).", valueName: "pem"))
    var caFile: String?

    @Flag(help: "Skip `certbot renew --dry-run` on the server (the slowest check).")
    var noRenewal = false

    @Flag(help: "Only the checks made from this machine (no SSH to the server).")
    var outsideOnly = false

    @Option(help: .hidden) var httpPort: Int = 80
    @Option(help: .hidden) var httpsPort: Int = 443
    @Option(help: .hidden) var appPort: Int = 8000
    @Option(help: .hidden) var nginxConf: String?
    @Option(help: .hidden) var page: String?
    @Option(help: .hidden) var staticPath: String?

    func run() async throws {
        Console.plain = common.plain
        let session = try common.openSession(lock: false)
        defer { session.close() }
        var inputs = session.state.inputs
        for (k, v) in session.answers?.inputs ?? [:] { inputs[k] = v }
        if let ca = caFile, !FileManager.default.isReadableFile(atPath: ca) {
            Console.error("--ca-file: cannot read \(ca)")
            throw ExitCode(DeployExitCode.badInput.rawValue)
        }
        var options: VerifyOptions
        do { options = try VerifyOptions(inputs: inputs, caFile: caFile) } catch {
            Console.error("\(error); add it to the answers file (docs/answers.md)")
            throw ExitCode(DeployExitCode.badInput.rawValue)
        }
        options.httpPort = httpPort
        options.httpsPort = httpsPort
        options.appPort = appPort
        options.nginxConfigFile = nginxConf
        if let page { options.pagePath = page }
        if let staticPath { options.staticPath = staticPath }
        options.checkRenewal = !noRenewal
        options.serverChecks = !outsideOnly

        let target: Target
        let server: SystemRunner?
        let local: SystemRunner
        do throws(SessionError) {
            target = try session.requireTarget()
            server = outsideOnly ? nil : try session.makeRunner(target)
            local = target == .local && server != nil ? server! : try session.makeRunner(.local)
        } catch { throw fail(error) }

        let ctx = server.map { StepContext(stepID: "verify.report", runner: $0, inputs: inputs, needsRoot: true) }
        let verifier = Verifier(options: options, local: local, server: ctx,
                                log: { Console.out(Console.dim("  · " + $0)) })
        Console.out(Console.bold("verify") + " \(options.domain) at \(options.serverIP) (target \(target)) — nothing will be changed")
        let report: VerifyReport
        do { report = try await verifier.run() } catch {
            await server?.shutdown()
            if local !== server { await local.shutdown() }
            Console.error("verification could not run: \(error)")
            throw ExitCode(DeployExitCode.stepFailed.rawValue)
        }
        await server?.shutdown()
        if local !== server { await local.shutdown() }

        Console.out("")
        let fancy = !common.plain
        for (i, line) in report.table(width: 110, mark: { r in
            switch r {
            case .pass: return Console.green("PASS")
            case .warn: return Console.yellow("WARN")
            case .fail: return Console.red("FAIL")
            }
        }).enumerated() {
            if i < 5 && fancy {
                Console.out(report.succeeded ? Console.green(Console.bold(line)) : Console.red(Console.bold(line)))
            } else {
                Console.out(line)
            }
        }
        do {
            if let json { try report.json().write(to: URL(fileURLWithPath: json)) }
            if let markdown { try report.markdown().write(toFile: markdown, atomically: true, encoding: .utf8) }
        } catch {
            Console.error("could not write the report: \(error)")
            throw ExitCode(DeployExitCode.badInput.rawValue)
        }
        Console.out("")
        Console.out("grade \(report.overall.grade): \(report.checks.filter { $0.result == .pass }.count) passed, \(report.warned.count) warned, \(report.failed.count) failed"
                    + (report.succeeded ? "" : " — not done: the grade must be A or better with no failed check"))
        if !report.succeeded { throw ExitCode(DeployExitCode.stepFailed.rawValue) }
    }
}
