import Foundation
import StepRunner
import WizardCore

/// Renders an `ExportPlan` as one standalone bash script: inputs as variables at the top, one
/// commented section per stage and step, every task guarded (skip what is done), files written
/// from heredocs with a backup of the file they replace, handlers run at the end of each stage.
/// It runs as root on the server (`ssh HOST sudo bash -s < deploy.sh`).
enum ShellExport {
    static let eof = "DJDEPLOY_EOF"

    static func render(_ plan: ExportPlan, header: [String]) -> String {
        var out = Out()
        out.line("#!/usr/bin/env bash")
        out.line("# shellcheck disable=SC2016  # scripts given to `sh -c` are single-quoted on purpose: $1 is theirs")
        for h in header { out.line("# " + h) }
        out.line("#")
        out.line("# Run it as root on the server:   sudo bash deploy.sh")
        out.line("#                   or over ssh:   ssh HOST sudo bash -s < deploy.sh")
        out.line("# Every step looks first and skips what is already done, so running it again changes nothing.")
        out.line("# SECRET_KEY is generated on the server at run time; it is not in this file.")
        out.line("set -euo pipefail")
        out.line("")
        out.line("# ---------------------------------------------------------------- inputs")
        out.line("# Each can be overridden from the environment (DOMAIN=example.com bash deploy.sh).")
        let used = usedVariables(plan)
        for v in plan.variables {
            if used.contains(v.name) {
                out.line("\(v.shellName)=${\(v.shellName):-\(quote(v.value))}   # \(v.comment)")
            } else {
                out.line("# \(v.shellName)=\(quote(v.value))   # \(v.comment) (not used on the server)")
            }
        }
        out.line("# Django \(plan.djangoVersion): the package pins below were chosen for it when this script was exported.")
        out.line("")
        out.raw(helpers)
        out.line("")
        out.line("[ \"$(id -u)\" = 0 ] || { echo \"deploy.sh: run it as root (sudo bash deploy.sh)\" >&2; exit 1; }")
        for v in plan.variables where used.contains(v.name) {
            out.line("check_input \(v.shellName) \"$\(v.shellName)\"")
        }
        out.line("")
        for h in ExportHandler.allCases {
            out.line("# handler: \(h.rawValue)")
            out.line("\(handlerFunction(h))() {")
            out.indent += 1
            for c in plan.handlers[h] ?? [] { out.line(command(c)) }
            out.indent -= 1
            out.line("}")
        }
        out.line("flush_handlers() {")
        for h in ExportHandler.allCases {
            let flag = handlerFlag(h)
            out.line("    if [ \"$\(flag)\" = 1 ]; then \(flag)=0; echo \"  handler: \(h.rawValue)\"; \(handlerFunction(h)); fi")
        }
        out.line("}")
        for h in ExportHandler.allCases { out.line("\(handlerFlag(h))=0") }

        // a file rendered by several steps (the nginx site) is written by one function
        var uses: [String: Int] = [:], order: [(String, String)] = []
        func count(_ tasks: [ExportTask]) {
            for t in tasks {
                if case .file(_, let c, _, _, _, _, _) = t, case .tree(let name, _, _) = c {
                    let body = renderedContent(c)
                    if uses[body, default: 0] == 0 { order.append((body, name)) }
                    uses[body, default: 0] += 1
                }
                if case .when(_, _, let inner) = t { count(inner) }
            }
        }
        for s in plan.steps { count(s.tasks) }
        for (body, name) in order where uses[body, default: 0] > 1 {
            let fn = "render_" + name.map { $0.isLetter || $0.isNumber ? $0 : "_" } + "_\(out.functions.count + 1)"
            out.functions[body] = fn
            out.line("")
            out.line("# \(fn) FILE: templates/\(name).mustache, rendered from facts read when it is called")
            out.line("\(fn)() {")
            out.raw(body)
            out.line("}")
        }

        var currentStage: StageID?
        for step in plan.steps {
            if step.stage != currentStage {
                if currentStage != nil { out.line("flush_handlers") }
                currentStage = step.stage
                out.line("")
                out.line("# " + String(repeating: "=", count: 94))
                out.line("# Stage \(step.stage.rawValue): \(step.stageTitle)")
                out.line("# " + String(repeating: "=", count: 94))
                out.line("stage \(quote("\(step.stage.rawValue): \(step.stageTitle)"))")
            }
            out.line("")
            out.line("# --- step \(step.id.rawValue): \(step.title)" + (step.runsOn == .operator ? " (operator side)" : ""))
            out.line("step \(quote("\(step.id.rawValue): \(step.title)"))")
            for t in step.tasks { task(t, &out) }
        }
        out.line("flush_handlers")
        out.line("")
        out.line("printf '\\ndeploy.sh: done, %d change(s)\\n' \"$CHANGES\"")
        return out.text
    }

