import ArgumentParser
import Foundation
import Stages
import StepRunner
import WizardCore

struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Print the transcript of every command run for this profile (secrets redacted)."
    )

    @OptionGroup var common: CommonOptions

    @Option(help: ArgumentHelp("Only the commands of this step.", valueName: "step-id"))
    var step: String?

    @Flag(help: "Print the raw JSON lines.")
    var json = false

    @Flag(help: "Print what was run as a commented shell script (for reading, keeping in git, replaying by hand).")
    var asScript = false

    func run() async throws {
        Console.plain = common.plain
        let session = try common.openSession(lock: false)
        defer { session.close() }
        let path = session.transcriptPath
        guard FileManager.default.fileExists(atPath: path) else {
            Console.out("no transcript yet (\(path))")
            return
        }
        let records = try Transcript.read(path: path).filter { step == nil || $0.label == step }
        if json {
            let enc = JSONEncoder()
            enc.dateEncodingStrategy = .iso8601
            enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for r in records { Console.out(String(decoding: try enc.encode(r), as: UTF8.self)) }
            return
        }
        if asScript {
            Console.out(Self.script(records, profile: session.state.profile))
            return
        }
        let f = ISO8601DateFormatter()
        for r in records {
            let env = r.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\(displayQuote($0.value))" }
            let cmd = (env + r.argv.map(displayQuote)).joined(separator: " ")
            Console.out("\(Console.dim(f.string(from: r.start))) \(r.label ?? "-") \(r.target) \(r.asRoot ? "#" : "$") \(cmd)")
            for l in r.output { Console.out(Console.dim("    │ ") + l.text) }
            Console.out(Console.dim("    → \(r.termination), \(r.lineCount) lines, \(Int(r.end.timeIntervalSince(r.start) * 1000)) ms"))
        }
    }

    /// The transcript as a shell script: one commented block per step, commands in order,
    /// privileged ones through sudo, secrets already redacted. djdeploy's own bookkeeping
    /// commands (file facts, stops) are left out.
    static func script(_ records: [TranscriptRecord], profile: String) -> String {
        var out = ["#!/usr/bin/env bash", "# What djdeploy ran for profile \(profile), as recorded in its transcript.",
                   "# Secrets appear as [REDACTED]; files were written by djdeploy itself (atomically, with backups).",
                   "set -euo pipefail", ""]
        var lastLabel: String?
        let f = ISO8601DateFormatter()
        for r in records {
            if r.label == "djdeploy:write", r.argv.count > 5 {
                out.append("# djdeploy wrote \(r.argv[4]) (mode \(r.argv[5])\(r.argv[6].isEmpty ? "" : ", owner \(r.argv[6])"), sha256 \(r.argv.count > 8 ? String(r.argv[8].prefix(12)) : "?")…) atomically, after a backup")
                continue
            }
            if let l = r.label, l.hasPrefix("djdeploy:") { continue }
            if r.label != lastLabel {
                out.append("")
                out.append("# --- \(r.label ?? "(no step)") on \(r.target)")
                lastLabel = r.label
            }
            // quoted like `djdeploy export --format sh` writes its commands
            let line = Export.shellLine(r.argv, environment: r.environment)
            out.append("# \(f.string(from: r.start)): \(r.termination)")
            out.append(r.asRoot ? "sudo " + line : line)
        }
        return out.joined(separator: "\n")
    }
}
