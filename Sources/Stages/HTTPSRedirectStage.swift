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
        try await checkRedirect(ctx, name: l.domain)
        try await checkRedirect(ctx, name: "www." + l.domain)
        try await checkUnknownHostClosed(ctx)
        if rejectsHandshake(state, domain: l.domain) {
            try await checkHandshakeRejected(ctx, l)
        }
        ctx.log("port 80: 307 to https keeping host, path and query; unknown host names get no answer")
    }

    /// An unknown Host on port 80: nginx closes the connection without an answer (curl exit 52).
    static func checkUnknownHostClosed(_ ctx: StepContext) async throws {
        let argv = ["curl", "-sS", "-o", "/dev/null", "-m", "5", "-H", "Host: " + unknownHost, "http://127.0.0.1/"]
        let unknown = try await ctx.run(Command(argv, asRoot: false), allowFailure: true)
        let code: Int32 = unknown.exitCode ?? -1
        if code != 52 {
            throw StepError.verificationFailed("a request for an unknown host name on port 80 was not closed without an answer (curl exit \(code), want 52)")
        }
    }

    static func rejectsHandshake(_ state: SiteFeatures.State, domain: String) -> Bool {
        let features = SiteFeatures.context(state, adding: [], domain: domain)
        return (features["reject_handshake"] as? Bool) ?? false
    }

    static func checkHandshakeRejected(_ ctx: StepContext, _ l: AppLayout) async throws {
        let completed = try await HTTPSProbe.handshake(ctx, l, version: "tls1_2", serverName: unknownHost)
        if completed {
            throw StepError.verificationFailed("nginx completes a TLS handshake for an unknown host name (ssl_reject_handshake)")
        }
    }

    /// `http://NAME/myapp/?q=1` answers 307 to the same URL over https.
    static func checkRedirect(_ ctx: StepContext, name: String) async throws {
        let response = try await Facts.http(ctx, url: "http://127.0.0.1/myapp/?q=1", host: name)
        guard let r = response else {
            throw StepError.verificationFailed("nginx does not answer on port 80 for \(name)")
        }
        let want = "https://\(name)/myapp/?q=1"
        let location = r.headers["location"] ?? ""
        if r.status != 307 || location != want {
            throw StepError.verificationFailed("http://\(name)/myapp/?q=1 answered \(r.status) \(location), want 307 to \(want)")
        }
    }
}
