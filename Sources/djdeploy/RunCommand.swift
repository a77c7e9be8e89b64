import ArgumentParser
import Foundation
import Stages
import StepRunner
import WizardCore

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the deployment, or resume it where it stopped.",
        discussion: """
        Steps already done are not run again (use --recheck to re-check them: each reports a noop \
        with its reason when nothing needs to change). A step that was interrupted is checked \
        first and applied again only if its result is not already there.
        """
    )

    @OptionGroup var common: CommonOptions

    @Flag(name: [.short, .long], help: "Answer yes to every confirmation; fail instead of asking for a missing input.")
    var yes = false

    @Option(help: ArgumentHelp("Run only this stage.", valueName: "stage"))
    var only: String?

    @Option(help: ArgumentHelp("Run up to and including this stage.", valueName: "stage"))
    var until: String?

    @Flag(help: "Check succeeded steps again and re-apply any whose result is gone (the default when every step has succeeded).")
    var recheck = false

    @Flag(help: "Ask for the sudo password (no echo) before starting; it is kept in memory only.")
    var askSudoPassword = false

    @Option(help: ArgumentHelp("Read the sudo password from this file (must be mode 0600).", valueName: "file"))
    var sudoPasswordFile: String?

    @Flag(name: [.short, .long], help: "Show each step's output as it runs.")
    var verbose = false

    func run() async throws {
        Console.plain = common.plain
        let lang = try common.language
        let session = try common.openSession()
        defer { session.close() }
        var scope = try makeScope(only: only, until: until, session: session, recheck: recheck)
        // Everything in scope already succeeded: a run is a re-check (like Ansible's "ok" run):
        // every step's check runs against the live target and reports its no-op reason, and a
        // result that has gone (a stopped service, an edited file) is put back.
        if !scope.recheckSucceeded && session.state.resumePoint(scope: scope) == nil
            && session.inputActions().isEmpty {
            scope.recheckSucceeded = true
        }
        let target: Target
        do throws(SessionError) { target = try session.requireTarget() } catch { throw fail(error) }
        let missing = session.missingInputs(scope: scope)
        if !missing.isEmpty {
            let names = missing.map { "`\($0.rawValue)` (\($0.label))" }.joined(separator: ", ")
            Console.error("missing input\(missing.count > 1 ? "s" : ""): \(names); add \(missing.count > 1 ? "them" : "it") to the answers file (docs/answers.md)")
            throw ExitCode(DeployExitCode.badInput.rawValue)
        }

        let runner: SystemRunner
        let local: SystemRunner
        do throws(SessionError) {
            runner = try session.makeRunner(target)
            local = target == .local ? runner : try session.makeRunner(.local)
        } catch { throw fail(error) }
        if let password = try readSudoPassword() { runner.setSudoPassword(password) }

        let yes = self.yes
        let verbose = self.verbose
        let printer = EventPrinter(verbose: verbose, lang: lang)
        printer.order = session.state.stepIDs(in: scope)
        let runtime = session.makeRuntime(
            runner: runner, localRunner: local,
            confirm: { id, text in
                if yes { printer.note("confirmed by --yes: \(text)"); return true }
                return Console.confirm("\(id): \(text)\nProceed?")
            },
            events: { printer.handle($0) })

        for action in session.inputActions() {
            let effects = await runtime.send(action)
            if case .rejected(let reason)? = effects.first(where: { if case .rejected = $0 { return true }; return false }) {
                Console.error(reason)
                throw ExitCode(DeployExitCode.badInput.rawValue)
            }
        }

        let state = await runtime.state
        Console.out(Console.bold("djdeploy") + " — profile \(state.profile), target \(target), state \(session.store.path)")
        if let resume = state.resumePoint(scope: scope), let rec = state.step(resume), rec.status == .interrupted {
            Console.out(Console.yellow(L10n.format(.runResuming, lang, resume.rawValue)))
        }

        let reaped = await session.reapOrphans(runner)
        if !reaped.isEmpty {
            printer.note("stopped \(reaped.count) process(es) the interrupted run left on the target (pids \(reaped.map(String.init).joined(separator: " ")))")
        }
        let signals = SignalHandler { sig in
            printer.note(L10n.format(.runSignal, lang, String(sig)))
            Task { await runtime.cancel() }
        }
        let started = Timestamp.now()
        let result = await runtime.run(scope)
        _ = signals
        await runner.shutdown()
        if local !== runner { await local.shutdown() }

        let final = await runtime.state
        let counts = Dictionary(grouping: final.allSteps.filter { final.stepIDs(in: scope).contains($0.id) }, by: \.status)
            .mapValues(\.count)
        let summary = StepStatus.allCases.compactMap { s in
            counts[s].map { L10n.format(.runSummaryCount, lang, String($0), L10n.string(statusKey(s), lang)) }
        }.joined(separator: ", ")
        switch result {
        case .finished(.completed):
            Console.out(Console.green(L10n.format(.runDone, lang, Console.duration(started, .now()), summary)))
        case .finished(.failed(let id)):
            Console.out(Console.red(L10n.format(.runFailedAt, lang, id.rawValue, final.step(id)?.error ?? "")))
            Console.out(L10n.format(.runFailedHint, lang, summary))
            throw ExitCode(DeployExitCode.stepFailed.rawValue)
        case .finished(.cancelled):
            Console.out(Console.yellow(L10n.format(.runInterrupted, lang, summary)))
            throw ExitCode(DeployExitCode.interrupted.rawValue)
        case .rejected(let reason):
            Console.error(reason)
            throw ExitCode(DeployExitCode.badInput.rawValue)
        case .applied:
            Console.out(L10n.string(.runNothingToDo, lang))
        }
    }

    func readSudoPassword() throws -> String? {
        if let file = sudoPasswordFile {
            guard let attrs = try? FileManager.default.attributesOfItem(atPath: file),
                  let mode = attrs[.posixPermissions] as? Int else {
                Console.error("--sudo-password-file: cannot read \(file)")
                throw ExitCode(DeployExitCode.badInput.rawValue)
            }
            guard mode & 0o077 == 0 else {
                Console.error("--sudo-password-file: \(file) is readable by others; chmod 600 it first")
                throw ExitCode(DeployExitCode.badInput.rawValue)
            }
            let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
            return text.hasSuffix("\n") ? String(text.dropLast()) : text
        }
        if askSudoPassword {
            guard let p = getpass("sudo password for the target: ") else { return nil }
            return String(cString: p)
        }
        return nil
    }
}

