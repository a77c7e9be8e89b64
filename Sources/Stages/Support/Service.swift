import Foundation
import StepRunner
import WizardCore

/// Service control: systemd when `/run/systemd/system` exists on the target, otherwise the
/// `service` wrapper (sysvinit scripts). Fact: `service nginx reload` on a stopped nginx exits 0
/// and does nothing, so "running" is a fact read first (pidfile + live process), then start or
/// reload.
enum ServiceControl {
    static func isRunning(_ ctx: StepContext, name: String, systemd: Bool, pidFile: String) async throws -> Bool {
        if systemd {
            return try await ctx.succeeds(["systemctl", "is-active", "--quiet", name], asRoot: false)
        }
        // `service NAME status` trusts /proc/PID, which a zombie still has: read the pidfile ourselves
        return try await Facts.livePID(ctx, pidFile: pidFile) != nil
    }

    /// Start when stopped, reload when running.
    static func startOrReload(name: String, running: Bool, systemd: Bool) -> Command {
        if systemd {
            return Command(["systemctl", running ? "reload" : "start", name], asRoot: true, timeout: .seconds(120))
        }
        return Command(["service", name, running ? "reload" : "start"], asRoot: true, timeout: .seconds(120))
    }

    static func enable(name: String) -> Command {
        Command(["systemctl", "enable", name], asRoot: true, timeout: .seconds(60))
    }
}
