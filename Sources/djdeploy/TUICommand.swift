import ArgumentParser
import Foundation
import Stages
import WizardCore

#if canImport(Glibc)
import Glibc
#endif

struct TUICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tui",
        abstract: "Open the terminal wizard (the default)."
    )

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let term = ProcessInfo.processInfo.environment["TERM"] ?? ""
        guard isatty(STDIN_FILENO) != 0, isatty(STDOUT_FILENO) != 0, !term.isEmpty, term != "dumb" else {
            Console.error("the wizard needs a terminal (TERM=\(term.isEmpty ? "unset" : term)); without one, use `djdeploy run --answers FILE --yes` (see `djdeploy run --help`)")
            throw ExitCode(DeployExitCode.badInput.rawValue)
        }
        Console.error("the terminal wizard is not wired to the core yet; use `djdeploy run` (see `djdeploy --help`)")
        throw ExitCode(DeployExitCode.badInput.rawValue)
    }
}
