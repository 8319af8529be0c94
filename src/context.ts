// The typed context handed to every task instead of module-level state.
import type { Settings, Secrets } from './settings.ts'
import type { StateStore } from './state.ts'
import type { StopControl } from './stop.ts'

export interface Ctx {
  settings: Settings
  secrets: Secrets
  /** absolute path of the GitOps checkout */
  repoDir: string
  /** absolute path of this project (manifests/, docs/plans/) */
  projectDir: string
  /** check mode: plan only, change nothing */
  dryRun: boolean
  /** --offline: no calls to the GitHub API (the token and write-back checks say they were skipped) */
  offline?: boolean
  /** answer yes to questions; never widens what the setup may touch (see switchCluster) */
  yes: boolean
  /** --switch-cluster: the cluster differs from the one recorded for this repo, and that is meant */
  switchCluster?: boolean
  /** progress lines are redrawn in place (a terminal): a wait says its elapsed time every 2 s */
  liveProgress?: boolean
  /** progress lines for the current task (goes through the renderer, never straight to stdout) */
  log(line: string): void
  /** things the user must see after the run (printed once the renderer is done), e.g. resources broken before the setup */
  warn?(line: string): void
  /**
   * Lines that must reach the person whatever the renderer (warnings, evidence of a check): shown
   * with the task and printed again after the list, where listr2's redrawing renderer cannot drop them.
   */
  note?(line: string): void
  /** the explicit override for a GitHub token of an unusual shape (--any-token-shape) */
  anyTokenShape?: boolean
  /** early stops (Ctrl-C, SIGTERM): what the run changed only for its duration is put back through it */
  stop?: StopControl
  /**
   * Repo-relative paths that tasks in this run changed, or in dry-run would have changed.
   * Task 7 uses it in dry-run to report the commit that would follow.
   */
  touchedPaths: Set<string>
  /**
   * Dry-run only: what earlier tasks would have written (null: deleted), so later tasks plan against
   * the repo as it would be. Reads go through readRepoFile, which consults it.
   */
  overlay?: Map<string, string | null>
  /**
   * Dry-run only: the tasks so far with changes pending. Task 8's checks cannot pass before those
   * changes are made, so it says "not yet" instead of FAIL while there are any.
   */
  pendingTasks?: number[]
  /**
   * How a command printed for the person begins, repeating this invocation's settings file, apps and
   * overrides (`npx tsx scripts/run.ts --env-file try.env`); the runner puts it in place of the plain
   * `npx tsx scripts/run.ts` in every line it prints.
   */
  rerun?: string
  /** saved progress and the record of what this tool wrote */
  state: StateStore
  /** commit the runner pushed in this run (task 7), for the cluster half to wait on */
  pushedRevision?: string
}
