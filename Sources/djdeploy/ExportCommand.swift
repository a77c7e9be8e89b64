import ArgumentParser
import Foundation
import Stages
import StepRunner
import WizardCore

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the deploy as a standalone bash script or as an Ansible playbook.",
        discussion: """
        Both are rendered from the wizard's own steps: the same commands, templates and checks, each \
        guarded so that a second run changes nothing. The script runs as root on the server \
        (`ssh HOST sudo bash -s < deploy.sh`); the playbook runs on every host of its inventory \
        (see docs/scale-out.md). Covers the tutorial's sample app (app: sample).
        """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case sh, ansible }

    @Option(help: ArgumentHelp("sh or ansible.", valueName: "format"))
    var format: Format

    @Option(name: .long, help: ArgumentHelp("Answers file (YAML or JSON); see docs/answers.md.", valueName: "file"))
    var answers: String

    @Option(name: .long, help: ArgumentHelp("sh: write the script here (default: standard output). ansible: the project directory (required).", valueName: "path"))
    var out: String?

    @Option(name: .long, help: ArgumentHelp("ansible: the inventory's hosts, comma-separated (default: the answers' SSH host).", valueName: "h1,h2"))
    var hosts: String?

    @Option(name: .long, help: ArgumentHelp("Read templates from this directory instead of the built-in copy.", valueName: "dir"))
    var assetsDir: String?

    func run() throws {
        let loaded: Answers
        do { loaded = try Answers.load(path: answers) } catch { throw usage("\(error)") }
        let env = StageEnvironment(assetsDirectory: assetsDir)
        do {
            switch format {
            case .sh:
                if hosts != nil { throw usage("--hosts is for --format ansible") }
                let script = try Export.shellScript(answers: loaded, env: env)
                if let out {
                    try writeNew(out, Data(script.utf8), mode: 0o755)
                    FileHandle.standardError.write(Data("wrote \(out)\n".utf8))
                } else {
                    FileHandle.standardOutput.write(Data(script.utf8))
                }
            case .ansible:
                guard let out else { throw usage("--format ansible needs --out DIR") }
                var list: [AnsibleHost]?
                if let hosts {
                    let names = hosts.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                    guard !names.isEmpty else { throw usage("--hosts names no host") }
                    for n in names where n.wholeMatch(of: /[A-Za-z0-9][A-Za-z0-9.:_-]*/) == nil {
                        throw usage("--hosts: \(n) is not a host name or address")
                    }
                    var base: SSHDestination?
                    if case .ssh(let d)? = loaded.target { base = d }
                    list = names.map { AnsibleHost(name: $0, address: $0, port: base?.port, user: base?.user, identityFile: base?.identityFile) }
                }
                let files = try Export.ansible(answers: loaded, env: env, hosts: list, to: out)
                for f in files { print((out as NSString).appendingPathComponent(f)) }
            }
        } catch let e as ArgumentParser.ValidationError {
            throw e
        } catch {
            FileHandle.standardError.write(Data("djdeploy export: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }

    private func usage(_ s: String) -> ArgumentParser.ValidationError { ArgumentParser.ValidationError(s) }

    /// A new file (a backup of an existing one is kept as FILE.bak).
    private func writeNew(_ path: String, _ data: Data, mode: Int) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: path) {
            let bak = path + ".bak"
            try? fm.removeItem(atPath: bak)
            try fm.copyItem(atPath: path, toPath: bak)
        }
        let tmp = path + ".tmp-\(getpid())"
        try data.write(to: URL(fileURLWithPath: tmp))
        try fm.setAttributes([.posixPermissions: mode], ofItemAtPath: tmp)
        guard rename(tmp, path) == 0 else {
            try? fm.removeItem(atPath: tmp)
            throw ExportFileError(path: path, why: String(cString: strerror(errno)))
        }
    }
}

struct ExportFileError: Error, CustomStringConvertible {
    var path: String
    var why: String
    var description: String { "cannot write \(path): \(why)" }
}