    // MARK: output

    struct Out {
        var text = ""
        var indent = 0
        /// Content (as rendered to "$1") → the function that writes it.
        var functions: [String: String] = [:]
        mutating func line(_ s: String) {
            if s.isEmpty { text += "\n"; return }
            text += String(repeating: "    ", count: indent) + s + "\n"
        }
        /// Lines taken as they are (heredoc bodies: no indentation).
        mutating func raw(_ s: String) {
            text += s
            if !s.hasSuffix("\n") { text += "\n" }
        }
    }

    // MARK: words

    /// One shell word: single quotes (ShellQuote) without variables, double quotes with them.
    static func quote(_ s: String) -> String {
        guard ExportRef.contains(s) else { return (try? ShellQuote.quote(s)) ?? displayQuote(s) }
        var out = "\""
        for p in ExportRef.pieces(s) {
            switch p {
            case .variable(let n): out += "${\(n.uppercased())}"
            case .text(let t):
                for c in t {
                    if "\\\"$`".contains(c) { out.append("\\") }
                    out.append(c)
                }
            }
        }
        return out + "\""
    }

    static func command(_ c: Command) -> String {
        var words: [String] = []
        if !c.environment.isEmpty {
            words.append("env")
            words += c.environment.sorted { $0.key < $1.key }.map { quote("\($0.key)=\($0.value)") }
        }
        words += c.argv.map(quote)
        return words.joined(separator: " ")
    }

    /// Text for an unquoted heredoc: `\`, `$` and backquotes escaped, variables as `${NAME}`.
    static func heredocText(_ s: String) -> String {
        var out = ""
        for p in ExportRef.pieces(s) {
            switch p {
            case .variable(let n): out += "${\(n.uppercased())}"
            case .text(let t):
                for c in t {
                    if "\\$`".contains(c) { out.append("\\") }
                    out.append(c)
                }
            }
        }
        return out
    }

    static func handlerFunction(_ h: ExportHandler) -> String { "handler_" + h.rawValue.replacingOccurrences(of: " ", with: "_") }
    static func handlerFlag(_ h: ExportHandler) -> String { "NOTIFY_" + h.rawValue.uppercased().replacingOccurrences(of: " ", with: "_") }

    static func notifyLine(_ hs: [ExportHandler]) -> String {
        hs.isEmpty ? "" : "; " + hs.map { "\(handlerFlag($0))=1" }.joined(separator: "; ")
    }

    static func factTest(_ f: ExportFact) -> String {
        if f.test.first == "test" { return "[ " + f.test.dropFirst().map(quote).joined(separator: " ") + " ]" }
        return f.test.map(quote).joined(separator: " ") + " >/dev/null 2>&1"
    }

    // MARK: tasks

