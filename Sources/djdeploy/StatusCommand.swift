import ArgumentParser
import Foundation
import Stages
import WizardCore

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show stages and steps with their statuses, times, and where a resume would start."
    )

    @OptionGroup var common: CommonOptions

    func run() async throws {
        Console.plain = common.plain
        let session = try common.openSession(lock: false)
        defer { session.close() }
        let state = session.state
        Console.out(Console.bold("profile \(state.profile)") + " — target \(state.target?.description ?? "(none)")")
        Console.out("state file \(session.store.path)\(session.isNew ? " (not created yet)" : ", updated \(state.updatedAt.iso8601)")")
        for stage in state.stages {
            Console.out("\(Console.glyph(stage.status)) \(Console.bold(stage.id.rawValue)) \(Console.dim(stage.title))")
            for step in stage.steps {
                var line = "    \(Console.glyph(step.status)) \(step.id.rawValue) \(step.status.rawValue)"
                let took = Console.duration(step.startedAt, step.endedAt)
                if !took.isEmpty { line += " (\(took))" }
                if let r = step.noopReason { line += Console.dim(" — \(r)") }
                if let e = step.error, step.status != .succeeded { line += " — " + e }
                Console.out(line)
            }
        }
        if let resume = state.resumePoint() {
            Console.out("a run would start at \(Console.bold(resume.rawValue)) (\(state.step(resume)?.status.rawValue ?? ""))")
        } else {
            Console.out("every step has succeeded or was skipped; `djdeploy run --recheck` checks them again")
        }
    }
}
