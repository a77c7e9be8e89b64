import StepRunner
import WizardCore

/// The whole deployment, stage by stage, in the tutorial's order. Each stage lives in its own
/// file (`<Name>Stage.swift`) and exposes `static func make(_ env: StageEnvironment) -> StageDefinition`.
public enum Stages {
    /// Stage ids in order.
    public static let order: [StageID] = [
        "firewall", "static-ip", "dns", "django", "gunicorn", "nginx", "static-files",
        "https-cert", "https-redirect", "security-headers", "go-live", "verify",
    ]

    public static func deployment(_ env: StageEnvironment = StageEnvironment()) -> Deployment {
        Deployment(stages: builders.map { $0(env) })
    }

    /// Registered stage builders, in order. Stages not yet written are simply absent.
    static var builders: [@Sendable (StageEnvironment) -> StageDefinition] {
        StageRegistry.all
    }
}

/// Things every stage may need that are not inputs: where the assets are, and test switches.
public struct StageEnvironment: Sendable {
    /// An assets directory given with --assets-dir (nil: the embedded copy).
    public var assetsDirectory: String?
    public init(assetsDirectory: String? = nil) {
        self.assetsDirectory = assetsDirectory
    }
}