    static func task(_ t: ExportTask, _ out: inout Out) {
        switch t {
        case .note(let text):
            for l in text.split(separator: "\n", omittingEmptySubsequences: false) { out.line("# " + l) }
            out.line("note \(quote(text))")
        case .packages(let names, let prevent):
            out.line("read -r -a missing <<< \"$(missing_packages \(names.map(quote).joined(separator: " ")))\"")
            out.line("if [ \"${#missing[@]}\" -eq 0 ]; then ok \(quote("installed: " + names.joined(separator: " "))); else")
            out.indent += 1
            out.line("apt_update_once")
            // the wizard's install command, for the missing packages only
            let placeholder = "\u{E002}missing"
            let install = command(Apt.installCommand([placeholder], preventServiceStart: prevent))
            out.line(install.replacingOccurrences(of: quote(placeholder), with: "\"${missing[@]}\""))
            out.line("changed \"installed: ${missing[*]}\"")
            out.indent -= 1
            out.line("fi")
        case .systemUser(let name, _):
            out.line("if getent passwd \(quote(name)) >/dev/null; then ok \(quote("user \(name) exists")); else")
            out.indent += 1
            for c in DjangoStage.createUserCommands(name) { out.line(command(c)) }
            out.line("changed \(quote("user \(name) created"))")
            out.indent -= 1
            out.line("fi")
        case .directories(let paths, let owner, let group, let mode):
            out.line("ensure_dirs \(quote(owner)) \(quote(group)) \(String(mode, radix: 8)) \(paths.map(quote).joined(separator: " "))")
        case .pip(let venv, let reqs, let user):
            let r = reqs.map(quote).joined(separator: " ")
            out.line("if pins_installed \(quote(venv)) \(r); then ok \(quote("installed in \(venv): " + reqs.joined(separator: " "))); else")
            out.indent += 1
            out.line(command(Command(["runuser", "-u", user, "--", venv + "/bin/python", "-m", "pip", "install",
                                      "--disable-pip-version-check", "--no-input", "-q"] + reqs)))
            out.line("changed \(quote("installed in \(venv): " + reqs.joined(separator: " ")))")
            out.indent -= 1
            out.line("fi")
        case .commands(let title, let cmds, let unless, let onlyIf, let creates, let changedUnless, let notify):
            var conds: [(String, String)] = []
            if let creates { conds.append(("[ -e \(quote(creates)) ]", "\(creates) exists")) }
            if let unless { conds.append((command(unless) + " >/dev/null 2>&1", "already done")) }
            if let onlyIf { conds.append(("! " + command(onlyIf) + " >/dev/null 2>&1", "nothing to do")) }
            for (i, c) in conds.enumerated() {
                out.line((i == 0 ? "if " : "elif ") + c.0 + "; then ok \(quote(title + ": " + c.1))")
            }
            if !conds.isEmpty { out.line("else") }
            if !conds.isEmpty { out.indent += 1 }
            if let changedUnless, cmds.count == 1 {
                out.line("output=$(\(command(cmds[0])) 2>&1) || { printf '%s\\n' \"$output\" >&2; exit 1; }")
                out.line("printf '%s\\n' \"$output\"")
                out.line("if [[ $output == *\(quote(changedUnless))* ]]; then ok \(quote(title)); else changed \(quote(title))\(notifyLine(notify)); fi")
            } else {
                for c in cmds { out.line(command(c)) }
                out.line("changed \(quote(title))\(notifyLine(notify))")
            }
            if !conds.isEmpty { out.indent -= 1; out.line("fi") }
        case .file(let path, let content, let mode, let owner, let group, let validate, let notify):
            out.line("tmp=$(mktemp -- \(quote(path + ".djdeploy-new.XXXXXX")))")
            if let fn = out.functions[renderedContent(content)] {
                out.line("\(fn) \"$tmp\"")
            } else {
                self.content(content, to: "\"$tmp\"", &out)
            }
            let v = validate.map { " " + $0.map(quote).joined(separator: " ") } ?? ""
            out.line("if put_file \"$tmp\" \(quote(path)) \(String(format: "%04o", mode)) \(quote(owner)) \(quote(group))\(v); then :\(notifyLine(notify)); fi")
        case .symlink(let path, let target, let notify):
            out.line("if [ \"$(readlink -- \(quote(path)) || true)\" = \(quote(target)) ]; then ok \(quote("\(path) → \(target)")); else")
            out.line("    ln -sfn -- \(quote(target)) \(quote(path)); changed \(quote("\(path) → \(target)"))\(notifyLine(notify))")
            out.line("fi")
        case .absent(let path, let notify):
            out.line("if [ -e \(quote(path)) ] || [ -L \(quote(path)) ]; then")
            out.line("    rm -f -- \(quote(path)); changed \(quote("removed \(path)"))\(notifyLine(notify))")
            out.line("else ok \(quote("\(path) is absent")); fi")
        case .block(let path, let name, let body, let notify):
            out.line("tmp=$(mktemp)")
            out.raw("cat > \"$tmp\" <<\(eof)\n" + heredocText(body.hasSuffix("\n") ? body : body + "\n") + eof + "\n")
            out.line("if put_block \(quote(path)) \(quote(name)) \"$tmp\"; then :\(notifyLine(notify)); fi")
        case .replaceLines(let path, let regex, let replacement, _, let notify):
            out.line("if replace_lines \(quote(path)) \(quote(regex)) \(quote(replacement)); then :\(notifyLine(notify)); fi")
        case .serviceStarted(let name):
            out.line("ensure_started \(quote(name))")
        case .flushHandlers:
            out.line("flush_handlers")
        case .when(let fact, let negate, let tasks):
            out.line("if \(negate ? "! " : "")\(factTest(fact)); then   # \(negate ? "not " : "")\(fact.name)")
            out.indent += 1
            for t in tasks { task(t, &out) }
            out.indent -= 1
            out.line("fi")
        }
    }