/// Prints runtime events as plain lines.
final class EventPrinter: @unchecked Sendable {
    let verbose: Bool
    let lang: Language
    private let lock = NSLock()
    private var started: [StepID: Date] = [:]
    /// The steps in scope, in order: "(n/N)" progress on every step line.
    var order: [StepID] = []

    func progress(_ id: StepID) -> String {
        guard let i = order.firstIndex(of: id) else { return "" }
        return Console.dim("(\(i + 1)/\(order.count)) ")
    }

    init(verbose: Bool, lang: Language) {
        self.verbose = verbose
        self.lang = lang
    }

    func note(_ s: String) { Console.out(Console.dim("  · " + s)) }

    func handle(_ event: RuntimeEvent) {
        switch event {
        case .stepStarted(let id, let mode):
            lock.withLock { started[id] = Date() }
            Console.out("\(Console.glyph(.running)) \(progress(id))\(Console.bold(id.rawValue))\(mode == .checkThenApply ? "" : " (apply)")")
        case .stepOutput(_, let line):
            if verbose { Console.out(Console.dim("    │ ") + line) }
        case .stepFinished(let rec):
            let t0 = lock.withLock { started[rec.id] }
            let took = t0.map { String(format: " (%.1f s)", Date().timeIntervalSince($0)) } ?? ""
            switch rec.status {
            case .succeeded:
                if let reason = rec.noopReason {
                    Console.out("\(Console.glyph(.succeeded)) \(rec.id) — \(L10n.format(.runStepNoop, lang, reason))\(took)")
                } else {
                    Console.out("\(Console.glyph(.succeeded)) \(rec.id) — \(L10n.string(.runStepChanged, lang))\(took)")
                }
            case .failed:
                Console.out("\(Console.glyph(.failed)) \(rec.id)\(took) — \(L10n.format(.runStepFailed, lang, rec.error ?? ""))")
                if !verbose { for l in rec.output.suffix(10) { Console.out(Console.dim("    │ ") + l) } }
            case .interrupted:
                Console.out("\(Console.glyph(.interrupted)) \(rec.id) — \(L10n.string(.runStepInterrupted, lang))\(took)")
            default:
                Console.out("\(Console.glyph(rec.status)) \(rec.id) — \(rec.status.rawValue)\(took)")
            }
        case .log(let s):
            note(s)
        case .rejected(let s):
            Console.error(s)
        case .persistFailed(let s):
            Console.error("could not save the state: \(s)")
        case .runFinished:
            break
        }
    }
}

/// The string-table key of a status name.
func statusKey(_ s: StepStatus) -> StringKey {
    switch s {
    case .pending: return .statusPending
    case .running: return .statusRunning
    case .succeeded: return .statusSucceeded
    case .failed: return .statusFailed
    case .skipped: return .statusSkipped
    case .interrupted: return .statusInterrupted
    case .stale: return .statusStale
    }
}
