import StepRunner
public enum WizardCoreModule {}