    /// A content's bash, writing to "$1".
    static func renderedContent(_ c: ExportContent) -> String {
        var o = Out()
        content(c, to: "\"$1\"", &o)
        return o.text
    }

    static func heredoc(_ text: String, to dest: String, _ out: inout Out) {
        if text.hasSuffix("\n") {
            out.raw("cat > \(dest) <<\(eof)\n" + heredocText(text) + eof + "\n")
        } else {
            out.raw("head -c -1 > \(dest) <<\(eof)\n" + heredocText(text) + "\n" + eof + "\n")
        }
    }

    static func content(_ c: ExportContent, to dest: String, _ out: inout Out) {
        switch c {
        case .text(let s):
            heredoc(s, to: dest, &out)
        case .choice(let fact, let yes, let no):
            out.line("if \(factTest(fact)); then   # \(fact.name)")
            heredoc(yes, to: dest, &out)
            out.line("else")
            heredoc(no, to: dest, &out)
            out.line("fi")
        case .tree(let name, let nodes, let values):
            out.line("# rendered from templates/\(name).mustache with facts read now:")
            for f in c.facts {
                if f.isCombination {
                    let parts = f.all.map { "[ \"$F_\($0.name)\" = 1 ]" } + f.none.map { "[ \"$F_\($0.name)\" != 1 ]" }
                    out.line("F_\(f.name)=0; if \(parts.joined(separator: " && ")); then F_\(f.name)=1; fi")
                } else {
                    out.line("F_\(f.name)=0; if \(factTest(f)); then F_\(f.name)=1; fi")
                }
            }
            out.line("{")
            tree(nodes, values, &out)
            out.line("} > \(dest)")
        }
    }

