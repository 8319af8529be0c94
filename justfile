# `just` comes from the rust-just npm package (npx just ...).

# run the whole setup (all tasks, resumes an interrupted run)
setup *args:
    npx tsx scripts/run.ts {{args}}

# show what the setup would change, change nothing
plan:
    npx tsx scripts/run.ts --dry-run

# run one task of the plan, e.g. `just only 5`
only id:
    npx tsx scripts/run.ts --only {{id}}

# the test suite
test:
    npm test

# type check
typecheck:
    npx tsc -p tsconfig.json

# the one-command demo against the sandbox
demo:
    npm run demo

# start the sandbox cluster for a GitOps repo
sandbox repo:
    npx tsx scripts/sandbox.ts --repo {{repo}}
