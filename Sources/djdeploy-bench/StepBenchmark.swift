import Foundation
import StepRunner
import WizardCore

/// Per-step overhead of a no-change file step (check finds the file as desired), through the real
/// runtime, runner, transcript and state file — against Ansible's `copy` task on the same host.
func benchStep(_ dest: SSHDestination) async throws {
    let n = quick ? 5 : 20
    let dir = NSTemporaryDirectory() + "djdeploy-bench-step-\(getpid())"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let remoteDir = "/tmp/djdeploy-bench-files"
    let content = Data("managed by the djdeploy benchmark\n".utf8)
    let hash = SHA256.hex(content)
    let steps = (0..<n).map { i -> StepDefinition in
        let path = "\(remoteDir)/f\(i)"
        return StepDefinition(
            id: StepID("files.f\(i)"), title: "file \(i)",
            check: { ctx in
                try await ctx.sha256(of: path) == hash ? .satisfied("\(path) is as desired") : .needsChange("\(path) differs")
            },
            plan: { ctx in StepPlan(actions: [.file(try await ctx.fileChange(path, content: content, mode: 0o644))]) },
            verify: { ctx in
                guard try await ctx.sha256(of: path) == hash else { throw StepError.verificationFailed(path) }
            })
    }
    let deployment = Deployment(stages: [StageDefinition(id: "files", title: "files", steps: steps)])
    let runner = SystemRunner(target: .ssh(dest), transcript: try Transcript(path: dir + "/t.jsonl"))
    _ = try await runner.run(Command(["mkdir", "-p", remoteDir]))
    let store = StateStore(path: dir + "/s.json")
    let runtime = WizardRuntime(deployment: deployment, state: WizardState(deployment: deployment, profile: "bench", target: .ssh(dest)),
                                store: store, runner: runner)
    _ = await runtime.run()  // first run writes the files
    var ours: [Double] = []
    for _ in 0..<(quick ? 2 : 5) {
        let t0 = now()
        let r = await runtime.run(RunScope(recheckSucceeded: true))
        precondition(r == .finished(.completed), "noop run failed: \(r)")
        ours.append((now() - t0) / Double(n))
    }
    await runner.shutdown()
    let oursS = Stats(samples: ours)

    let w = [46, 6, 14, 10]
    print("\n== step: per-step cost of a no-change file step over SSH (\(n) steps per run)")
    print(row(["what", "N", "ms per step", "ratio"], w))
    print(row(["djdeploy step (check → noop, state saved)", "\(n)", fmt(oursS.median), "1.00×"], w))

    // Ansible, when installed: ansible-playbook from a venv (ansible-core from pip).
    let venv = ProcessInfo.processInfo.environment["DJDEPLOY_ANSIBLE_VENV"] ?? "/tmp/djdeploy-ansible-venv"
    let playbookBin = venv + "/bin/ansible-playbook"
    guard FileManager.default.isExecutableFile(atPath: playbookBin) else {
        print(row(["ansible copy task", "-", "not installed", "-"], w))
        print("install: python3 -m venv \(venv) && \(venv)/bin/pip install ansible-core")
        print("RESULT step_ms=\(fmt(oursS.median, 3))")
        return
    }
    let inv = dir + "/inventory.ini"
    try """
    [bench]
    target ansible_host=\(dest.host) ansible_port=\(dest.port ?? 22) ansible_user=\(dest.user ?? "root") ansible_ssh_private_key_file=\(dest.identityFile ?? "") ansible_ssh_common_args='-o UserKnownHostsFile=\(dest.knownHostsFile ?? "") -o StrictHostKeyChecking=yes' ansible_python_interpreter=/usr/bin/python3
    """.write(toFile: inv, atomically: true, encoding: .utf8)
    func playbook(_ tasks: Int) -> String {
        var s = "- hosts: bench\n  gather_facts: false\n  tasks:\n"
        s += "    - name: directory\n      ansible.builtin.file:\n        path: /tmp/djdeploy-bench-ansible\n        state: directory\n"
        for i in 0..<tasks {
            s += "    - name: file \(i)\n      ansible.builtin.copy:\n        dest: /tmp/djdeploy-bench-ansible/f\(i)\n"
            s += "        content: \"managed by the djdeploy benchmark\\n\"\n        mode: \"0644\"\n"
        }
        return s
    }
    try playbook(n).write(toFile: dir + "/many.yml", atomically: true, encoding: .utf8)
    try playbook(1).write(toFile: dir + "/one.yml", atomically: true, encoding: .utf8)
    let local = SystemRunner(target: .local)
    let env = ["ANSIBLE_NOCOLOR": "1", "ANSIBLE_STDOUT_CALLBACK": "default", "ANSIBLE_PIPELINING": "0",
               "ANSIBLE_CONTROL_PATH_DIR": dir + "/cp", "ANSIBLE_LOCAL_TEMP": dir + "/tmp", "ANSIBLE_HOME": dir + "/home"]
    func play(_ file: String) async throws -> Double {
        let t0 = now()
        let r = try await local.run(Command([playbookBin, "-i", inv, file], environment: env, workingDirectory: dir))
        precondition(r.succeeded, "ansible-playbook failed: \(r.tail.suffix(5).map(\.text))")
        return now() - t0
    }
    _ = try await play(dir + "/many.yml")  // create the files; later runs change nothing
    var perTask: [Double] = []
    for _ in 0..<(quick ? 1 : 3) {
        let many = try await play(dir + "/many.yml")
        let one = try await play(dir + "/one.yml")
        perTask.append((many - one) / Double(n - 1))
    }
    let a = Stats(samples: perTask)
    print(row(["ansible copy task (no change, ControlPersist)", "\(n)", fmt(a.median), fmt(a.median / oursS.median, 1) + "×"], w))
    print("RESULT step_ms=\(fmt(oursS.median, 3)) ansible_task_ms=\(fmt(a.median, 3)) speedup=\(fmt(a.median / oursS.median, 1)) target_speedup=20")
    print("reproduce the baseline: \(playbookBin) -i INVENTORY many.yml (N copy tasks) minus one.yml (1 task), divided by N-1")
}
