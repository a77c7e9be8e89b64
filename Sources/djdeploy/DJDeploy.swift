import ArgumentParser
import Foundation

@main
struct DJDeploy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "djdeploy",
        abstract: "Deploy a Django app behind Gunicorn and Nginx with HTTPS, one stage at a time.",
        discussion: """
        With no subcommand, djdeploy opens the terminal wizard. Everything else works without a \
        terminal. A deployment can be stopped at any moment (Ctrl-C, a lost connection, a kill) \
        and resumes where it stopped: the state lives in a JSON file per profile \
        ($XDG_STATE_HOME/djdeploy/<profile>.json).

        Exit codes: 0 done, 1 a step failed, 2 bad input or usage, 3 the state is in use by \
        another djdeploy, 130 interrupted.
        """,
        subcommands: [TUICommand.self, RunCommand.self, PlanCommand.self, StatusCommand.self,
                      ResetCommand.self, LogCommand.self, VerifyCommand.self, SandboxCommand.self, ExportCommand.self],
        defaultSubcommand: TUICommand.self
    )

    /// Like the default entry point, but usage errors exit 2 (the documented "bad input or
    /// usage"), not ArgumentParser's 64.
    static func main() async {
        // A closed output pipe must not kill a deployment mid-step: write errors are ignored.
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                let message = fullMessage(for: error)
                FileHandle.standardError.write(Data((message.hasSuffix("\n") ? message : message + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