    static func tree(_ nodes: [TemplateNode], _ values: [String: ExportValue], _ out: inout Out) {
        var pending: [String] = []
        func flush(_ out: inout Out) {
            guard !pending.isEmpty else { return }
            out.raw("cat <<\(eof)\n" + pending.joined(separator: "\n") + "\n" + eof + "\n")
            pending = []
        }
        for n in nodes {
            switch n {
            case .line(let pieces):
                var s = ""
                for p in pieces {
                    switch p {
                    case .text(let t): s += heredocText(t)
                    case .value(let k):
                        if case .text(let v)? = values[k] { s += heredocText(v) }
                    }
                }
                pending.append(s)
            case .section(let name, let inverted, let body):
                flush(&out)
                switch values[name] {
                case .flag(let b)?:
                    if b != inverted { tree(body, values, &out) }
                case .text(let t)?:
                    if t.isEmpty == inverted { tree(body, values, &out) }
                case nil:
                    if inverted { tree(body, values, &out) }
                case .fact(let f)?:
                    out.line("if [ \"$F_\(f.name)\" \(inverted ? "!=" : "=") 1 ]; then")
                    tree(body, values, &out)
                    out.line("fi")
                }
            }
        }
        flush(&out)
    }

    /// The variables referenced anywhere in the plan.
    static func usedVariables(_ plan: ExportPlan) -> Set<String> {
        var text = ""
        dump(plan.steps, to: &text)
        dump(plan.handlers.sorted { $0.key.rawValue < $1.key.rawValue }.map(\.value), to: &text)
        var out = Set<String>()
        for p in ExportRef.pieces(text) { if case .variable(let n) = p { out.insert(n) } }
        return out
    }

    // MARK: the helper functions at the top of every script

    static let helpers = #"""
    # ---------------------------------------------------------------- helpers
    CHANGES=0
    APT_UPDATED=0
    stage() { printf '\n== %s\n' "$1"; }
    step()  { printf -- '-- %s\n' "$1"; }
    note()  { printf '  note: %s\n' "$1"; }
    ok()    { printf '  ok: %s\n' "$1"; }
    changed() { CHANGES=$((CHANGES + 1)); printf '  changed: %s\n' "$1"; }

