// Saved progress and the run lock, under STATE_DIR. Nothing secret is ever stored here.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync, chmodSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { SetupError } from './errors.ts'
import { writeFileAtomic } from './files.ts'

export interface RunProgress {
  startedAt: string
  /** ids of tasks that finished in this (unfinished) run */
  completed: number[]
  failed?: { id: number; message: string }
  /** ids of completed tasks that changed something (the others were already up to date) */
  changed?: number[]
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
  moves?: Record<string, { before: string; after?: string; at: string }>
}

/** The saved-state key of an object whose move task 7 recorded: `Kind namespace/name`. */
export const moveKey = (ref: { kind: string; namespace?: string; name: string }) => `${ref.kind} ${ref.namespace ?? ''}/${ref.name}`

export function contentHash(content: string | null): string {
  return content === null ? 'deleted' : createHash('sha256').update(content).digest('hex')
}

export class StateStore {
  readonly file: string
  private state: SavedState

  constructor(
    readonly dir: string,
    repoDir: string,
  ) {
    this.file = join(dir, 'state.json')
    this.state = this.read(repoDir)
  }

  private read(repoDir: string): SavedState {
    if (!existsSync(this.file)) return { version: 1, repoDir, written: {} }
    let parsed: SavedState
    try {
      parsed = JSON.parse(readFileSync(this.file, 'utf8'))
    } catch {
      throw new SetupError(`saved progress ${this.file} is not valid JSON`, `delete it or rerun with --fresh`)
    }
    // Progress of another GitOps checkout does not apply here.
    if (parsed.repoDir !== repoDir) return { version: 1, repoDir, written: {} }
    return { ...parsed, written: parsed.written ?? {} }
  }

  get run(): RunProgress | undefined {
    return this.state.run
  }

  async save(): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 })
    await writeFileAtomic(this.file, `${JSON.stringify(this.state, null, 2)}\n`)
    chmodSync(this.file, 0o600)
  }

  async startRun(fresh: boolean): Promise<RunProgress> {
    if (fresh || !this.state.run) this.state.run = { startedAt: new Date().toISOString(), completed: [] }
    delete this.state.run.failed
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

  move(key: string): { before: string; after?: string; at: string } | undefined {
    return this.state.moves?.[key]
  }

  wrote(rel: string, content: string | null): boolean {
    return this.state.written[rel]?.includes(contentHash(content)) ?? false
  }

  /** After a commit holds them, the paths are clean and their write records can go. */
  async forgetWrites(paths: string[]): Promise<void> {
    for (const p of paths) delete this.state.written[p]
    await this.save()
  }
}

export interface LockHolder {
  pid: number
  host: string
  startedAt: string
  command: string
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Takes the run lock (O_EXCL create). A lock whose holder is gone is recovered with a message;
 * a live holder stops this run. Returns the release function and any recovery note.
 */
export function acquireLock(dir: string, command: string): { release: () => void; note?: string } {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const file = join(dir, 'run.lock')
  const me: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command }
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
      if (holder && holder.host === me.host && isAlive(holder.pid))
        throw new SetupError(
          `another setup run holds the lock: pid ${holder.pid} (${holder.command}), started ${holder.startedAt}`,
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
