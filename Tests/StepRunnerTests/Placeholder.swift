import Testing
@testable import StepRunner
@Test func placeholder() {}
