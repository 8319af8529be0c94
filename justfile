# `just` comes from the rust-just npm package: run these as `npx just <recipe>` (or put
# node_modules/.bin on PATH).

# run the whole setup (all tasks, resumes an interrupted run)
setup *args:
    npx tsx scripts/run.ts {{args}}

# show what the setup would change, change nothing (pending changes are not a failure here)
plan *args:
    #!/usr/bin/env bash
    # --dry-run exits 2 when changes are pending: a plan, not an error
    npx tsx scripts/run.ts --dry-run {{args}}
    code=$?
    if [ "$code" -eq 2 ]; then echo "(changes are pending: run 'npx just setup {{args}}' to apply them)"; exit 0; fi
    exit "$code"

# run one task of the plan, e.g. `npx just only 5` (more options after it: `npx just only 5 --env-file try.env`)
only id *args:
    npx tsx scripts/run.ts --only {{id}} {{args}}

# is Image Updater still keeping every app up to date? read-only; exit 0 yes, 1 a problem, 2 cannot tell
status *args:
    npx tsx scripts/status.ts {{args}}

# the test suite
test:
    npm test

# type check
typecheck:
    npx tsc -p tsconfig.json

# the one-command demo against the sandbox (`npx just demo --keep` leaves it running to look around)
demo *args:
    npx tsx scripts/demo.ts {{args}}

# a sample GitOps repo (the "before" state) with a bare origin, in dir (new or empty)
sample-repo dir:
    npx tsx scripts/sample-repo.ts {{dir}}

# start the sandbox cluster for a GitOps repo; its kubeconfig goes to dir/kubeconfig (fixed path)
sandbox repo dir:
    npx tsx scripts/sandbox.ts --repo {{repo}} --dir {{dir}}

# add an image tag to the running sandbox's registry, e.g. `npx just publish ghcr.io/meirongdev/it-tools:sha-1234567 /tmp/try/kube`
publish ref dir:
    npx tsx scripts/sandbox.ts publish {{ref}} --dir {{dir}}
