import ArgumentParser
import Foundation
import Stages
import StepRunner
import WizardCore
import WizardTUI

#if canImport(Glibc)
import Glibc
#endif

struct TUICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tui",
        abstract: "Open the terminal wizard (the default).",
        discussion: """
        The first run needs --answers FILE (at least the target and the domain; see \
        docs/answers.md); later runs find the profile's state and resume where it stopped. \
        Keys: `?` in the wizard, or docs/tui.md.
        """
    )

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let lang = try common.language
        if let reason = TUIEnvironment.currentUnsupportedReason(language: lang) {
            var r = Substring(reason)
            for prefix in ["djdeploy: ", "djdeploy："] where r.hasPrefix(prefix) { r = r.dropFirst(prefix.count) }
            Console.error(String(r))
            throw ExitCode(DeployExitCode.badInput.rawValue)
        }
        Console.plain = common.plain
        let strings = Strings(lang)
        let session = try common.openSession()
        defer { session.close() }

        // First run without answers: there is no target to deploy to yet.
        guard session.state.target != nil else {
            if common.training {
                // Training needs a server: point at the practice sandbox (it needs root and
                // changes this machine, so the learner runs it, not the wizard).
                Console.error(strings(.trainNoServerTitle, "sudo djdeploy sandbox up --answers-out sandbox.yaml",
                                      "djdeploy --training --answers sandbox.yaml"))
            } else {
                Console.error(strings[.errorFirstRunNeedsAnswers])
            }
            throw ExitCode(DeployExitCode.badInput.rawValue)
        }
        let target: Target
        do throws(SessionError) { target = try session.requireTarget() } catch { throw fail(error) }
        let runner: SystemRunner
        let local: SystemRunner
        do throws(SessionError) {
            runner = try session.makeRunner(target)
            local = target == .local ? runner : try session.makeRunner(.local)
        } catch { throw fail(error) }
        // What a killed run left running on the target is stopped before the wizard resumes.
        _ = await session.reapOrphans(runner)

        let (status, message) = await runWizardTUI(session: session, runner: runner, localRunner: local, plain: common.plain,
                                                   language: lang, training: common.training,
                                                   initialActions: session.inputActions())
        await runner.shutdown()
        if local !== runner { await local.shutdown() }
        // Not Console.error: after SIGHUP the terminal is gone, and FileHandle traps on EIO.
        if let message { writeStderr("djdeploy: " + message + "\n") }
        if status != 0 { throw ExitCode(status) }
    }
}

/// Writes to stderr, ignoring errors (the terminal may be gone).
private func writeStderr(_ s: String) { Console.rawWrite(STDERR_FILENO, s) }
