import Foundation
import Testing
@testable import Stages

enum TestPaths {
    /// The package root (…/Tests/StagesTests/Support.swift → …).
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0 ..< 3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static var golden: String { root + "/Tests/StagesTests/Golden" }
    static var assets: String { root + "/Assets" }
}

/// Compares `actual` with `Golden/<name>`. With `DJDEPLOY_UPDATE_GOLDEN=1` the file is (re)written.
func expectGolden(_ actual: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let path = TestPaths.golden + "/" + name
    if ProcessInfo.processInfo.environment["DJDEPLOY_UPDATE_GOLDEN"] == "1" {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try actual.write(toFile: path, atomically: true, encoding: .utf8)
        return
    }
    guard let data = FileManager.default.contents(atPath: path) else {
        Issue.record("golden file \(name) is missing; run with DJDEPLOY_UPDATE_GOLDEN=1 to create it", sourceLocation: sourceLocation)
        return
    }
    let expected = String(decoding: data, as: UTF8.self)
    #expect(actual == expected, "rendered output differs from Golden/\(name) (DJDEPLOY_UPDATE_GOLDEN=1 rewrites it)",
            sourceLocation: sourceLocation)
}

let sampleLayout = AppLayout(user: "django", group: "django", home: "/home/django", domain: "supersecure.test", djangoVersion: "3.2")
