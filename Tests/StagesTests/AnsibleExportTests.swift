import Foundation
import StepRunner
import Testing
import WizardCore
@testable import Stages

/// The Ansible renderer: YAML quoting, templates → Jinja, a hand-built plan → the project files;
/// with ansible-core available (`DJDEPLOY_ANSIBLE_VENV`, or /tmp/djdeploy-ansible-venv) also
/// `ansible-playbook --syntax-check` and real renders of the .j2 files by the template module,
/// compared byte for byte with what the wizard writes.
@Suite struct AnsibleExportTests {
    // MARK: YAML quoting

    @Test func yamlScalarsArePlainOnlyWhenUnambiguous() {
        let plain = ["present", "/usr/sbin/nologin", "django", "a.b-c", "_x", "nginx=1.2", "reload+x"]
        for s in plain { #expect(AnsibleYAML.scalar(s) == s, "\(s)") }
        let quoted: [(String, String)] = [
            ("", #""""#), ("yes", #""yes""#), ("No", #""No""#), ("on", #""on""#), ("null", #""null""#), ("~", #""~""#),
            ("0644", #""0644""#), ("1.0", #""1.0""#), ("2024-01-01", #""2024-01-01""#), (".inf", #"".inf""#),
            ("-o", #""-o""#), ("a: b", #""a: b""#), ("#x", ##""#x""##), ("x #y", #""x #y""#), ("{{ domain }}", #""{{ domain }}""#),
            ("*x", #""*x""#), ("&a", #""&a""#), ("!t", #""!t""#), ("%s", #""%s""#), ("@x", #""@x""#), ("'q'", #""'q'""#),
            ("say \"hi\"", #""say \"hi\"""#), ("back\\slash", #""back\\slash""#), ("a\nb", #""a\nb""#), ("tab\there", #""tab\there""#),
            ("bell\u{7}", #""bell\u0007""#), ("sp ace", #""sp ace""#), ("ünï", #""ünï""#),
        ]
        for (s, want) in quoted { #expect(AnsibleYAML.scalar(s) == want, "\(s)") }
        #expect(AnsibleYAML.scalar("{{ x }}", unsafe: true) == #"!unsafe "{{ x }}""#)
    }

    @Test func yamlWriterBlocksAndLiterals() {
        let node: AnsibleYAML.Node = .list([
            .init(comment: "a step", node: .map([
                ("name", .str("django.venv: Virtual environment")),
                ("block", .list([.init(node: .map([
                    ("ansible.builtin.command", .map([("argv", .list([.init(node: .str("python3")), .init(node: .str("-c"))]))])),
                    ("changed_when", .plain("false")),
                ]))])),
                ("text", .str("line 1\n  line 2\n")),
                ("none", .list([])),
            ])),
        ])
        let want = """
            # a step
            - name: "django.venv: Virtual environment"
              block:
                - ansible.builtin.command:
                    argv:
                      - python3
                      - "-c"
                  changed_when: false
              text: |
                line 1
                  line 2
              none: []

            """
        #expect(AnsibleYAML.emit(node) == want)
        #expect(AnsibleYAML.literalBlock("a\nb", indent: 2) == ["|-", "  a", "  b"])
        #expect(AnsibleYAML.literalBlock("a\n\n", indent: 2) == ["|+", "  a", ""])
        #expect(AnsibleYAML.literalBlock(" a\nb", indent: 2) == nil)
    }

    /// Every quoted scalar reads back as the same string in PyYAML (what Ansible uses).
    @Test func yamlScalarsRoundTripThroughPyYAML() throws {
        guard let venv = Self.ansibleVenv() else { return }
        let samples = ["", "yes", "0644", "0o17", "1e3", "-o", "a: b", "x #y", "{{ domain }}", "say \"hi\"", "back\\slash", "a\nb",
                       "tab\there", "bell\u{7}", "ünï", "line 1\n  line 2\n", "x\n\n", "trailing \nspace  \n", "{% load static %}\n",
                       "'q'", "%s", "[a]", "{a: 1}", "? x", "| x", "> y", "`z", "=", "<<"]
        var doc = ""
        for (i, s) in samples.enumerated() {
            let node = AnsibleYAML.Node.map([("k\(i)", .str(s))])
            doc += AnsibleYAML.emit(node)
        }
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try doc.write(toFile: dir + "/doc.yml", atomically: true, encoding: .utf8)
        let script = "import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"
        let (rc, out) = try Self.run(venv + "/bin/python3", ["-c", script, dir + "/doc.yml"])
        #expect(rc == 0, "\(out)")
        let parsed = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: String] ?? [:]
        for (i, s) in samples.enumerated() { #expect(parsed["k\(i)"] == s, "sample \(i): \(s.debugDescription)\n\(doc)") }
    }

    // MARK: templates → Jinja

    static let staticFact = ExportFact(name: "static_root", test: ["test", "-d", "/var/www/x/static"])

    @Test func treeBecomesJinja() throws {
        let source = """
            # for {{{domain}}}
            {{#static}}
            location /static { alias {{{root}}}/; }
            {{/static}}
            {{^static}}
            # no static yet
            {{/static}}
            {{#tls}}
            tls on
            {{/tls}}
            {{^tls}}
            tls off
            {{/tls}}
            end

            """
        let nodes = try TemplateTree.parse(source, name: "t")
        let values: [String: ExportValue] = [
            "domain": .text(ExportRef.of("domain")), "static": .fact(Self.staticFact),
            "root": .text("/var/www/" + ExportRef.of("domain") + "/static"), "tls": .flag(false),
        ]
        let j2 = try AnsibleTemplate.render(.tree(name: "t", nodes: nodes, values: values))
        #expect(j2 == """
            # for {{ domain }}
            {% if djd_fact_static_root.rc == 0 %}
            location /static { alias /var/www/{{ domain }}/static/; }
            {% endif %}
            {% if djd_fact_static_root.rc != 0 %}
            # no static yet
            {% endif %}
            tls off
            end

            """)
    }

    @Test func literalJinjaIsWrappedInRaw() throws {
        let html = "{% load static %}\n<p>{{ greeting }} for " + ExportRef.of("domain") + "</p>\n{# note #}\n"
        let j2 = try AnsibleTemplate.render(.text(html))
        #expect(j2 == "{% raw %}{% load static %}\n<p>{{ greeting }} for {% endraw %}{{ domain }}{% raw %}</p>\n{# note #}\n{% endraw %}")
        #expect(AnsibleText.convert("cp " + ExportRef.of("app_path") + " {{x}}") == "cp {{ app_path }}{% raw %} {{x}}{% endraw %}")
        #expect(AnsibleText.convert("plain") == "plain")
        let choice = try AnsibleTemplate.render(.choice(Self.staticFact, whenTrue: "yes\n", whenFalse: "no\n"))
        #expect(choice == "{% if djd_fact_static_root.rc == 0 %}\nyes\n{% else %}\nno\n{% endif %}\n")
    }

    // MARK: a hand-built plan

    static func samplePlan() -> ExportPlan {
        let domain = ExportRef.of("domain"), user = ExportRef.of("app_user")
        let home = "/home/" + user
        let siteNodes = try! TemplateTree.parse("server_name .{{{domain}}};\n{{#static}}\nlocation /static {}\n{{/static}}\n", name: "site")
        return ExportPlan(
            variables: [
                ExportVariable(name: "domain", value: "supersecure.test", comment: "The site's domain name."),
                ExportVariable(name: "app_user", value: "django", comment: "The app's system user.\nNot the login user."),
                ExportVariable(name: "email", value: "admin@supersecure.test", comment: "Let's Encrypt account e-mail."),
            ],
            steps: [
                ExportStep(stage: "firewall", stageTitle: "Firewall", id: "firewall.cloud", title: "Cloud firewall", runsOn: .operator,
                           tasks: [.note("Open ports 22, 80 and 443 in the cloud firewall for " + domain)]),
                ExportStep(stage: "django", stageTitle: "Django", id: "django.app-user", title: "App user", runsOn: .server,
                           tasks: [.systemUser(name: user, home: home)]),
                ExportStep(stage: "django", stageTitle: "Django", id: "django.python", title: "Python", runsOn: .server,
                           tasks: [.packages(["python3", "python3-venv"], preventServiceStart: false)]),
                ExportStep(stage: "django", stageTitle: "Django", id: "django.venv", title: "Virtual environment", runsOn: .server,
                           tasks: [.commands(title: "create the venv",
                                             [Command(["runuser", "-u", user, "--", "python3", "-m", "venv", "--clear", home + "/env"]),
                                              Command(["touch", home + "/env/.djdeploy-venv-complete"])],
                                             creates: home + "/env/.djdeploy-venv-complete")]),
                ExportStep(stage: "django", stageTitle: "Django", id: "django.packages", title: "Packages", runsOn: .server,
                           tasks: [.pip(venv: home + "/env", requirements: ["django==3.2.*", "setuptools<70"], user: user)]),
                ExportStep(stage: "django", stageTitle: "Django", id: "django.secret-key", title: "Secret key", runsOn: .server,
                           tasks: [.commands(title: "generate the key", [Command(["sh", "-c", "umask 077; echo \"$1\" > \"$2\"", "sh", "x", home + "/.K"],
                                                                                 environment: ["HOME": home])],
                                             unless: Command(["grep", "-qx", "export SECRET_KEY='[0-9a-f]{80}'", home + "/.K"]))]),
                ExportStep(stage: "django", stageTitle: "Django", id: "django.settings", title: "Settings", runsOn: .server,
                           tasks: [.block(path: home + "/p/settings.py", name: "django", body: "ALLOWED_HOSTS = [\"." + domain + "\"]\nX = {'a': 1}\n")]),
                ExportStep(stage: "django", stageTitle: "Django", id: "django.check", title: "Check", runsOn: .server,
                           tasks: [.commands(title: "manage.py check", [Command(["python3", "manage.py", "check"], workingDirectory: home + "/p")])]),
                ExportStep(stage: "static-files", stageTitle: "Static files", id: "static-files.collectstatic", title: "collectstatic",
                           runsOn: .server,
                           tasks: [.commands(title: "collectstatic", [Command(["python3", "manage.py", "collectstatic", "--noinput"])],
                                             changedUnless: "0 static files copied", notify: [.reloadGunicorn])]),
                ExportStep(stage: "nginx", stageTitle: "nginx", id: "nginx.site", title: "Site", runsOn: .server, tasks: [
                    .packages(["nginx"], preventServiceStart: true),
                    .directories(["/var/www/" + domain], owner: "root", group: "root", mode: 0o755),
                    .file(path: "/etc/nginx/sites-available/" + domain,
                          content: .tree(name: "site", nodes: siteNodes, values: ["domain": .text(domain), "static": .fact(staticFact)]),
                          mode: 0o644, owner: "root", group: "root", notify: [.reloadNginx]),
                    .file(path: "/etc/nginx/nginx.conf", content: .text("user www-data;\n"), mode: 0o644, owner: "root", group: "root",
                          validate: ["nginx", "-t", "-c", "%s"], notify: [.reloadNginx]),
                    .symlink(path: "/etc/nginx/sites-enabled/" + domain, target: "/etc/nginx/sites-available/" + domain, notify: [.reloadNginx]),
                    .absent(path: "/etc/nginx/sites-enabled/default", notify: [.reloadNginx]),
                    .replaceLines(path: "/etc/nginx/nginx.conf", regex: #"^(\s*)ssl_protocols .*;$"#, replacement: #"\1ssl_protocols TLSv1.2 TLSv1.3;"#),
                    .serviceStarted("nginx"),
                    .when(ExportFact(name: "systemd", test: ["test", "-d", "/run/systemd/system"]), negate: true,
                          [.commands(title: "start gunicorn", [Command(["true"])], onlyIf: Command(["false"]))]),
                    .flushHandlers,
                ]),
                ExportStep(stage: "nginx", stageTitle: "nginx", id: "nginx.empty", title: "Nothing", runsOn: .server, tasks: []),
            ],
            handlers: [.reloadNginx: [Command(["nginx", "-s", "reload"])],
                       .reloadGunicorn: [Command(["sh", "-c", "kill -HUP \"$(cat \"$1\")\"", "sh", "/var/run/gunicorn/prod.pid"])]],
            djangoVersion: "3.2")
    }

    static let hosts = [AnsibleHost(name: "web1", address: "127.0.0.1", port: 2222, user: "djdeploy", identityFile: "/keys/id ed25519")]

    @Test func handBuiltPlanRendersTheProject() throws {
        let files = try AnsibleExport.render(Self.samplePlan(), hosts: Self.hosts, knownHostsFile: "/keys/known_hosts")
        #expect(Set(files.keys) == ["inventory.ini", "ansible.cfg", "group_vars/all.yml", "site.yml", "tasks/firewall.yml",
                                    "tasks/django.yml", "tasks/static-files.yml", "tasks/nginx.yml",
                                    "templates/nginx.site.sites-available_DOMAIN.j2", "templates/nginx.site.nginx_nginx.conf.j2"])
        let inv = files["inventory.ini"] ?? ""
        #expect(inv.contains("[djdeploy]\nweb1 ansible_host=127.0.0.1 ansible_port=2222 ansible_user=djdeploy 'ansible_ssh_private_key_file=/keys/id ed25519'\n"))
        #expect(inv.contains("[djdeploy:vars]\nansible_ssh_common_args=-o UserKnownHostsFile=/keys/known_hosts -o StrictHostKeyChecking=yes\n"))
        let cfg = files["ansible.cfg"] ?? ""
        #expect(cfg.contains("pipelining = True") && cfg.contains("inventory = inventory.ini") && cfg.contains("stdout_callback = default"))
        #expect(!cfg.contains("host_key_checking = False"))
        let vars = files["group_vars/all.yml"] ?? ""
        #expect(vars.contains("# The site's domain name.\ndomain: supersecure.test\n"))
        #expect(vars.contains("# The app's system user.\n# Not the login user.\napp_user: django\n"))
        #expect(vars.contains("email: admin@supersecure.test\n"))
        #expect(vars.contains("# django_version: 3.2"))
        let site = files["site.yml"] ?? ""
        for stage in ["firewall", "django", "static-files", "nginx"] { #expect(site.contains("ansible.builtin.import_tasks: tasks/\(stage).yml")) }
        #expect(site.range(of: "tasks/django.yml")!.lowerBound < site.range(of: "tasks/static-files.yml")!.lowerBound)
        #expect(site.contains("  hosts: djdeploy\n  become: true\n  gather_facts: false\n"))
        #expect(site.contains("""
                - name: "reload nginx"
                  listen: "reload nginx"
                  ansible.builtin.command:
                    argv:
                      - nginx
                      - "-s"
                      - reload
            """))
        let all = files.filter { $0.key.hasPrefix("tasks/") }.values.joined()
        for step in Self.samplePlan().steps { #expect(all.contains("# " + step.id.rawValue + ": "), "\(step.id)") }
        for (path, text) in files where path.hasPrefix("tasks/") {
            #expect(text.hasSuffix("  ansible.builtin.meta: flush_handlers\n"), "\(path)")
        }
        let django = files["tasks/django.yml"] ?? ""
        #expect(django.contains("""
                - name: "django.app-user: system user APP_USER"
                  ansible.builtin.user:
                    name: "{{ app_user }}"
                    group: "{{ app_user }}"
                    system: true
                    create_home: true
                    home: "/home/{{ app_user }}"
                    shell: /usr/sbin/nologin
            """))
        #expect(django.contains("    mode: \"0750\"\n"))
        #expect(django.contains("""
                  ansible.builtin.stat:
                    path: "/home/{{ app_user }}/env/.djdeploy-venv-complete"
                  register: djd_exists_1
                  check_mode: false
            """))
        #expect(django.contains("      when: \"not djd_exists_1.stat.exists\"\n"))
        #expect(django.contains("""
                  ansible.builtin.pip:
                    name:
                      - "django==3.2.*"
                      - "setuptools<70"
                    virtualenv: "/home/{{ app_user }}/env"
                  become: true
                  become_user: "{{ app_user }}"
            """))
        #expect(django.contains("""
                  register: djd_done_2
                  changed_when: false
                  failed_when: false
                  check_mode: false
            """))
        #expect(django.contains("""
                  environment:
                    HOME: "/home/{{ app_user }}"
                  changed_when: true
                  when: "djd_done_2.rc != 0"
            """))
        #expect(django.contains("""
                  ansible.builtin.blockinfile:
                    path: "/home/{{ app_user }}/p/settings.py"
                    marker: "# {mark} djdeploy managed section: django"
                    block: |
                      ALLOWED_HOSTS = [".{{ domain }}"]
                      X = {'a': 1}
                    insertafter: EOF
                    backup: true
            """))
        #expect(django.contains("    chdir: \"/home/{{ app_user }}/p\"\n      changed_when: false\n"))
        let statics = files["tasks/static-files.yml"] ?? ""
        #expect(statics.contains("""
                  register: djd_out_3
                  changed_when: "'0 static files copied' not in djd_out_3.stdout"
                  notify:
                    - "reload gunicorn"
            """))
        let nginx = files["tasks/nginx.yml"] ?? ""
        #expect(nginx.contains("    policy_rc_d: 101\n"))
        #expect(nginx.contains("    update_cache: true\n        cache_valid_time: 3600\n"))
        #expect(nginx.contains("      loop:\n        - \"/var/www/{{ domain }}\"\n"))
        #expect(nginx.contains("""
                  ansible.builtin.command:
                    argv:
                      - test
                      - "-d"
                      - /var/www/x/static
                  register: djd_fact_static_root
            """))
        #expect(nginx.contains("""
                  ansible.builtin.template:
                    src: nginx.site.sites-available_DOMAIN.j2
                    dest: "/etc/nginx/sites-available/{{ domain }}"
                    owner: root
                    group: root
                    mode: "0644"
                    backup: true
                  notify:
                    - "reload nginx"
            """))
        #expect(nginx.contains("    validate: \"nginx -t -c %s\"\n"))
        #expect(nginx.contains("    state: link\n        force: true\n"))
        #expect(nginx.contains("""
                    regexp: "^(\\\\s*)ssl_protocols .*;$"
                    replace: "\\\\1ssl_protocols TLSv1.2 TLSv1.3;"
            """))
        #expect(nginx.contains("  ansible.builtin.service:\n        name: nginx\n        state: started\n"))
        #expect(nginx.contains("    when: \"djd_fact_systemd.rc != 0\"\n      block:\n"))
        #expect(nginx.contains("# nginx.empty: Nothing — nothing to do in the export"))
        let fw = files["tasks/firewall.yml"] ?? ""
        #expect(fw.contains("# firewall.cloud: Cloud firewall (operator side)\n- name: \"firewall.cloud: Cloud firewall\"\n  delegate_to: localhost\n  become: false\n  block:\n"))
        #expect(fw.contains("    ansible.builtin.debug:\n        msg: \"Open ports 22, 80 and 443 in the cloud firewall for {{ domain }}\""))
        #expect(files["templates/nginx.site.sites-available_DOMAIN.j2"] == "server_name .{{ domain }};\n{% if djd_fact_static_root.rc == 0 %}\nlocation /static {}\n{% endif %}\n")
    }

    // MARK: the real export (StepExports' plan for the sample app)

    static let answersText = """
        target:
          host: 127.0.0.1
          port: 2222
          user: djdeploy
          known_hosts_file: /keys/known_hosts
        domain: example.test
        email: admin@example.test
        server_ip: 203.0.113.10
        operator_cidr: 198.51.100.7/32
        app: sample
        """

    static func realExport() throws -> [String: String] {
        let plan = try StepExports.plan(answers: try Answers.parse(answersText), env: StageEnvironment())
        return try AnsibleExport.render(plan, hosts: try Export.defaultHosts(try Answers.parse(answersText)),
                                        knownHostsFile: "/keys/known_hosts")
    }

    @Test func everyWizardStepIsInThePlaybook() throws {
        let files = try Self.realExport()
        let ids = Stages.deployment().stages.flatMap(\.steps).map(\.id.rawValue)
        #expect(ids.count > 40)
        let tasks = files.filter { $0.key.hasPrefix("tasks/") }
        for id in ids {
            let stage = String(id.prefix { $0 != "." })
            #expect(tasks["tasks/\(stage).yml"]?.contains("\n# \(id): ") == true, "step \(id) is missing from tasks/\(stage).yml")
        }
        // the stages are imported in the wizard's order
        let site = files["site.yml"] ?? ""
        var last = site.startIndex
        for stage in Stages.order {
            guard let r = site.range(of: "import_tasks: tasks/\(stage.rawValue).yml\n", range: last ..< site.endIndex) else {
                Issue.record("stage \(stage) is missing from site.yml or out of order"); return
            }
            last = r.upperBound
        }
        // inputs are variables: values only in group_vars and the inventory; no secret anywhere
        for (path, text) in files where path != "group_vars/all.yml" && path != "inventory.ini" {
            #expect(!text.contains("example.test"), "\(path) holds the domain's value instead of {{ domain }}")
            #expect(!text.contains("\u{E000}") && !text.contains("\u{E001}"), "\(path) holds a raw variable reference")
        }
        #expect(files["group_vars/all.yml"]?.contains("\ndomain: example.test\n") == true)
        #expect(files.values.joined().firstMatch(of: /SECRET_KEY *= *['"][A-Za-z0-9]{20,}/) == nil)
        #expect(files["tasks/django.yml"]?.contains("secrets.token_hex(40)") == true)
        #expect(files["inventory.ini"]?.contains("127.0.0.1 ansible_host=127.0.0.1 ansible_port=2222 ansible_user=djdeploy\n") == true)
        // the operator's steps run on the control machine; once when they name no per-host value
        #expect(files["tasks/firewall.yml"]?.contains("delegate_to: localhost\n  become: false\n  run_once: true\n") == true)
        // the DNS records name each host's domain: shown once per host
        #expect(files["tasks/dns.yml"]?.contains("delegate_to: localhost\n  become: false\n  block:\n") == true)
    }

    @Test func realExportPassesTheSyntaxCheck() throws {
        guard let venv = Self.ansibleVenv() else { return }
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (path, text) in try Self.realExport() {
            let full = dir + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
        }
        let (rc, out) = try Self.run(venv + "/bin/ansible-playbook", ["--syntax-check", "site.yml"], cwd: dir)
        #expect(rc == 0, "\(out)")
    }

    // MARK: with ansible-core

    @Test func syntaxCheckPasses() throws {
        guard let venv = Self.ansibleVenv() else { return }
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let written = try AnsibleExport.write(Self.samplePlan(), hosts: Self.hosts, knownHostsFile: "/keys/known_hosts", to: dir)
        #expect(written.contains("site.yml"))
        let (rc, out) = try Self.run(venv + "/bin/ansible-playbook", ["--syntax-check", "site.yml"], cwd: dir)
        #expect(rc == 0, "\(out)")
        let (rc2, inv) = try Self.run(venv + "/bin/ansible-inventory", ["--list"], cwd: dir)
        #expect(rc2 == 0, "\(inv)")
        #expect(inv.contains("\"ansible_ssh_private_key_file\": \"/keys/id ed25519\""), "\(inv)")
        #expect(inv.contains("\"ansible_ssh_common_args\": \"-o UserKnownHostsFile=/keys/known_hosts -o StrictHostKeyChecking=yes\""), "\(inv)")
    }

    /// The nginx site template as the wizard renders it (mustache) and as ansible.builtin.template
    /// renders the exported .j2, for both values of its fact: byte for byte the same.
    @Test func ansibleRendersTemplatesLikeTheWizard() throws {
        guard let venv = Self.ansibleVenv() else { return }
        let templates = TemplateSource()
        let source = try templates.asset("templates/nginx/site.conf.mustache")
        let nodes = try TemplateTree.parse(source, name: "nginx/site.conf")
        for (tls, redirect) in [(false, false), (true, true)] {
            let context: [String: ExportValue] = [
                "domain": .text(ExportRef.of("domain")), "features_line": .text("static " + ExportRef.of("domain")),
                "tokens_in_server": .flag(false), "redirect": .flag(redirect), "reject_handshake": .flag(true),
                "app_port": .text("8000"), "static": .fact(Self.staticFact), "static_root": .text("/var/www/" + ExportRef.of("domain") + "/static"),
                "tls": .flag(tls), "cert_dir": .text("/etc/letsencrypt/live/" + ExportRef.of("domain")), "headers": .flag(tls),
                "permissions_policy": .text("geolocation=()"),
            ]
            let j2 = try AnsibleTemplate.render(.tree(name: "nginx/site.conf", nodes: nodes, values: context))
            for fact in [true, false] {
                var plain: [String: any Sendable] = [:]
                for (k, v) in context {
                    switch v {
                    case .text(let s): plain[k] = s.replacingOccurrences(of: ExportRef.of("domain"), with: "supersecure.test")
                    case .flag(let b): plain[k] = b
                    case .fact: plain[k] = fact
                    }
                }
                let want = try templates.render("nginx/site.conf", plain)
                let got = try Self.ansibleTemplate(venv, j2, vars: ["domain": "supersecure.test", "djd_fact_static_root": ["rc": fact ? 0 : 1]])
                #expect(got == want, "tls \(tls), static \(fact):\n--- j2\n\(j2)\n--- got\n\(got)")
            }
        }
        // literal Django template text survives
        let html = "{% load static %}\n<p>{{ x }} {# c #} " + ExportRef.of("domain") + "</p>\n<script src=\"{% static 'a.js' %}\"></script>\n"
        let got = try Self.ansibleTemplate(venv, try AnsibleTemplate.render(.text(html)), vars: ["domain": "d.test"])
        #expect(got == html.replacingOccurrences(of: ExportRef.of("domain"), with: "d.test"))
    }

    /// Combined facts are computed from their parts (set_fact), and the play really runs: on
    /// localhost, the checks, the combination, a template and a `when` block.
    @Test func combinedFactsRunOnLocalhost() throws {
        let yes = ExportFact(name: "yes", test: ["true"]), no = ExportFact(name: "no", test: ["false"])
        let both = ExportFact(name: "yes_not_no", test: ["sh", "-c", "true && ! false"], all: [yes], none: [no])
        let never = ExportFact(name: "yes_and_no", test: ["sh", "-c", "true && false"], all: [yes, no])
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let nodes = try TemplateTree.parse("{{#a}}\nA\n{{/a}}\n{{#b}}\nB\n{{/b}}\n{{^b}}\nnot B {{{where}}}\n{{/b}}\n", name: "t")
        let plan = ExportPlan(
            variables: [ExportVariable(name: "where", value: "here", comment: "")],
            steps: [ExportStep(stage: "s", stageTitle: "S", id: "s.one", title: "One", runsOn: .server, tasks: [
                .file(path: dir + "/out.txt", content: .tree(name: "t", nodes: nodes, values: [
                    "a": .fact(both), "b": .fact(never), "where": .text(ExportRef.of("where")),
                ]), mode: 0o600, owner: "root", group: "root"),
                .when(never, [.file(path: dir + "/never.txt", content: .text("x\n"), mode: 0o644, owner: "root", group: "root")]),
                .when(both, [.file(path: dir + "/both.txt", content: .text("y\n"), mode: 0o644, owner: "root", group: "root")]),
            ])],
            handlers: [:], djangoVersion: "3.2")
        let files = try AnsibleExport.render(plan, hosts: [AnsibleHost(name: "localhost", address: "127.0.0.1")], knownHostsFile: nil)
        let tasks = files["tasks/s.yml"] ?? ""
        #expect(tasks.contains("""
                  ansible.builtin.set_fact:
                    djd_fact_yes_not_no:
                      rc: "{{ 0 if (djd_fact_yes.rc == 0 and djd_fact_no.rc != 0) else 1 }}"
            """))
        #expect(!tasks.contains("true && ! false"), "a combination is computed, not run")
        guard let venv = Self.ansibleVenv() else { return }
        guard getuid() == 0 else { return }  // the play becomes root
        let project = dir + "/project"
        _ = try AnsibleExport.write(plan, hosts: [AnsibleHost(name: "localhost", address: "127.0.0.1")], knownHostsFile: nil, to: project)
        let (rc, out) = try Self.run(venv + "/bin/ansible-playbook", [
            "-c", "local", "-e", "ansible_python_interpreter=\(venv)/bin/python3", "site.yml",
        ], cwd: project)
        #expect(rc == 0, "\(out)")
        #expect((try? String(contentsOfFile: dir + "/out.txt", encoding: .utf8)) == "A\nnot B here\n")
        #expect(FileManager.default.fileExists(atPath: dir + "/both.txt"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/never.txt"))
    }

    // MARK: helpers

    static func ansibleVenv() -> String? {
        let env = ProcessInfo.processInfo.environment
        let venv = env["DJDEPLOY_ANSIBLE_VENV"] ?? "/tmp/djdeploy-ansible-venv"
        if FileManager.default.isExecutableFile(atPath: venv + "/bin/ansible-playbook") { return venv }
        if env["DJDEPLOY_TEST_CI"] != nil { Issue.record("no ansible-core at \(venv) (DJDEPLOY_ANSIBLE_VENV)") }
        return nil
    }

    static func tempDir() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("djd-ansible-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func run(_ exe: String, _ args: [String], cwd: String? = nil, env: [String: String] = [:]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        var e = ProcessInfo.processInfo.environment
        e["ANSIBLE_NOCOLOR"] = "1"
        e["ANSIBLE_LOCAL_TEMP"] = FileManager.default.temporaryDirectory.path + "/djd-ansible-tmp"
        for (k, v) in env { e[k] = v }
        p.environment = e
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Renders `j2` with `ansible.builtin.template` on localhost and returns the file.
    static func ansibleTemplate(_ venv: String, _ j2: String, vars: [String: any Sendable]) throws -> String {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try j2.write(toFile: dir + "/t.j2", atomically: true, encoding: .utf8)
        let json = try JSONSerialization.data(withJSONObject: vars)
        try json.write(to: URL(fileURLWithPath: dir + "/vars.json"))
        let (rc, out) = try run(venv + "/bin/ansible", [
            "localhost", "-c", "local", "-i", "localhost,", "-m", "ansible.builtin.template",
            "-a", "src=\(dir)/t.j2 dest=\(dir)/out", "-e", "@\(dir)/vars.json", "-e", "ansible_python_interpreter=\(venv)/bin/python3",
        ], cwd: dir)
        guard rc == 0 else {
            Issue.record("ansible template failed: \(out)")
            return ""
        }
        return try String(contentsOfFile: dir + "/out", encoding: .utf8)
    }
}
