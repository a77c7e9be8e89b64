// Placeholder: the deployment stages land with the stages issue.
import WizardCore
import StepRunner
public enum StagesModule {}
