import Foundation
import StepRunner
import WizardCore

/// The last stage: grade the live site (see `Verifier`, docs/grading.md). It fails when the
/// overall grade is below A or a check failed, so a deployment is "done" only when the site
/// really is.
///
/// The step runs on the server's runner (nginx -t/-T, manage.py, certbot) and starts its own
/// local runner for the operator-side checks (curl, openssl, port probes): a step context holds
/// one runner, and only the server's can reach the server.
public enum VerifyStage {
    public static let id: StageID = "verify"
    public static let stepID: StepID = "verify.report"
    /// The operator-side CA file for the chain check (tests: pebble's root), when no answers key
    /// carries it.
    public static let caFileEnvironment = "DJDEPLOY_VERIFY_CA_FILE"
    /// An answers/inputs key for the CA file, once WizardCore knows it.
    static let caFileInput: InputKey = "verify_ca_file"

    public static func make(_ env: StageEnvironment) -> StageDefinition {
        StageDefinition(id: id, title: "Verification report", steps: [step()])
    }

    // acme_server is optional (certbot's default when absent): not listed, so it is never "missing"
    static let reads: [InputKey] = [.domain, .serverIP, .hstsFinalSeconds, .appSource, .appUser, .djangoVersion]

    /// Reports computed by `check`, reused by `apply` of the same attempt (keyed by context).
    static let cache = Locked<[ObjectIdentifier: VerifyReport]>([:])

    /// ACME directories whose certificates chain to roots in the usual trust stores.
    static let productionACME: Set<String> = [
        "https://acme-v02.api.letsencrypt.org/directory", "https://api.buypass.com/acme/directory",
        "https://acme.zerossl.com/v2/DV90",
    ]

    static func caFile(_ ctx: StepContext) -> String? {
        ctx.input(caFileInput) ?? ProcessInfo.processInfo.environment[caFileEnvironment].flatMap { $0.isEmpty ? nil : $0 }
    }

    static func report(_ ctx: StepContext) async throws -> VerifyReport {
        if let r = cache.value[ObjectIdentifier(ctx)] { return r }
        var options = try VerifyOptions(inputs: ctx.inputs, caFile: caFile(ctx))
        // a test or staging ACME server: its root is in no trust store (see trustServedChain)
        if let acme = options.acmeServer, !productionACME.contains(acme) { options.trustServedChain = true }
        let local = SystemRunner(target: .local)
        defer { Task { await local.shutdown() } }
        let verifier = Verifier(options: options, local: local, server: ctx, log: { ctx.log("verify: " + $0) })
        let r = try await verifier.run()
        for line in r.table(width: 110) { ctx.log(line) }
        cache.withValue { $0[ObjectIdentifier(ctx)] = r }
        return r
    }

    static func summary(_ r: VerifyReport) -> String {
        var s = "grade \(r.overall.grade) (headers \(r.headers.grade), TLS \(r.tls.grade))"
        let failed = r.failed.map(\.id)
        if !failed.isEmpty { s += "; failed: " + failed.joined(separator: ", ") }
        return s
    }

    static func step() -> StepDefinition {
        StepDefinition(
            id: stepID, title: "Grade the live site (HTTP, headers, TLS, nginx, Django, ports)", runsOn: .server,
            reads: reads,
            check: { ctx in
                let r = try await report(ctx)
                if r.succeeded {
                    cache.withValue { $0[ObjectIdentifier(ctx)] = nil }
                    return .satisfied(summary(r) + "; \(r.checks.count) checks, \(r.warned.count) warning\(r.warned.count == 1 ? "" : "s")")
                }
                return .needsChange(summary(r))
            },
            plan: { _ in
                StepPlan(notes: ["the live site is graded (docs/grading.md); nothing on the server changes",
                                 "the step fails when the grade is below A or a check fails"])
            },
            apply: { ctx in
                let r = try await report(ctx)
                cache.withValue { $0[ObjectIdentifier(ctx)] = nil }
                guard r.succeeded else {
                    let fixes = r.checks.filter { $0.result == .fail }.map { "\($0.id): \($0.fix)" }
                    throw StepError.verificationFailed(summary(r) + (fixes.isEmpty ? "" : " — " + fixes.joined(separator: "; ")))
                }
            })
    }
}
