// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "djdeploy",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "djdeploy", targets: ["djdeploy"]),
        .executable(name: "djdeploy-bench", targets: ["djdeploy-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C shims. CSupport: process spawning in a new session (posix_spawn + setsid), flock, fsync.
        .target(name: "CSupport"),
        // The only code that includes curses.
        .target(name: "CNCurses", linkerSettings: [.linkedLibrary("ncursesw")]),

        // Runs commands and file operations on a target (local or OpenSSH).
        .target(name: "StepRunner", dependencies: ["CSupport"]),
        // Stages, inputs, the pure state machine, persistence, the effect runtime.
        .target(name: "WizardCore", dependencies: ["StepRunner", "CSupport", .product(name: "Yams", package: "Yams")]),
        // The deployment stages themselves.
        .target(name: "Stages", dependencies: ["WizardCore", "StepRunner"], resources: []),
        // Cell buffer, widgets, layout, test backend. No curses.
        .target(name: "TerminalUI"),
        // The screens, and the curses backend.
        .target(name: "WizardTUI", dependencies: ["TerminalUI", "CNCurses", "WizardCore", "Stages"]),
        // Thin @main, one file per subcommand.
        .executableTarget(name: "djdeploy", dependencies: [
            "WizardCore", "Stages", "WizardTUI", "StepRunner",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "djdeploy-bench", dependencies: ["StepRunner"]),
        // Helper processes for crash/lock tests.
        .executableTarget(name: "djdeploy-testhelper", dependencies: ["WizardCore", "StepRunner"]),

        .testTarget(name: "StepRunnerTests", dependencies: ["StepRunner"]),
        .testTarget(name: "WizardCoreTests", dependencies: [
            "WizardCore", .product(name: "PropertyBased", package: "swift-property-based"),
        ]),
        .testTarget(name: "TerminalUITests", dependencies: ["TerminalUI", "WizardTUI"]),
        .testTarget(name: "CLITests", dependencies: ["WizardCore"]),
    ],
    swiftLanguageModes: [.v6]
)
