import ArgumentParser
import Foundation
import Stages
import WizardCore

struct ResetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "Mark the steps of a stage (or of every stage) pending again.",
        discussion: "Nothing on the server changes; the next run checks each step again and applies what is missing."
    )

    @OptionGroup var common: CommonOptions

    @Argument(help: ArgumentHelp("The stage to reset (default: every stage).", valueName: "stage"))
    var stage: String?

    @Flag(name: [.short, .long], help: "Do not ask for confirmation.")
    var yes = false

    func run() async throws {
        Console.plain = common.plain
        let session = try common.openSession()
        defer { session.close() }
        _ = try makeScope(only: stage, until: nil, session: session)
        let what = stage.map { "the steps of stage \($0)" } ?? "every step of profile \(session.state.profile)"
        if !yes {
            guard Console.confirm("Mark \(what) pending again?") else {
                Console.out("nothing changed")
                return
            }
        }
        var state = session.state
        let effects = reduce(&state, .reset(stage.map { StageID($0) }, at: .now()))
        if case .rejected(let reason)? = effects.first(where: { if case .rejected = $0 { return true }; return false }) {
            Console.error(reason)
            throw ExitCode(DeployExitCode.badInput.rawValue)
        }
        do throws(SessionError) { try session.save(state) } catch { throw fail(error) }
        Console.out("reset \(what)")
    }
}
