import Foundation
import Testing
@testable import Stages

/// Every template rendered for the sample inputs, pinned by a golden file.
@Suite struct GoldenTests {
    let templates = TemplateSource()

    @Test func sampleApp() throws {
        for rel in DjangoStage.sampleFiles {
            try expectGolden(try templates.render("sample-app/" + rel, DjangoStage.sampleContext(sampleLayout)), "sample-app/" + rel)
        }
    }

    @Test func settingsSections() throws {
        try expectGolden(try DjangoStage.djangoSection(sampleLayout, templates: templates), "django/section-django.py")
        try expectGolden(try StaticFilesStage.section(sampleLayout, templates: templates), "django/section-static-files.py")
    }

    /// The managed block appended to the settings.py that `startproject` wrote (3.2), both sections.
    @Test func settingsFileWithBlock() throws {
        let start = try String(contentsOfFile: TestPaths.golden + "/django/startproject-settings-3.2.py", encoding: .utf8)
        let order = Stages.order.map(\.rawValue)
        let render: ([(name: String, body: String)]) throws -> String = { try ManagedBlock.render($0, templates: templates) }
        // static-files first, to show that the order is the stage order, not the order of edits
        var text = try ManagedBlock.setting("static-files", to: try StaticFilesStage.section(sampleLayout, templates: templates),
                                            in: start, order: order, renderBlock: render)
        text = try ManagedBlock.setting("django", to: try DjangoStage.djangoSection(sampleLayout, templates: templates),
                                        in: text, order: order, renderBlock: render)
        try expectGolden(text, "django/settings-with-block.py")
        #expect(text.hasPrefix(start))
    }

    @Test func gunicornConfig() throws {
        try expectGolden(try templates.render("gunicorn/dev.py", GunicornStage.configContext(sampleLayout, systemd: false)), "gunicorn/dev.py")
        try expectGolden(try templates.render("gunicorn/dev.py", GunicornStage.configContext(sampleLayout, systemd: true)), "gunicorn/dev-systemd.py")
        try expectGolden(try templates.render("gunicorn/gunicorn.service", GunicornStage.unitContext(sampleLayout)), "gunicorn/gunicorn-dev.service")
    }

    @Test func nginxSite() throws {
        try expectGolden(try templates.render("nginx/site.conf", NginxStage.siteContext(sampleLayout, static: false)), "nginx/site-http.conf")
        try expectGolden(try templates.render("nginx/site.conf", NginxStage.siteContext(sampleLayout, static: true)), "nginx/site-static.conf")
    }

    @Test func cspBothForms() throws {
        let legacy = try DjangoPins.forVersion("3.2").cspSettings(styleSources: ["'self'", "https://fonts.googleapis.com"], templates: templates)
        try expectGolden(legacy, "django/csp-legacy.py")
        let dict = try DjangoPins.forVersion("5.2").cspSettings(styleSources: ["'self'", "https://fonts.googleapis.com"], templates: templates)
        try expectGolden(dict, "django/csp-dict.py")
        #expect(!dict.contains("CSP_DEFAULT_SRC"))
        #expect(DjangoPins.forVersion("4.2").cspForm == .legacySettings)
    }

    @Test func pins() {
        #expect(DjangoPins.forVersion("3.2").requirements == ["django==3.2.*", "gunicorn==20.1.*", "django-csp==3.8.*", "setuptools<70"])
        #expect(DjangoPins.forVersion("5.2").requirements == ["django==5.2.*", "gunicorn==23.0.*", "django-csp==4.0.*"])
        #expect(DjangoPins.matches("3.2.25", "3.2.*"))
        #expect(DjangoPins.matches("3.2", "3.2.*"))
        #expect(!DjangoPins.matches("3.20.1", "3.2.*"))
        #expect(!DjangoPins.matches("4.2.1", "3.2.*"))
    }

    /// A template given with --assets-dir wins over the embedded copy.
    @Test func assetsDirectoryOverrides() throws {
        let dir = NSTemporaryDirectory() + "djdeploy-assets-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/templates/nginx", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "custom {{{domain}}}\n".write(toFile: dir + "/templates/nginx/site.conf.mustache", atomically: true, encoding: .utf8)
        let t = TemplateSource(assetsDirectory: dir)
        #expect(try t.render("nginx/site.conf", ["domain": "a.test"]) == "custom a.test\n")
        #expect(throws: TemplateError.self) { try t.render("gunicorn/dev.py", [:]) }
    }
}

/// The embedded copy must match Assets/ (run scripts/embed-assets after changing an asset).
@Test func embeddedAssetsAreCurrent() throws {
    let root = TestPaths.assets
    var onDisk: [String: String] = [:]
    let fm = FileManager.default
    let e = fm.enumerator(atPath: root)
    while let rel = e?.nextObject() as? String {
        let name = (rel as NSString).lastPathComponent
        let parts = rel.split(separator: "/")
        if parts.contains(where: { $0.hasPrefix(".") }) { continue }
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: root + "/" + rel, isDirectory: &isDir), !isDir.boolValue, !name.hasPrefix(".") else { continue }
        onDisk[rel] = String(decoding: fm.contents(atPath: root + "/" + rel) ?? Data(), as: UTF8.self)
    }
    let stale = Set(onDisk.keys).symmetricDifference(EmbeddedAssets.files.keys).sorted()
        + onDisk.keys.filter { EmbeddedAssets.files[$0] != nil && EmbeddedAssets.files[$0] != onDisk[$0] }.sorted()
    #expect(stale.isEmpty, "Sources/Stages/EmbeddedAssets.swift is stale for \(stale); run scripts/embed-assets")
}
