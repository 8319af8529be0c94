// Saved progress (one file per GitOps repo under STATE_DIR) and the run lock (in the repo's git dir).
// Nothing secret is ever stored here.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync, chmodSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { SetupError } from './errors.ts'
import { writeFileAtomic } from './files.ts'
import { gitDirs, SETUP_LOCK_NAME } from './git.ts'

export interface RunProgress {
  startedAt: string
  /** ids of tasks that finished in this (unfinished) run */
  completed: number[]
  failed?: { id: number; message: string }
  /**
   * What the finished tasks' results depend on: a hash of the settings that shape them and the
   * cluster they ran against. A resume trusts "done" only while both still hold.
   */
  basis?: RunBasis
  /** ids of completed tasks that changed something (the others were already up to date) */
  changed?: number[]
}

export interface RunBasis {
  settings: string
  /** kube-system namespace uid of the cluster the cluster tasks ran against */
  cluster?: string
}

/** The cluster a repo's setup runs against, as recorded by the first run that reached it. */
export interface ClusterIdentity {
  /** API server URL */
  server: string
  /** the kube-system namespace's uid: a rebuilt cluster at the same URL gets a new one */
  kubeSystemUid: string
  /** the context it was reached through */
  context: string
  recordedAt: string
}

/** What --list shows once a run has finished. */
export interface FinishedRun {
  startedAt: string
  finishedAt: string
  /** the tasks that changed something, with what they did */
  changed: { id: number; what: string }[]
}

export interface SavedState {
  version: 1
  repoDir: string
  /** the run in progress; absent once a run finished */
  run?: RunProgress
  /** the last run that finished */
  lastRun?: FinishedRun
  /**
   * sha256 of every content this tool wrote (or 'deleted') per repo path, recorded before the write.
   * A managed file whose uncommitted content is not one of these holds the user's own edits, and the
   * setup commit must not sweep them in.
   */
  written: Record<string, string[]>
  /**
   * Repo paths a lifecycle command (`--pause`, `--resume`, `--retire`) wrote and has not committed
   * yet: one stopped part-way (Ctrl-C) leaves them, and the next lifecycle commit takes them along
   * while their content is still this tool's (a stopped setup's writes stay for the setup's commit).
   */
  lifecycleWrites?: string[]
  /** the cluster this repo's setup ran against (see ClusterIdentity) */
  cluster?: ClusterIdentity
  /**
   * Set while this tool runs a git command that writes to the checkout (commit, push), cleared after
   * it. Still set at the next run = that command was killed, and the lock files git left behind
   * (`.git/index.lock`, ref locks) are this tool's own and safe to remove.
   */
  gitWrite?: { startedAt: string; what: string }
  /**
   * What task 7 saw when the app's new Application took over its Deployment and Service, per
   * `Kind namespace/name`: the uid before and after the move. Task 8 judges the move by this record,
   * so a later, legitimate re-creation of the Deployment does not fail it forever.
   */
  moves?: Record<string, MoveRecord>
  /**
   * The Applications task 7 judges, as they were before the push that starts the move (per
   * Application name). Saved before the push and kept until the app's wait is over, so a run that
   * stops mid-wait and is resumed judges against the state before the move, not against what the
   * first run left behind.
   */
  moveSnapshots?: Record<string, SavedAppSnapshot>
  /**
   * The apps this setup onboarded (their Application synced with the adopted objects), by
   * Application name, with when: `status` expects an ImageUpdater to select each of them.
   */
  onboarded?: Record<string, { at: string }>
}

/**
 * An adopted object's uid before the move (`pending`: saved before the push, the move not judged
 * yet) and after it (recorded once the app's Application took it over; undefined: deleted).
 */
export interface MoveRecord { before: string; after?: string; at: string; pending?: boolean }

/** AppSnapshot (src/cluster/app-snapshot.ts) as saved: its resources as a list. */
export interface SavedAppSnapshot {
  at: string
  exists: boolean
  sync?: string
  health?: string
  conditions: { type: string; message: string }[]
  resources: { key: string; group: string; kind: string; namespace: string; name: string; status?: string; health?: string; message?: string; requiresPruning?: boolean }[]
}

/** The saved-state key of an object whose move task 7 recorded: `Kind namespace/name`. */
export const moveKey = (ref: { kind: string; namespace?: string; name: string }) => `${ref.kind} ${ref.namespace ?? ''}/${ref.name}`

export function contentHash(content: string | null): string {
  return content === null ? 'deleted' : createHash('sha256').update(content).digest('hex')
}

/**
 * The saved-state file of one GitOps checkout: one file per repo, so two repos sharing a STATE_DIR
 * never mix (or overwrite) each other's progress and write records.
 */
export function stateFileOf(dir: string, repoDir: string): string {
  return join(dir, `state-${createHash('sha256').update(repoDir).digest('hex').slice(0, 16)}.json`)
}

/** Before one file per repo, every repo shared this one; it is still read for its own repo. */
const LEGACY_FILE = 'state.json'

