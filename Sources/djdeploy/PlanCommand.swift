import ArgumentParser
import Foundation
import Stages
import StepRunner
import WizardCore

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show every command and file diff a run would make, changing nothing.",
        discussion: "Computed from live facts on the target, like `ansible-playbook --check --diff`. Succeeded steps are checked too."
    )

    @OptionGroup var common: CommonOptions

    @Option(help: ArgumentHelp("Plan only this stage.", valueName: "stage"))
    var only: String?

    @Option(help: ArgumentHelp("Plan up to and including this stage.", valueName: "stage"))
    var until: String?

    func run() async throws {
        Console.plain = common.plain
        let session = try common.openSession(lock: false)
        defer { session.close() }
        let scope = try makeScope(only: only, until: until, session: session)
        let target: Target
        let runner: SystemRunner
        do throws(SessionError) {
            target = try session.requireTarget()
            runner = try session.makeRunner(target)
        } catch { throw fail(error) }
        // A throw-away runtime with no store: nothing is persisted.
        var state = session.state
        for action in session.inputActions() { _ = reduce(&state, action) }
        let runtime = WizardRuntime(deployment: session.deployment, state: state, store: nil, runner: runner,
                                    localRunner: target == .local ? runner : SystemRunner(target: .local))
        Console.out(Console.bold("plan") + " for profile \(state.profile), target \(target) — nothing will be changed")
        let entries = await runtime.plan(scope)
        await runner.shutdown()
        var changes = 0, errors = 0
        for e in entries {
            if let err = e.error {
                errors += 1
                Console.out("\(Console.glyph(.failed)) \(e.step) — cannot check: \(err)")
                continue
            }
            switch e.check {
            case .satisfied(let reason)?:
                Console.out("\(Console.glyph(.succeeded)) \(e.step) — no change: \(reason)")
            case .needsChange(let reason)?:
                changes += 1
                Console.out("\(Console.yellow("~")) \(e.step) — will change: \(reason)")
                if let plan = e.plan {
                    for line in plan.rendered().split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
                        let s = String(line)
                        let colored = s.hasPrefix("+") && !s.hasPrefix("+++") ? Console.green(s)
                            : s.hasPrefix("-") && !s.hasPrefix("---") ? Console.red(s) : s
                        Console.out("    " + colored)
                    }
                }
            case nil:
                Console.out("? \(e.step)")
            }
        }
        Console.out("\(entries.count) steps: \(changes) would change, \(entries.count - changes - errors) no change\(errors > 0 ? ", \(errors) could not be checked" : "")")
        if errors > 0 { throw ExitCode(DeployExitCode.stepFailed.rawValue) }
    }
}
