import ArgumentParser
import Foundation
import Stages
import WizardCore

/// Options every subcommand takes.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Answers file (YAML or JSON); see docs/answers.md.", valueName: "file"))
    var answers: String?

    @Option(name: .long, help: ArgumentHelp("State file (default: $XDG_STATE_HOME/djdeploy/<profile>.json).", valueName: "path"))
    var state: String?

    @Option(name: .long, help: ArgumentHelp("Profile name (default: the answers' profile or domain).", valueName: "name"))
    var profile: String?

    @Option(name: .long, help: ArgumentHelp("Read templates and lessons from this directory instead of the built-in copy.", valueName: "dir"))
    var assetsDir: String?

    @Flag(name: .long, help: "Trust an SSH host key seen for the first time (StrictHostKeyChecking=accept-new).")
    var acceptNewHostKey = false

    @Flag(name: .long, help: "ASCII only, no colour.")
    var plain = false

    @Option(name: .long, help: ArgumentHelp("Language of the wizard: en or zh (default: from LC_ALL / LC_MESSAGES / LANG).", valueName: "lang"))
    var lang: String?

    @Flag(name: .long, help: "Training mode (the wizard): each step shows its lesson excerpt and its exact commands before it runs; Enter runs it, t lets you type the command yourself.")
    var training = false

    @Flag(name: .long, help: .hidden)
    var demo = false

    @Option(name: .long, help: .hidden)
    var demoSleep = 3

    @Option(name: .long, help: .hidden)
    var demoDir: String?

    /// The language: --lang, else the locale.
    var language: Language {
        get throws {
            guard let lang else { return Language.detect() }
            guard let l = Language(flag: lang) else {
                Console.error(L10n.format(.errorUnknownLanguage, Language.detect(), lang))
                throw ExitCode(DeployExitCode.badInput.rawValue)
            }
            return l
        }
    }

    var sessionOptions: SessionOptions {
        var o = SessionOptions(answersPath: answers, statePath: state, profile: profile, assetsDirectory: assetsDir,
                               acceptNewHostKey: acceptNewHostKey, demo: demo, demoSleepSeconds: demoSleep)
        o.demoDirectory = demoDir
        return o
    }

    /// Opens the session, or prints the error and exits with its code.
    func openSession(lock: Bool = true) throws -> Session {
        let result: Result<Session, SessionError> = Result { () throws(SessionError) -> Session in
            try Session.open(sessionOptions, lock: lock)
        }
        switch result {
        case .success(let s): return s
        case .failure(let e): throw fail(e)
        }
    }
}

/// Prints a session error and returns the exit code to throw.
func fail(_ e: SessionError) -> ExitCode {
    Console.error(e.description)
    return ExitCode(e.exitCode)
}

extension CommonOptions {
}

/// Parses `--only` / `--until` into a scope, checking the stage names.
func makeScope(only: String?, until: String?, session: Session, recheck: Bool = false) throws -> RunScope {
    let known = session.state.stages.map(\.id.rawValue)
    for name in [only, until].compactMap({ $0 }) where !known.contains(name) {
        let hint = Answers.closest(name, in: known).map { " (did you mean \($0)?)" } ?? ""
        Console.error("unknown stage \(name.debugDescription)\(hint); stages: \(known.joined(separator: ", "))")
        throw ExitCode(DeployExitCode.badInput.rawValue)
    }
    return RunScope(only: only.map { StageID($0) }, until: until.map { StageID($0) }, recheckSucceeded: recheck)
}
