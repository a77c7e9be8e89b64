import StepRunner

/// WizardCore: the deployment model (stages of steps), typed inputs and their validators, the
/// pure state machine (`reduce`), the JSON state file (`StateStore`), the effect runtime
/// (`WizardRuntime`), the answers file (`Answers`) and a demo deployment.
public enum WizardCoreModule {}
