import TerminalUI
import WizardCore
public enum WizardTUIModule {}
