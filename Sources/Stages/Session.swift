import Foundation
import StepRunner
import WizardCore

/// What the front ends (headless CLI and TUI) share: resolving the profile, the state file and
/// its lock, the answers, the target and runners, and the runtime. No terminal I/O here.
public struct SessionOptions: Sendable {
    public var answersPath: String?
    public var statePath: String?
    public var profile: String?
    public var assetsDirectory: String?
    public var acceptNewHostKey: Bool
    /// Use the two-step demo deployment instead of the real stages.
    public var demo: Bool
    /// Seconds the demo's slow step sleeps (tests).
    public var demoSleepSeconds: Int
    /// Directory of the demo's files on the target (tests; default ~/djdeploy-demo).
    public var demoDirectory: String?

    public init(answersPath: String? = nil, statePath: String? = nil, profile: String? = nil,
                assetsDirectory: String? = nil, acceptNewHostKey: Bool = false, demo: Bool = false,
                demoSleepSeconds: Int = 3) {
        self.demoSleepSeconds = demoSleepSeconds
        self.answersPath = answersPath
        self.statePath = statePath
        self.profile = profile
        self.assetsDirectory = assetsDirectory
        self.acceptNewHostKey = acceptNewHostKey
        self.demo = demo
    }
}

public enum SessionError: Error, Sendable, CustomStringConvertible {
    /// Bad input or usage (exit 2).
    case badInput(String)
    /// The state file is in use (exit 3).
    case locked(String)
    /// Anything else about the state file (exit 2: nothing was changed).
    case state(String)

    public var description: String {
        switch self {
        case .badInput(let s), .locked(let s), .state(let s): return s
        }
    }

    public var exitCode: Int32 {
        switch self {
        case .badInput, .state: return DeployExitCode.badInput.rawValue
        case .locked: return DeployExitCode.locked.rawValue
        }
    }
}

public final class Session: @unchecked Sendable {
    public let options: SessionOptions
    public let deployment: Deployment
    public let store: StateStore
    public let answers: Answers?
    public private(set) var state: WizardState
    /// True when the state file did not exist before this session.
    public let isNew: Bool
    public let transcriptPath: String
    private var lock: StateLock?

    /// Opens (and locks) the state for a profile. `needsTarget`: fail when no target is known.
    public static func open(_ options: SessionOptions, lock takeLock: Bool = true) throws(SessionError) -> Session {
        var answers: Answers?
        if let path = options.answersPath {
            do { answers = try Answers.load(path: path) } catch {
                throw .badInput("\(error)")
            }
        }
        let deployment = options.demo
            ? DemoDeployment.make(directory: options.demoDirectory, sleepSeconds: options.demoSleepSeconds)
            : Stages.deployment(StageEnvironment(assetsDirectory: options.assetsDirectory))

        // The state file: --state, else the profile's default path.
        let statePath: String
        if let p = options.statePath {
            guard p.hasPrefix("/") || !p.isEmpty, !p.contains("\0") else { throw .badInput("--state: invalid path") }
            statePath = p.hasPrefix("/") ? p : FileManager.default.currentDirectoryPath + "/" + p
        } else {
            let profile = try resolveProfile(options, answers: answers)
            do { statePath = try StateStore.defaultPath(profile: profile) } catch { throw .badInput("\(error)") }
        }
        let store = StateStore(path: statePath)
        var lock: StateLock?
        if takeLock {
            do { lock = try store.acquireLock() } catch let e as StateStoreError {
                if case .locked = e { throw .locked(e.description) }
                throw .state(e.description)
            } catch { throw .state("\(error)") }
        }
        let profile = options.profile ?? answers?.effectiveProfile
            ?? ((statePath as NSString).lastPathComponent as NSString).deletingPathExtension
        let existing: WizardState?
        do { existing = try store.load() } catch {
            lock?.release()
            throw .state("\(error)")
        }
        var state = existing ?? WizardState(deployment: deployment, profile: profile,
                                            target: answers?.target, inputs: [:])
        state.reconcile(with: deployment)
        var target = answers?.target ?? state.target
        if options.acceptNewHostKey, case .ssh(var d) = target {
            d.acceptNewHostKey = true
            target = .ssh(d)
        }
        state.target = target
        let transcriptPath = (statePath as NSString).deletingPathExtension + ".transcript.jsonl"
        let s = Session(options: options, deployment: deployment, store: store, answers: answers, state: state,
                        isNew: existing == nil, transcriptPath: transcriptPath)
        s.lock = lock
        return s
    }

