// Reads of one run, each done once: the checkout's `git status` and every cluster object read (see
// src/cluster/read-cache.ts) are kept until this run writes something, then read again. The runner
// turns this on for its context (keepRunReads) and drops them around each change it applies (a file write, a commit, a push, a cluster write: any of
// them can change what a later read would see); the cluster client drops them on its own writes.
// A wait reads fresh (it watches, and sees what controllers do meanwhile) unless the kept object
// already is what it waits for; while a change is applied or a wait runs, nothing is kept at all:
// a wait's check reads other objects (the Secret ESO creates, the Deployment a sync replaces) again
// and again, and a kept read would hold the first answer until the wait timed out.
import type { Ctx } from './context.ts'
import { repoStatus, type RepoStatus } from './git.ts'

export class RunReads {
  private entries = new Map<string, Promise<unknown>>()
  /** how many `fresh` sections are open: reads inside them are neither served from nor kept */
  private freshSections = 0

  /** The value of `read` for `key`, read once until the next `forget` (a failed read is not kept). */
  once<T>(key: string, read: () => Promise<T>): Promise<T> {
    if (this.freshSections > 0) return read()
    let entry = this.entries.get(key) as Promise<T> | undefined
    if (!entry) {
      entry = read()
      this.entries.set(key, entry)
      const kept = entry
      entry.catch(() => {
        if (this.entries.get(key) === kept) this.entries.delete(key)
      })
    }
    return entry
  }

  /** The kept read for `key`, if there is one (never reads). */
  peek<T>(key: string): Promise<T> | undefined {
    return this.entries.get(key) as Promise<T> | undefined
  }

  /** Records a value seen fresh (a wait's final object), for the next read of `key`. */
  seen<T>(key: string, value: T): void {
    if (this.freshSections > 0) return
    this.entries.set(key, Promise.resolve(value))
  }

  /**
   * Runs `work` with every read done fresh and none kept (applying a change, waiting on the
   * cluster). A change may write, so what was kept before is dropped before and after it; a wait
   * only reads (`writes: false`), and what was kept stays kept.
   */
  async fresh<T>(work: () => Promise<T>, opts: { writes: boolean } = { writes: true }): Promise<T> {
    if (opts.writes) this.forget()
    this.freshSections++
    try {
      return await work()
    } finally {
      this.freshSections--
      if (opts.writes) this.forget()
    }
  }

  forget(): void {
    this.entries.clear()
  }
}

/** What a context without kept reads gets: every read is done again. */
class FreshReads extends RunReads {
  override once<T>(_key: string, read: () => Promise<T>): Promise<T> {
    return read()
  }

  override seen(): void {}
}

const FRESH = new FreshReads()
const reads = new WeakMap<Ctx, RunReads>()

/**
 * Keeps reads for this context from now on. Only the runner calls it, since it is what drops them
 * around every change it applies; code that plans and applies by itself (a test harness, a task run
 * by other means) reads fresh every time.
 */
export function keepRunReads(ctx: Ctx): void {
  if (!reads.has(ctx)) reads.set(ctx, new RunReads())
}

export function runReads(ctx: Ctx): RunReads {
  return reads.get(ctx) ?? FRESH
}

/** Something was written: every kept read is stale. */
export function forgetRunReads(ctx: Ctx): void {
  reads.get(ctx)?.forget()
}

/**
 * The checkout's branch, upstream, HEAD and changed files, read once per run until the run writes.
 * Callers filter `changed` themselves; a copy each time, so one caller's edits never reach another.
 */
export async function checkoutStatus(ctx: Ctx): Promise<RepoStatus> {
  const status = await runReads(ctx).once('git status', () => repoStatus(ctx.repoDir))
  return structuredClone(status)
}
