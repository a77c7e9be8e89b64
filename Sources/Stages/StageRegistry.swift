import WizardCore

/// The list of stage builders, in the tutorial's order. Add a stage here when it lands.
enum StageRegistry {
    static let all: [@Sendable (StageEnvironment) -> StageDefinition] = [
        DjangoStage.make,
        GunicornStage.make,
        NginxStage.make,
        StaticFilesStage.make,
    ]
}