export class StateStore {
  readonly file: string
  private state: SavedState
  /** the shared file of older versions, adopted for this repo and removed at the first save */
  private legacy?: string

  constructor(
    readonly dir: string,
    repoDir: string,
    /** --fresh: a saved-progress file that does not parse is started over instead of refused */
    private readonly fresh = false,
  ) {
    this.file = stateFileOf(dir, repoDir)
    this.state = this.read(repoDir)
  }

  private parse(file: string): SavedState | undefined {
    try {
      return JSON.parse(readFileSync(file, 'utf8'))
    } catch {
      if (this.fresh) return undefined
      throw new SetupError(
        `saved progress ${file} is not valid JSON`,
        `rerun with --fresh (it starts the saved progress over), or delete the file (rm ${file}); either way the next run checks every task again`,
      )
    }
  }

  private read(repoDir: string): SavedState {
    let parsed: SavedState | undefined
    if (existsSync(this.file)) parsed = this.parse(this.file)
    else {
      const legacy = join(this.dir, LEGACY_FILE)
      if (existsSync(legacy)) {
        const old = this.parse(legacy)
        if (old?.repoDir === repoDir) [parsed, this.legacy] = [old, legacy]
      }
    }
    if (!parsed || parsed.repoDir !== repoDir) return { version: 1, repoDir, written: {} }
    return { ...parsed, written: parsed.written ?? {} }
  }

  get run(): RunProgress | undefined {
    return this.state.run
  }

  async save(): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 })
    await writeFileAtomic(this.file, `${JSON.stringify(this.state, null, 2)}\n`)
    chmodSync(this.file, 0o600)
    if (this.legacy) rmSync(this.legacy, { force: true })
    this.legacy = undefined
  }

  /** The cluster recorded by an earlier run, if any. */
  get cluster(): ClusterIdentity | undefined {
    return this.state.cluster
  }

  async recordCluster(identity: ClusterIdentity): Promise<void> {
    this.state.cluster = identity
    await this.save()
  }

  async startRun(fresh: boolean, basis: RunBasis): Promise<RunProgress> {
    if (fresh || !this.state.run) this.state.run = { startedAt: new Date().toISOString(), completed: [] }
    delete this.state.run.failed
    this.state.run.basis = basis
    await this.save()
    return this.state.run
  }

  get lastRun(): FinishedRun | undefined {
    return this.state.lastRun
  }

  async taskDone(id: number, changed = false): Promise<void> {
    const run = this.state.run
    if (run && !run.completed.includes(id)) run.completed.push(id)
    if (run && changed && !(run.changed ??= []).includes(id)) run.changed.push(id)
    await this.save()
  }

  async taskFailed(id: number, message: string): Promise<void> {
    if (this.state.run) this.state.run.failed = { id, message }
    await this.save()
  }

  async finishRun(changed: FinishedRun['changed'] = []): Promise<void> {
    if (this.state.run) this.state.lastRun = { startedAt: this.state.run.startedAt, finishedAt: new Date().toISOString(), changed }
    delete this.state.run
    await this.save()
  }

  async recordWrite(rel: string, content: string | null): Promise<void> {
    const hashes = (this.state.written[rel] ??= [])
    const h = contentHash(content)
    if (!hashes.includes(h)) hashes.push(h)
    await this.save()
  }

  /** The git write of an earlier run that never finished (killed mid-way), if any. */
  get interruptedGitWrite(): { startedAt: string; what: string } | undefined {
    return this.state.gitWrite
  }

  async beginGitWrite(what: string): Promise<void> {
    this.state.gitWrite = { startedAt: new Date().toISOString(), what }
    await this.save()
  }

  async endGitWrite(): Promise<void> {
    if (!this.state.gitWrite) return
    delete this.state.gitWrite
    await this.save()
  }

  async recordMove(key: string, before: string, after: string | undefined): Promise<void> {
    this.state.moves = { ...(this.state.moves ?? {}), [key]: { before, after, at: new Date().toISOString() } }
    await this.save()
  }

  move(key: string): MoveRecord | undefined {
    return this.state.moves?.[key]
  }

  /** Before the push that starts a move: the uids of the objects to be adopted, and the snapshots of the Applications. */
  async recordMoveStart(uids: Record<string, string>, snapshots: Record<string, SavedAppSnapshot>): Promise<() => Promise<void>> {
    const was = { moves: this.state.moves, moveSnapshots: this.state.moveSnapshots }
    const at = new Date().toISOString()
    const moves = { ...(this.state.moves ?? {}) }
    for (const [key, before] of Object.entries(uids)) moves[key] = { before, at, pending: true }
    this.state.moves = moves
    this.state.moveSnapshots = snapshots
    await this.save()
    // the push did not happen after all: what was saved for it goes again
    return async () => {
      this.state.moves = was.moves
      this.state.moveSnapshots = was.moveSnapshots
      await this.save()
    }
  }

  moveSnapshot(app: string): SavedAppSnapshot | undefined {
    return this.state.moveSnapshots?.[app]
  }

  /** The app's wait is over: later runs judge it against what they see. */
  async forgetMoveSnapshot(app: string): Promise<void> {
    if (!this.state.moveSnapshots?.[app]) return
    delete this.state.moveSnapshots[app]
    if (Object.keys(this.state.moveSnapshots).length === 0) delete this.state.moveSnapshots
    await this.save()
  }

  /** The app's Application took over its objects (task 7): from now on `status` expects it updated. */
  async recordOnboarded(app: string): Promise<void> {
    if (this.state.onboarded?.[app]) return
    this.state.onboarded = { ...(this.state.onboarded ?? {}), [app]: { at: new Date().toISOString() } }
    await this.save()
  }

  /** Image Updater was retired (`--retire`): no app is expected to be updated any more. */
  async forgetOnboarded(): Promise<void> {
    if (!this.state.onboarded) return
    delete this.state.onboarded
    await this.save()
  }

  /** The apps the setup onboarded, by Application name. */
  get onboarded(): string[] {
    return Object.keys(this.state.onboarded ?? {})
  }

  wrote(rel: string, content: string | null): boolean {
    return this.state.written[rel]?.includes(contentHash(content)) ?? false
  }

  /** After a commit holds them, the paths are clean and their write records can go. */
  async forgetWrites(paths: string[]): Promise<void> {
    for (const p of paths) delete this.state.written[p]
    if (this.state.lifecycleWrites) {
      this.state.lifecycleWrites = this.state.lifecycleWrites.filter((p) => !paths.includes(p))
      if (!this.state.lifecycleWrites.length) delete this.state.lifecycleWrites
    }
    await this.save()
  }

  /** Before a lifecycle command writes these paths: see SavedState.lifecycleWrites. */
  async recordLifecycleWrites(paths: string[]): Promise<void> {
    const now = new Set(this.state.lifecycleWrites ?? [])
    if (paths.every((p) => now.has(p))) return
    for (const p of paths) now.add(p)
    this.state.lifecycleWrites = [...now].sort()
    await this.save()
  }

  get lifecycleWrites(): string[] {
    return this.state.lifecycleWrites ?? []
  }
}

