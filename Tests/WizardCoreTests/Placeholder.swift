import Testing
@testable import WizardCore
@Test func placeholderCore() {}
