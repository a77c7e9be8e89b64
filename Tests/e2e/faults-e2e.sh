#!/usr/bin/env bash
# Fault injection on the real loopback stack (issue 5): the full deploy of deploy-e2e.sh, with the
# wizard SIGKILLed DJ_E2E_KILLS times (default 30) at random moments and resumed each time, then
# the same independent checks, the no-change re-run and the no-change plan.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")" || exit 1
# The site is left deployed (DJ_E2E_KEEP=1) for verify-e2e.sh, which runs next.
DJ_E2E_KEEP=${DJ_E2E_KEEP:-1} DJ_E2E_KILLS=${DJ_E2E_KILLS:-30} exec bash ./deploy-e2e.sh