export interface LockHolder {
  pid: number
  host: string
  startedAt: string
  command: string
  /** the holder's start time in clock ticks since boot (Linux), so a reused pid is not taken for it */
  procStart?: string
}

/** Start time of a process (field 22 of /proc/<pid>/stat), or undefined where /proc has no such file. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the command name (field 2) is in parentheses and may hold spaces: count from after it
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

/** Whether the lock's pid is still the process that took the lock, not another one that reuses it. */
function holderRunning(holder: LockHolder): boolean {
  try {
    process.kill(holder.pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  const now = processStart(holder.pid)
  if (holder.procStart !== undefined && now !== undefined) return now === holder.procStart
  // a lock without a start time (or no /proc): the holder was node running this setup
  try {
    return /node|tsx/.test(readFileSync(`/proc/${holder.pid}/cmdline`, 'utf8'))
  } catch {
    return true
  }
}

/**
 * Where the run lock of a GitOps checkout lives: in its common git dir, shared by every worktree
 * of the repo, so two runs on the same repo exclude each other whatever their STATE_DIR.
 */
export function lockFileOf(repoDir: string): string {
  const dirs = gitDirs(repoDir)
  if (!dirs) throw new SetupError(`GITOPS_REPO_DIR ${repoDir} is not a git checkout`, 'point GITOPS_REPO_DIR at the root of your GitOps repository clone')
  return join(dirs.commonDir, SETUP_LOCK_NAME)
}

/**
 * Takes the run lock of the GitOps repo (O_EXCL create). A lock whose holder is gone is recovered
 * with a message; a live holder stops this run. Returns the release function and any recovery note.
 */
export function acquireLock(repoDir: string, command: string): { release: () => void; note?: string } {
  const file = lockFileOf(repoDir)
  const me: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command, procStart: processStart(process.pid) }
  let note: string | undefined
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600)
      writeSync(fd, JSON.stringify(me))
      closeSync(fd)
      return { release: () => rmSync(file, { force: true }), note }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      let holder: LockHolder | undefined
      try {
        holder = JSON.parse(readFileSync(file, 'utf8'))
      } catch {
        holder = undefined // a lock cut short by a crash mid-write
      }
      if (holder && holder.host === me.host && holderRunning(holder))
        throw new SetupError(
          `another setup run holds the lock of this GitOps repo: pid ${holder.pid} (${holder.command}), started ${holder.startedAt}`,
          `wait for it to finish, or stop it (kill ${holder.pid}) and rerun`,
        )
      if (holder && holder.host !== me.host)
        throw new SetupError(`the run lock ${file} is held by pid ${holder.pid} on host ${holder.host}`, `make sure no run is going on there, then delete ${file}`)
      note = `recovered a stale run lock${holder ? ` from pid ${holder.pid} (started ${holder.startedAt}), which is no longer running` : ''}`
      rmSync(file, { force: true })
    }
  }
  throw new SetupError(`could not take the run lock ${file}`, `delete ${file} if no run is going on, then rerun`)
}
