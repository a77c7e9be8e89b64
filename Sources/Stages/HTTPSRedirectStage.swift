import Foundation
import StepRunner
import WizardCore

/// Stage 9: port 80 answers every request for the domain with a 307 to the same URL over HTTPS;
/// any other host name gets no answer at all (`return 444` on a `default_server`), and on port
/// 443 the TLS handshake is refused for unknown names (`ssl_reject_handshake`, nginx ≥ 1.19.4).
enum HTTPSRedirectStage {
    static let id: StageID = "https-redirect"
    static let unknownHost = "djdeploy-unknown-host.invalid"

    static func make(_ env: StageEnvironment) -> StageDefinition {
        let templates = TemplateSource(env)
        return StageDefinition(id: id, title: "Redirect HTTP to HTTPS", steps: [
            NginxStage.siteStep(id: "https-redirect.nginx", title: "nginx: 307 to HTTPS, unknown hosts closed",
                                templates: templates, adding: [.redirect],
                                extraVerify: { ctx, l in try await verifyRedirect(ctx, l) }),
        ])
    }

    static func verifyRedirect(_ ctx: StepContext, _ l: AppLayout) async throws {
        try await HTTPSProbe.settled { try await verifyOnce(ctx, l) }
    }

    static func verifyOnce(_ ctx: StepContext, _ l: AppLayout) async throws {
        let state = try await SiteFeatures.state(ctx, l)
        guard state.tls else { throw StepError.verificationFailed("no certificate: the redirect needs the https-cert stage first") }
        for name in [l.domain, "www." + l.domain] {
            guard let r = try await Facts.http(ctx, url: "http://127.0.0.1/myapp/?q=1", host: name) else {
                throw StepError.verificationFailed("nginx does not answer on port 80 for \(name)")
            }
            let want = "https://\(name)/myapp/?q=1"
            guard r.status == 307, r.headers["location"] == want else {
                throw StepError.verificationFailed("http://\(name)/myapp/?q=1 answered \(r.status) \(r.headers["location"] ?? ""), want 307 to \(want)")
            }
        }
        // an unknown Host: nginx closes the connection without an answer (curl: exit 52, empty reply)
        let unknown = try await ctx.run(Command(["curl", "-sS", "-o", "/dev/null", "-m", "5", "-H", "Host: \(unknownHost)",
                                                 "http://127.0.0.1/"], asRoot: false), allowFailure: true)
        guard unknown.exitCode == 52 else {
            throw StepError.verificationFailed("a request for an unknown host name on port 80 was not closed without an answer (curl exit \(unknown.exitCode.map(String.init) ?? "?"), want 52)")
        }
        if SiteFeatures.context(state, adding: [], domain: l.domain)["reject_handshake"] as? Bool == true {
            if try await HTTPSProbe.handshake(ctx, l, version: "tls1_2", serverName: unknownHost) {
                throw StepError.verificationFailed("nginx completes a TLS handshake for an unknown host name (ssl_reject_handshake)")
            }
        }
        ctx.log("port 80: 307 to https keeping host, path and query; unknown host names get no answer")
    }
}
