import Foundation
import StepRunner

/// A two-step deployment for trying the wizard and testing resume (e.g. SIGKILL during step 2):
/// stage `demo`:
/// 1. `demo.hello-file` writes `DIR/hello.txt` (check: its sha256 matches);
/// 2. `demo.slow-command` runs `sleep SECONDS` then creates `DIR/done` (check: `test -e DIR/done`).
/// `DIR` defaults to `$HOME/djdeploy-demo` on the target.
public enum DemoDeployment {
    public static let stage: StageID = "demo"
    public static let helloStep: StepID = "demo.hello-file"
    public static let slowStep: StepID = "demo.slow-command"
    public static let content = "Hello from djdeploy.\nThis file was written by the demo deployment.\n"

    public static func make(directory: String? = nil, sleepSeconds: Int = 3) -> Deployment {
        @Sendable func dir(_ ctx: StepContext) async throws -> String {
            if let directory { return directory }
            let r = try await ctx.run(["sh", "-c", "printf '%s' \"$HOME\""], asRoot: false)
            let home = r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
            guard home.hasPrefix("/") else { throw StepError.other("cannot find the home directory on the target") }
            return home + "/djdeploy-demo"
        }
        let data = Data(content.utf8)
        let hash = SHA256.hex(data)

        let hello = StepDefinition(
            id: helloStep, title: "Write hello.txt", runsOn: .server,
            check: { ctx in
                let path = try await dir(ctx) + "/hello.txt"
                let current = try await ctx.sha256(of: path)
                if current == hash { return .satisfied("\(path) already has the expected content (sha256 \(hash.prefix(12))…)") }
                return .needsChange(current == nil ? "\(path) does not exist" : "\(path) has different content")
            },
            plan: { ctx in
                let d = try await dir(ctx)
                return StepPlan(actions: [
                    .command(Command(["mkdir", "-p", d])),
                    .file(try await ctx.fileChange(d + "/hello.txt", content: data, mode: 0o644)),
                ])
            },
            verify: { ctx in
                let path = try await dir(ctx) + "/hello.txt"
                guard try await ctx.sha256(of: path) == hash else {
                    throw StepError.verificationFailed("\(path) does not have the expected content")
                }
            })

        let slow = StepDefinition(
            id: slowStep, title: "Run a slow command", runsOn: .server,
            check: { ctx in
                let path = try await dir(ctx) + "/done"
                if try await ctx.succeeds(["test", "-e", path]) { return .satisfied("\(path) exists") }
                return .needsChange("\(path) does not exist yet")
            },
            plan: { ctx in
                let d = try await dir(ctx)
                return StepPlan(actions: [
                    .command(Command(["sh", "-c", "sleep \(max(0, sleepSeconds)) && touch \"$1\"", "sh", d + "/done"])),
                ])
            },
            verify: { ctx in
                let path = try await dir(ctx) + "/done"
                guard try await ctx.succeeds(["test", "-e", path]) else {
                    throw StepError.verificationFailed("\(path) was not created")
                }
            })

        return Deployment(stages: [StageDefinition(id: stage, title: "Demo", steps: [hello, slow])])
    }
}
