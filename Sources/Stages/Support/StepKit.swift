import Foundation
import StepRunner
import WizardCore

/// A file a step wants on the target.
struct FileSpec: Sendable {
    var path: String
    var content: Data
    var mode: Int = 0o644
    var owner: String?
    var group: String?
}

enum StepKit {
    static let appInputs: [InputKey] = [.appUser, .domain, .djangoVersion, .appSource, .appPath, .appPort]

    /// Which of `files` differ from the target (content, mode, owner or group).
    static func differing(_ ctx: StepContext, _ files: [FileSpec]) async throws -> [String] {
        let facts = try await Facts.files(ctx, files.map(\.path))
        return files.compactMap { f in
            guard let have = facts[f.path] else { return "\(f.path) (missing)" }
            if have.sha256 != SHA256.hex(f.content) { return "\(f.path) (content)" }
            if have.mode != String(f.mode, radix: 8) { return "\(f.path) (mode \(have.mode))" }
            if let o = f.owner, o != have.owner { return "\(f.path) (owner \(have.owner))" }
            if let g = f.group, g != have.group { return "\(f.path) (group \(have.group))" }
            return nil
        }
    }

    /// A step that makes template-rendered files match. `directories` are created first as the
    /// app user (so that they are owned by it) when `asAppUser`, else as root.
    static func filesStep(id: StepID, title: String, reads: [InputKey] = appInputs,
                          files: @escaping @Sendable (StepContext, AppLayout) async throws -> (dirs: [String], files: [FileSpec]),
                          asAppUser: Bool = true,
                          verify extraVerify: (@Sendable (StepContext, AppLayout) async throws -> Void)? = nil) -> StepDefinition {
        @Sendable func plan(_ ctx: StepContext) async throws -> StepPlan {
            let layout = try await AppLayout.resolve(ctx)
            let (dirs, specs) = try await files(ctx, layout)
            var actions: [PlannedAction] = []
            if !dirs.isEmpty {
                let cmd = asAppUser ? layout.asApp(["mkdir", "-p", "--"] + dirs)
                    : Command(["mkdir", "-p", "--"] + dirs, asRoot: true)
                actions.append(.command(cmd))
            }
            for f in specs {
                actions.append(.file(try await ctx.fileChange(f.path, content: f.content, mode: f.mode, owner: f.owner,
                                                              group: f.group, asRoot: true)))
            }
            return StepPlan(actions: actions)
        }
        return StepDefinition(
            id: id, title: title, needsRoot: true, reads: reads,
            check: { ctx in
                let layout = try await AppLayout.resolve(ctx)
                let specs = try await files(ctx, layout).files
                let diff = try await differing(ctx, specs)
                if diff.isEmpty {
                    return .satisfied("\(specs.count) file\(specs.count == 1 ? "" : "s") already match the templates (sha256, mode, owner)")
                }
                return .needsChange("differ: " + diff.joined(separator: ", "))
            },
            plan: plan,
            verify: { ctx in
                let layout = try await AppLayout.resolve(ctx)
                let specs = try await files(ctx, layout).files
                let diff = try await differing(ctx, specs)
                guard diff.isEmpty else { throw StepError.verificationFailed("still differ: " + diff.joined(separator: ", ")) }
                try await extraVerify?(ctx, layout)
            })
    }

    /// A step that owns one section of the managed block in settings.py.
    static func settingsSectionStep(id: StepID, title: String, section: String, templates: TemplateSource,
                                    body: @escaping @Sendable (AppLayout) throws -> String) -> StepDefinition {
        let order = Stages.order.map(\.rawValue)
        @Sendable func desired(_ ctx: StepContext) async throws -> (AppLayout, current: String?, new: String, body: String) {
            let layout = try await AppLayout.resolve(ctx)
            let b = ManagedBlock.normalize(try body(layout))
            let current = try await ctx.readFile(layout.settingsFile, asRoot: true).map { String(decoding: $0, as: UTF8.self) }
            let new = try ManagedBlock.setting(section, to: b, in: current ?? "", order: order) { secs in
                try ManagedBlock.render(secs, templates: templates)
            }
            return (layout, current, new, b)
        }
        return StepDefinition(
            id: id, title: title, needsRoot: true, reads: appInputs,
            check: { ctx in
                let (layout, current, _, b) = try await desired(ctx)
                guard let current else { return .needsChange("\(layout.settingsFile) does not exist yet") }
                let have = try ManagedBlock.section(section, in: current)
                if have == b { return .satisfied("the \"\(section)\" section of the managed block in settings.py is up to date") }
                return .needsChange(have == nil ? "settings.py has no \"\(section)\" section in the managed block"
                                                : "the \"\(section)\" section of the managed block differs")
            },
            plan: { ctx in
                let (layout, current, new, _) = try await desired(ctx)
                var notes: [String] = []
                if current == nil { notes.append("settings.py is created by `startproject` (django.project); the block is appended to it") }
                return StepPlan(actions: [.file(FileChange(path: layout.settingsFile, newContent: Data(new.utf8),
                                                           currentContent: current.map { Data($0.utf8) }, mode: 0o644,
                                                           owner: layout.user, group: layout.group, asRoot: true))],
                                notes: notes)
            },
            verify: { ctx in
                let (layout, current, _, b) = try await desired(ctx)
                guard let current, try ManagedBlock.section(section, in: current) == b else {
                    throw StepError.verificationFailed("the \"\(section)\" section is not in \(layout.settingsFile)")
                }
                // the settings must still import: `manage.py check` reads them
                try await ctx.run(layout.manage(["check"]))
            })
    }
}
