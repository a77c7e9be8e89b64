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
        let f = ISO8601DateFormatter()
        for r in records {
            let env = r.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\(displayQuote($0.value))" }
            let cmd = (env + r.argv.map(displayQuote)).joined(separator: " ")
            Console.out("\(Console.dim(f.string(from: r.start))) \(r.label ?? "-") \(r.target) \(r.asRoot ? "#" : "$") \(cmd)")
            for l in r.output { Console.out(Console.dim("    │ ") + l.text) }
            Console.out(Console.dim("    → \(r.termination), \(r.lineCount) lines, \(Int(r.end.timeIntervalSince(r.start) * 1000)) ms"))
        }
    }
}
