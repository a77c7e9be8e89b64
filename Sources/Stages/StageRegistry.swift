import WizardCore

/// The list of stage builders, in the tutorial's order. Add a stage here when it lands.
enum StageRegistry {
    static let all: [@Sendable (StageEnvironment) -> StageDefinition] = [
        FirewallStage.make,
        StaticIPStage.make,
        DNSStage.make,
        DjangoStage.make,
        GunicornStage.make,
        { env in withFirewall(NginxStage.make(env), .nginx) },
        StaticFilesStage.make,
        { env in withFirewall(HTTPSCertStage.make(env), .https) },
        HTTPSRedirectStage.make,
        SecurityHeadersStage.make,
        { env in withFirewall(GoLiveStage.make(env), .golive) },
        VerifyStage.make,
    ]

    /// The firewall rules change as the deployment goes on: a stage that needs new rules starts
    /// with the firewall step for its phase (`<stage>.firewall`).
    static func withFirewall(_ stage: StageDefinition, _ phase: FirewallPhase) -> StageDefinition {
        var s = stage
        s.steps.insert(FirewallStage.step(phase, id: StepID("\(stage.id.rawValue).firewall")), at: 0)
        return s
    }
}