    private init(options: SessionOptions, deployment: Deployment, store: StateStore, answers: Answers?,
                 state: WizardState, isNew: Bool, transcriptPath: String) {
        self.options = options
        self.deployment = deployment
        self.store = store
        self.answers = answers
        self.state = state
        self.isNew = isNew
        self.transcriptPath = transcriptPath
    }

    /// --profile, the answers' profile or domain, or the only profile in the state directory.
    static func resolveProfile(_ options: SessionOptions, answers: Answers?) throws(SessionError) -> String {
        if let p = options.profile ?? answers?.effectiveProfile { return p }
        let dir: String
        do { dir = (try StateStore.defaultPath(profile: "x") as NSString).deletingLastPathComponent } catch {
            throw .badInput("\(error)")
        }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .filter { $0.hasSuffix(".json") }.map { ($0 as NSString).deletingPathExtension }.sorted()
        if names.count == 1 { return names[0] }
        if names.isEmpty {
            throw .badInput("no profile yet: give --answers FILE (see docs/answers.md), or --profile NAME / --state PATH")
        }
        throw .badInput("several profiles exist (\(names.joined(separator: ", "))): choose one with --profile NAME")
    }

    /// The target, or a clear error.
    public func requireTarget() throws(SessionError) -> Target {
        guard let t = state.target else {
            throw .badInput("no target: give `target:` in the answers file (local, or host/port/user)")
        }
        return t
    }

    /// Input values from the answers that differ from the state, as actions (changing an input
    /// marks the steps that read it stale).
    public func inputActions(at now: Timestamp = .now()) -> [Action] {
        guard let answers else { return [] }
        var out: [Action] = []
        if let t = answers.target, t != state.target { out.append(.setTarget(t, at: now)) }
        for (k, v) in answers.inputs.sorted(by: { $0.key < $1.key }) where state.inputs[k] != v {
            out.append(.setInput(InputKey(k), v, at: now))
        }
        return out
    }

    /// Inputs that steps in scope read, with neither a value nor a default.
    public func missingInputs(scope: RunScope = .all) -> [InputKey] {
        var seen = Set<InputKey>()
        var out: [InputKey] = []
        var inputs = state.inputs
        for (k, v) in answers?.inputs ?? [:] { inputs[k] = v }
        for id in state.stepIDs(in: scope) {
            guard let def = deployment.step(id) else { continue }
            for k in def.reads where inputs[k.rawValue] == nil && k.isRequired(given: inputs) && !seen.contains(k) {
                seen.insert(k)
                out.append(k)
            }
        }
        return out
    }

    /// A runner for the target, writing the profile's transcript. Its commands are tagged with
    /// this profile and this run (see `reapOrphans`).
    public func makeRunner(_ target: Target) throws(SessionError) -> SystemRunner {
        let transcript: Transcript
        do { transcript = try Transcript(path: transcriptPath) } catch { throw .state("\(error)") }
        let runner = SystemRunner(target: target, transcript: transcript)
        runner.commandTag = ownerTag + "." + runID
        return runner
    }

    /// Identifies this profile's commands on a server: a hash of the state file's path.
    public var ownerTag: String { "dj" + String(SHA256.hex(store.path).prefix(12)) }
    private let runID = String(UInt64.random(in: 0...UInt64.max), radix: 16)

    /// When the last run was killed mid-step (the state shows an interrupted step), commands it
    /// started may still be running on the server (an apt or certbot that nobody stopped). They
    /// are stopped before the step is checked again, so the resumed step does not race them.
    /// Returns the pids stopped.
    public func reapOrphans(_ runner: SystemRunner) async -> [Int] {
        var pids: [Int] = []
        for step in state.allSteps where step.status == .interrupted {
            pids += await runner.reapOrphans(owner: ownerTag, step: step.id.rawValue)
        }
        return pids
    }

    public func makeRuntime(runner: any CommandRunning, localRunner: (any CommandRunning)?,
                            confirm: @escaping @Sendable (StepID, String) async -> Bool,
                            events: @escaping @Sendable (RuntimeEvent) -> Void) -> WizardRuntime {
        WizardRuntime(deployment: deployment, state: state, store: store, runner: runner,
                      localRunner: localRunner, confirm: confirm, events: events)
    }

    /// Saves a state changed outside a runtime (e.g. by `reset`).
    public func save(_ newState: WizardState) throws(SessionError) {
        do { try store.save(newState) } catch { throw .state("\(error)") }
        state = newState
    }

    public func close() {
        lock?.release()
        lock = nil
    }
}
