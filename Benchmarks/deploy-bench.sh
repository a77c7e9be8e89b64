#!/usr/bin/env bash
# Full deploy on the loopback stack: `djdeploy run` against the tutorial's steps typed by hand
# (Benchmarks/hand-deploy.sh, one ssh session), each on a fresh server (Tests/e2e/lib/server.sh
# make_fresh with DJ_E2E_PURGE=0: apt packages stay installed, so neither side downloads them).
# djdeploy runs `--until go-live`: the same end state as the hand script, without the last
# stage (verify: grading the live site, ≈ 6 s here), which the tutorial has no step for.
# Rounds alternate hand, djdeploy, djdeploy, hand, … so that drift hits both alike.
#
#   flock /tmp/djd-machine.lock bash Benchmarks/deploy-bench.sh DJDEPLOY_BIN [ROUNDS]
#
# Then, when ansible-core (DJDEPLOY_ANSIBLE_VENV, default /tmp/djdeploy-ansible-venv) and
# `djdeploy export` are there (DJ_BENCH_RERUN=0 skips it): a full no-change re-run of the site
# djdeploy deployed, `djdeploy run --recheck` (every step checked again) against the second
# `ansible-playbook site.yml` of `djdeploy export --format ansible` (after one converging run).
#
# Root only; mutates this machine (other deploy tests use the same lock). Leaves no site running
# (e2e_end stops gunicorn and nginx and deletes the certificate). Prints one RESULT line.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
ROOT=$(pwd)
NAME=deploy-bench
die() { printf 'deploy-bench: FAIL: %s\n' "$*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root"
export DJDEPLOY_BIN=${1:?usage: deploy-bench.sh DJDEPLOY_BIN [ROUNDS]}
ROUNDS=${2:-1}
export DJ_E2E_PURGE=0
# shellcheck source=Tests/e2e/lib/setup.sh
. "$ROOT/Tests/e2e/lib/setup.sh"
e2e_begin
e2e_answers "$WORK/answers.yaml"

# Both sides start with the packages installed (cached), as DJ_E2E_PURGE=0 promises.
missing=()
for p in python3 python3-venv curl nginx certbot python3-certbot-nginx; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed$' || missing+=("$p")
done
if ((${#missing[@]})); then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 0755 /usr/sbin/policy-rc.d
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >"$WORK/apt.log" 2>&1
    rc=$?; rm -f /usr/sbin/policy-rc.d
    ((rc == 0)) || die "apt-get install ${missing[*]} failed (see $WORK/apt.log)"
fi

now() { date +%s.%N; }
site_up() { curl -fsS -o /dev/null -m 10 --resolve "$DOMAIN:443:127.0.0.1" "https://$DOMAIN/"; }
hand() {
    make_fresh
    local t0; t0=$(now)
    "${SSH[@]}" sudo DOMAIN="$DOMAIN" EMAIL="admin@$DOMAIN" ACME_SERVER="$DJ_ACME_SERVER" HSTS_FINAL_SECONDS=31536000 \
        bash -s < "$ROOT/Benchmarks/hand-deploy.sh" >"$WORK/hand-$1.log" 2>&1 || die "hand-deploy.sh failed (see $WORK/hand-$1.log)"
    HAND+=("$(echo "$(now) - $t0" | bc)")
    site_up || die "the hand-deployed site does not answer"
}
djd() {
    make_fresh
    rm -f "$WORK"/state*
    local t0; t0=$(now)
    "$DJDEPLOY_BIN" run --until go-live --answers "$WORK/answers.yaml" --state "$WORK/state.json" --yes --plain >"$WORK/djdeploy-$1.log" 2>&1 \
        || die "djdeploy run failed (see $WORK/djdeploy-$1.log)"
    DJD+=("$(echo "$(now) - $t0" | bc)")
    site_up || die "the djdeploy site does not answer"
    "$DJDEPLOY_BIN" status --state "$WORK/state.json" --plain >"$WORK/status-$1.txt" 2>&1
}
HAND=() DJD=()
for ((r = 0; r < ROUNDS; r++)); do
    if ((r % 2 == 0)); then hand "$r"; djd "$r"; else djd "$r"; hand "$r"; fi
    printf 'deploy-bench: round %d: hand %.1f s, djdeploy %.1f s\n' $((r + 1)) "${HAND[r]}" "${DJD[r]}"
done
slowest() {   # FILE: the slowest steps of a `djdeploy status`
sed -nE 's/^ +[^ ]+ ([a-z-]+\.[a-z-]+) [a-z]+ \(([0-9.]+) (ms|s)\).*/\2 \3 \1/p' "$1" \
    | awk '{ printf "%.2f %s\n", ($2 == "ms" ? $1 / 1000 : $1), $3 }' | sort -g -r | head -n "${2:-10}" | sed 's/^/  /'
}
echo "deploy-bench: djdeploy's slowest steps (last deploy):"
slowest "$WORK/status-$((ROUNDS - 1)).txt"
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mh=$(median "${HAND[@]}") md=$(median "${DJD[@]}")
printf 'RESULT deploy_rounds=%d deploy_hand_s=%.2f deploy_djdeploy_s=%.2f deploy_ratio=%.3f target_ratio=1.2\n' \
    "$ROUNDS" "$mh" "$md" "$(echo "$md / $mh" | bc -l)"

# --- a full no-change re-run: djdeploy run --recheck vs ansible-playbook of the exported playbook
VENV=${DJDEPLOY_ANSIBLE_VENV:-/tmp/djdeploy-ansible-venv}
if [[ ${DJ_BENCH_RERUN:-1} != 1 ]]; then
    echo "deploy-bench: re-run vs ansible skipped (DJ_BENCH_RERUN=$DJ_BENCH_RERUN)"
elif [[ ! -x $VENV/bin/ansible-playbook ]]; then
    echo "deploy-bench: re-run vs ansible skipped (no ansible-core in $VENV)"
elif ! "$DJDEPLOY_BIN" export --help >/dev/null 2>&1; then
    echo "deploy-bench: re-run vs ansible skipped (this djdeploy has no export command)"
else
    ((ROUNDS % 2 == 0)) && djd rerun-base   # the site must be djdeploy's, with its state file
    recap() { sed -n '/^PLAY RECAP/,$p' "$1" | grep -E 'ok=[0-9]+ +changed=' | head -n 1; }
    rerun_dj() {
        local t0; t0=$(now)
        "$DJDEPLOY_BIN" run --recheck ${2:+--until "$2"} --answers "$WORK/answers.yaml" --state "$WORK/state.json" --yes --plain \
            >"$WORK/rerun-$1.txt" 2>&1 || die "djdeploy run --recheck failed (see $WORK/rerun-$1.txt)"
        local t; t=$(echo "$(now) - $t0" | bc)
        [[ -n ${2:-} ]] && RE_DJ+=("$t")
        printf 'deploy-bench: djdeploy run --recheck%s: %.2f s; %s\n' "${2:+ --until $2}" "$t" "$(tail -n 1 "$WORK/rerun-$1.txt")"
    }
    playbook() {
        local t0; t0=$(now)
        (cd "$WORK/ansible" && ANSIBLE_NOCOLOR=1 ANSIBLE_LOCAL_TEMP=$WORK/ansible-tmp "$VENV/bin/ansible-playbook" site.yml) \
            >"$WORK/ansible-$1.txt" 2>&1 || die "ansible-playbook failed (see $WORK/ansible-$1.txt)"
        RE_AN+=("$(echo "$(now) - $t0" | bc)")
        echo "deploy-bench: ansible-playbook run $1: $(recap "$WORK/ansible-$1.txt" | sed 's/  */ /g')"
    }
    RE_DJ=() RE_AN=()
    "$DJDEPLOY_BIN" export --format ansible --answers "$WORK/answers.yaml" --out "$WORK/ansible" >"$WORK/export.txt" 2>&1 \
        || die "djdeploy export failed (see $WORK/export.txt)"
    # three samples (median): a single re-run of ~3 s is too noisy on a shared machine
    rerun_dj 1 go-live
    rerun_dj 2 go-live
    rerun_dj 3 go-live
    "$DJDEPLOY_BIN" status --state "$WORK/state.json" --plain >"$WORK/status-rerun.txt" 2>&1
    playbook converge
    RE_AN=()
    playbook 2
    if ((ROUNDS > 1)); then
        playbook 3
        rerun_dj full          # every stage, the grading (verify) included: for reference
    fi
    echo "deploy-bench: djdeploy's slowest steps in a no-change re-run (--until go-live):"
    slowest "$WORK/status-rerun.txt" 6
    site_up || die "the site does not answer after the re-runs"
    rd=$(median "${RE_DJ[@]}") ra=$(median "${RE_AN[@]}")
    printf 'RESULT rerun_djdeploy_s=%.2f rerun_ansible_s=%.2f rerun_speedup=%.1f target_speedup=10\n' \
        "$rd" "$ra" "$(echo "$ra / $rd" | bc -l)"
fi