    check_input() {
        case $2 in
            '' | *[\'\"\`\$\\]* | *[[:space:]]*) echo "deploy.sh: $1 ('$2') is empty or holds quotes, spaces or \$" >&2; exit 2 ;;
        esac
    }

    apt_update_once() {
        if [ "$APT_UPDATED" = 0 ]; then
            DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 update
            APT_UPDATED=1
        fi
    }

    # The packages of "$@" that dpkg does not report as installed.
    missing_packages() {
        local p out=()
        for p in "$@"; do
            dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed$' || out+=("$p")
        done
        echo "${out[*]}"
    }

    # pins_installed VENV REQ...: every name==X.Y.* requirement is installed in the venv.
    pins_installed() {
        local venv=$1; shift
        [ -x "$venv/bin/python" ] || return 1
        "$venv/bin/python" -B - "$@" <<'PY'
    import sys
    from importlib import metadata
    for req in sys.argv[1:]:
        name, sep, spec = req.partition("==")
        if not sep:
            continue
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            sys.exit(1)
        want = spec[:-2] if spec.endswith(".*") else spec
        if not (have == want or (spec.endswith(".*") and have.startswith(want + "."))):
            sys.exit(1)
    PY
    }

    # ensure_dirs OWNER GROUP MODE DIR...: directories with that owner, group and mode.
    ensure_dirs() {
        local owner=$1 group=$2 mode=$3 d; shift 3
        for d in "$@"; do
            if [ -d "$d" ] && [ "$(stat -c '%U %G %a' -- "$d")" = "$owner $group $mode" ]; then
                ok "$d"
            else
                install -d -o "$owner" -g "$group" -m "$mode" -- "$d"
                changed "$d ($owner:$group $mode)"
            fi
        done
    }

    # put_file NEW DEST MODE OWNER GROUP [VALIDATE-COMMAND with %s]: DEST becomes NEW when its
    # content, mode or owner differ (the old file is kept as DEST.djdeploy-backup-TIME). The
    # validate command runs on NEW first; when it fails nothing changes. Returns 0 when changed.
    put_file() {
        local new=$1 dest=$2 mode=$3 owner=$4 group=$5 a
        shift 5
        if [ -f "$dest" ] && cmp -s -- "$new" "$dest" \
            && [ "$(stat -c '%a %U %G' -- "$dest")" = "${mode#0} $owner $group" ]; then
            rm -f -- "$new"; ok "$dest"; return 1
        fi
        if [ "$#" -gt 0 ]; then
            local cmd=()
            for a in "$@"; do cmd+=("${a//%s/$new}"); done
            if ! "${cmd[@]}"; then
                rm -f -- "$new"
                echo "deploy.sh: the new $dest does not pass validation; the old file is kept" >&2
                exit 1
            fi
        fi
        if [ -e "$dest" ]; then cp -p -- "$dest" "$dest.djdeploy-backup-$(date +%Y%m%d%H%M%S)"; fi
        chmod "$mode" "$new"
        chown "$owner:$group" "$new"
        mv -f -- "$new" "$dest"
        changed "$dest"
    }

    # edit_file block FILE NAME BODY-FILE | edit_file replace FILE REGEX REPLACEMENT: a Python
    # edit of FILE that keeps its owner and mode and backs it up first. block: the lines between
    # "# BEGIN djdeploy managed section: NAME" and its END line become BODY (appended the first
    # time); replace: every match of REGEX (Python re, multiline). Exit 0 changed, 1 unchanged.
    edit_file() {
        python3 -B - "$@" <<'PY'
    import os, re, sys, time, shutil
    mode, path, a, b = sys.argv[1:5]
    text = open(path).read()
    if mode == "block":
        begin = "# BEGIN djdeploy managed section: " + a
        end = "# END djdeploy managed section: " + a
        body = open(b).read().rstrip("\n").split("\n")
        lines = text.split("\n")
        if text.endswith("\n"):
            lines.pop()
        if begin in lines and end in lines[lines.index(begin):]:
            s = lines.index(begin)
            lines = lines[:s + 1] + body + lines[lines.index(end, s):]
        else:
            lines = lines + [begin] + body + [end]
        result = "\n".join(lines) + "\n"
    else:
        result = re.sub(a, b, text, flags=re.M)
    if result == text:
        sys.exit(1)
    shutil.copy2(path, path + ".djdeploy-backup-" + time.strftime("%Y%m%d%H%M%S"))
    st = os.stat(path)
    tmp = path + ".djdeploy-new"
    with open(tmp, "w") as f:
        f.write(result)
    os.chown(tmp, st.st_uid, st.st_gid)
    os.chmod(tmp, st.st_mode & 0o7777)
    os.replace(tmp, path)
    PY
    }

    # report_edit RC WHAT: edit_file's exit status as ok/changed (returns 0 when changed).
    report_edit() {
        case $1 in
            0) changed "$2"; return 0 ;;
            1) ok "$2"; return 1 ;;
            *) echo "deploy.sh: cannot edit $2" >&2; exit 1 ;;
        esac
    }

    # put_block FILE NAME BODY-FILE: the section NAME of FILE becomes BODY. Returns 0 when changed.
    put_block() {
        local rc=0
        edit_file block "$1" "$2" "$3" || rc=$?
        rm -f -- "$3"
        report_edit "$rc" "$1: section $2"
    }

    # replace_lines FILE REGEX REPLACEMENT. Returns 0 when changed.
    replace_lines() {
        local rc=0
        edit_file replace "$@" || rc=$?
        report_edit "$rc" "$1"
    }

    # ensure_started NAME: start the service when its pidfile names no live process.
    ensure_started() {
        local p
        p=$(cat -- "/run/$1.pid" 2>/dev/null || true)
        if [ -n "$p" ] && kill -0 "$p" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$p/status" 2>/dev/null; then
            ok "$1 runs (pid $p)"
        elif [ -d /run/systemd/system ]; then
            systemctl start "$1"; changed "$1 started"
        else
            service "$1" start; changed "$1 started"
        fi
    }
    """#
}
