import Foundation
import StepRunner
import WizardCore

/// apt, pyinfra-style: ask dpkg which packages are missing and install only those (naming an
/// installed package would upgrade it). `apt-get update` runs only when something is missing,
/// and at most once per runner (one run of the wizard).
enum Apt {
    private static let updated = Locked(Set<ObjectIdentifier>())

    /// The packages of `names` that are not installed (`dpkg-query -W -f='${Status}'`).
    static func missing(_ ctx: StepContext, _ names: [String]) async throws -> [String] {
        var out: [String] = []
        for n in names {
            let r = try await ctx.run(Command(["dpkg-query", "-W", "-f=${Status}", n], asRoot: false), allowFailure: true)
            if !(r.succeeded && r.stdoutText.trimmed.hasSuffix("install ok installed")) { out.append(n) }
        }
        return out
    }

    static func needsUpdate(_ ctx: StepContext) -> Bool {
        !updated.value.contains(ObjectIdentifier(ctx.runner as AnyObject))
    }

    static func markUpdated(_ ctx: StepContext) {
        updated.withValue { _ = $0.insert(ObjectIdentifier(ctx.runner as AnyObject)) }
    }

    static let updateArgv = ["apt-get", "-q", "-o", "DPkg::Lock::Timeout=300", "update"]

    /// The install command. With `preventServiceStart`, a temporary `/usr/sbin/policy-rc.d`
    /// (exit 101) keeps the packages' maintainer scripts from starting their daemons with the stock
    /// configuration (only when no policy-rc.d exists; removed afterwards, even on failure).
    static func installCommand(_ packages: [String], preventServiceStart: Bool) -> Command {
        let script = """
        set -u
        created=
        if [ "$1" = yes ] && [ ! -e /usr/sbin/policy-rc.d ]; then
          trap 'rm -f /usr/sbin/policy-rc.d' EXIT INT TERM HUP
          printf '#!/bin/sh\\n# djdeploy: do not start daemons while installing\\nexit 101\\n' > /usr/sbin/policy-rc.d
          chmod 0755 /usr/sbin/policy-rc.d
          created=1
        fi
        shift
        # An install that was killed half-way (e.g. the wizard died mid-step) leaves dpkg
        # "interrupted"; apt refuses to go on until it is finished.
        if [ -n "$(ls -A /var/lib/dpkg/updates 2>/dev/null)" ]; then
          DEBIAN_FRONTEND=noninteractive dpkg --force-confdef --force-confold --configure -a || true
        fi
        DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=300 \\
          -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \\
          install --no-install-recommends "$@"
        """
        return Command(["sh", "-c", script, "sh", preventServiceStart ? "yes" : "no"] + packages,
                       environment: ["DEBIAN_FRONTEND": "noninteractive"], asRoot: true,
                       timeout: .seconds(900))
    }

    /// The plan for `packages` (empty when all are installed).
    static func plan(_ ctx: StepContext, _ packages: [String], preventServiceStart: Bool = false) async throws -> StepPlan {
        let miss = try await missing(ctx, packages)
        guard !miss.isEmpty else { return StepPlan() }
        var actions: [PlannedAction] = []
        if needsUpdate(ctx) {
            actions.append(.command(Command(updateArgv, environment: ["DEBIAN_FRONTEND": "noninteractive"], asRoot: true,
                                            timeout: .seconds(600))))
        }
        actions.append(.command(installCommand(miss, preventServiceStart: preventServiceStart)))
        var notes = ["install the missing packages: \(miss.joined(separator: " "))"]
        if preventServiceStart { notes.append("a temporary /usr/sbin/policy-rc.d keeps them from starting with the stock configuration") }
        return StepPlan(actions: actions, notes: notes)
    }

    /// Executes an apt plan, remembering that `apt-get update` ran.
    static func execute(_ ctx: StepContext, _ plan: StepPlan) async throws {
        for c in plan.commands {
            try await ctx.run(c)
            if c.argv == updateArgv { markUpdated(ctx) }
        }
    }

    /// A step that installs `packages` when missing.
    static func step(id: StepID, title: String, packages: [String], preventServiceStart: Bool = false) -> StepDefinition {
        StepDefinition(
            id: id, title: title, needsRoot: true,
            check: { ctx in
                let miss = try await missing(ctx, packages)
                return miss.isEmpty
                    ? .satisfied("installed: \(packages.joined(separator: ", "))")
                    : .needsChange("not installed: \(miss.joined(separator: ", "))")
            },
            plan: { ctx in try await plan(ctx, packages, preventServiceStart: preventServiceStart) },
            apply: { ctx in try await execute(ctx, try await plan(ctx, packages, preventServiceStart: preventServiceStart)) },
            verify: { ctx in
                let miss = try await missing(ctx, packages)
                guard miss.isEmpty else { throw StepError.verificationFailed("still not installed: \(miss.joined(separator: ", "))") }
            })
    }
}
