#!/usr/bin/env bash
# Acceptance 4: the same end-to-end deployment as deploy-e2e.sh, with `target: local` as root
# (no SSH, no sudo). See deploy-e2e.sh for what is checked.
DJ_E2E_TARGET=local exec bash "$(dirname "${BASH_SOURCE[0]}")/deploy-e2e.sh" "$@"
