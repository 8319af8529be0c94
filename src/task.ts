// The contract every step of the setup follows, in the spirit of Ansible modules and flux bootstrap:
// `plan` reads reality and returns what would change (nothing = "up to date"); the runner shows the
// changes, and outside dry-run applies them in order. A task is one file exporting one Task object.
import type { Ctx } from './context.ts'

export interface Change {
  /** one line: "write k8s/helm/manifests/it-tools/service.yaml", "git push origin main", "apply Application argocd/it-tools" */
  summary: string
  /** unified diff for file changes */
  diff?: string
  /** repo-relative paths this change writes or deletes (task 7 commits exactly these) */
  paths?: string[]
  /** for file changes: the content after apply (null: deleted), so dry-run can plan later tasks on it */
  preview?: { path: string; content: string | null }
  apply(): Promise<void>
}

export interface Task {
  /** the plan's task number: `--only 5` is the plan's task 5 */
  id: number
  title: string
  /** what the task works on: repo tasks never load the Kubernetes client */
  scope: 'repo' | 'cluster'
  /** the task checks rather than changes: nothing pending means "verified" (its notes are the evidence) */
  verifies?: boolean
  /** the task commits and pushes to the branch (so the branch needs an upstream) */
  publishes?: boolean
  /** repo-relative paths this task writes or deletes: task 7 commits exactly the union of these */
  managedPaths?(ctx: Ctx): string[]
  /**
   * Runs before any task changes anything and before the renderer starts: questions for the user
   * (a hidden token prompt) and checks whose failure later would leave the run half done.
   */
  prepare?(ctx: Ctx): Promise<void>
  /** Reads reality and returns the changes still needed, in order. Never writes. Throws SetupError on bad input. */
  plan(ctx: Ctx): Promise<Change[]>
}
