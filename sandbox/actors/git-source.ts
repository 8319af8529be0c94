// Reads the GitOps repository the way Argo CD's repo server does: from the remote (here the bare
// `origin` on disk), at a revision, with plain git commands. Also maps an Application's repoURL to
// that remote when it names this repository.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export async function git(args: string[], opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const { stdout } = await run('git', args, { cwd: opts.cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', ...opts.env }, encoding: 'utf8' })
  return stdout
}

/** `https://github.com/a/b.git`, `git@github.com:a/b` and `https://github.com/a/b/` compare equal. */
export function normaliseRepoUrl(url: string): string {
  return url.trim().toLowerCase().replace(/^git@([^:]+):/, 'https://$1/').replace(/^ssh:\/\/git@/, 'https://').replace(/\/+$/, '').replace(/\.git$/, '')
}

/** One entry of `git ls-tree -r` (a file or a symlink, with its blob id). */
interface TreeEntry {
  mode: string
  id: string
  path: string
}

const KUSTOMIZATION_NAMES = new Set(['kustomization.yaml', 'kustomization.yml', 'Kustomization'])

export class GitRemote {
  constructor(readonly bareDir: string) {}

  /** whole-repo listings of the last commits asked about (one git process per new commit) */
  private readonly listings = new Map<string, Promise<TreeEntry[]>>()
  /** kustomization blob id → whether it names a path outside its folder (`..`) */
  private readonly escapes = new Map<string, Promise<boolean>>()

  private listTree(sha: string): Promise<TreeEntry[]> {
    let listing = this.listings.get(sha)
    if (!listing) {
      listing = git(['-C', this.bareDir, 'ls-tree', '-r', '-z', sha]).then((out) =>
        out.split('\0').filter(Boolean).map((line) => {
          const [meta, path] = [line.slice(0, line.indexOf('\t')), line.slice(line.indexOf('\t') + 1)]
          const [mode, , id] = meta.split(' ')
          return { mode: mode!, id: id!, path }
        }),
      )
      listing.catch(() => this.listings.delete(sha))
      this.listings.set(sha, listing)
      // a few commits are enough: the Argo CD actor asks about the newest ones
      for (const old of this.listings.keys()) if (this.listings.size > 4) this.listings.delete(old)
    }
    return listing
  }

  /**
   * What a render of `path` at `sha` reads, as a key: the ids of the files under it when nothing there
   * can reach outside (no symlink, no kustomization naming `..`), else the commit itself. Two commits
   * with the same key render the same, so an app whose folder a commit left alone is not rendered
   * again (a render is a `git archive` and a `kubectl kustomize`: seconds for a repo of 30 apps).
   */
  async renderKey(sha: string, path: string | undefined): Promise<string> {
    const clean = (path ?? '').replace(/^\.?\/+|\/+$/g, '')
    if (!clean || clean === '.') return sha
    const entries = (await this.listTree(sha)).filter((e) => e.path.startsWith(`${clean}/`))
    if (entries.some((e) => e.mode === '120000')) return sha
    for (const e of entries) {
      if (!KUSTOMIZATION_NAMES.has(e.path.slice(e.path.lastIndexOf('/') + 1))) continue
      let escape = this.escapes.get(e.id)
      if (!escape) {
        escape = git(['-C', this.bareDir, 'cat-file', 'blob', e.id]).then((text) => text.includes('..'))
        this.escapes.set(e.id, escape)
      }
      if (await escape) return sha
    }
    return `files:${clean}:${createHash('sha1').update(entries.map((e) => `${e.mode} ${e.id} ${e.path}`).join('\n')).digest('hex')}`
  }

  /** The commit sha of a branch, tag or sha; undefined when it does not exist. `HEAD`/'' = default branch. */
  async resolve(revision: string | undefined): Promise<string | undefined> {
    const rev = !revision || revision === 'HEAD' ? 'HEAD' : revision
    // The Argo CD actor resolves every app's revision on every cycle (every 20 ms in tests): a
    // git process each time kept a core busy while nothing changed. A branch's loose ref file
    // holds its commit, so it is read directly; anything else (tags, packed refs, shas) asks git.
    const loose = await this.looseBranchSha(rev)
    if (loose) return loose
    for (const candidate of rev === 'HEAD' ? ['HEAD'] : [`refs/heads/${rev}`, `refs/tags/${rev}`, rev]) {
      try {
        return (await git(['-C', this.bareDir, 'rev-parse', '--verify', '-q', `${candidate}^{commit}`])).trim()
      } catch {
        // try the next form
      }
    }
    return undefined
  }

  /** The sha in the loose ref file of branch `rev` (HEAD: the branch it names), else undefined. */
  private async looseBranchSha(rev: string): Promise<string | undefined> {
    const read = (file: string) => readFile(join(this.bareDir, file), 'utf8').catch(() => undefined)
    let ref = `refs/heads/${rev}`
    if (rev === 'HEAD') {
      const head = /^ref: (refs\/heads\/\S+)\n?$/.exec((await read('HEAD')) ?? '')
      if (!head) return undefined
      ref = head[1]!
    } else if (rev.includes('..') || /^[0-9a-f]{40}$/.test(rev)) return undefined
    const text = await read(ref)
    return text && /^[0-9a-f]{40}\n$/.test(text) ? text.trim() : undefined
  }

  /** The default branch name (what HEAD points to). */
  async defaultBranch(): Promise<string> {
    return (await git(['-C', this.bareDir, 'symbolic-ref', '--short', 'HEAD'])).trim()
  }

  /** Files (paths relative to the repo root) under `dir` at `sha`. */
  async listFiles(sha: string, dir: string): Promise<string[]> {
    const clean = dir.replace(/^\.?\/+|\/+$/g, '')
    const out = await git(['-C', this.bareDir, 'ls-tree', '-r', '--name-only', '-z', sha, '--', clean || '.'])
    return out.split('\0').filter(Boolean)
  }

  async pathExists(sha: string, path: string): Promise<boolean> {
    const clean = path.replace(/^\.?\/+|\/+$/g, '')
    if (!clean) return true
    try {
      await git(['-C', this.bareDir, 'cat-file', '-e', `${sha}:${clean}`])
      return true
    } catch {
      return false
    }
  }

  async show(sha: string, file: string): Promise<string> {
    return git(['-C', this.bareDir, 'show', `${sha}:${file.replace(/^\.?\/+/, '')}`])
  }

  async showIfExists(sha: string, file: string): Promise<string | undefined> {
    return (await this.pathExists(sha, file)) ? this.show(sha, file) : undefined
  }

  /** Writes the whole tree at `sha` into a fresh temp dir (caller removes it). */
  async exportTree(sha: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'sandbox-argocd-'))
    try {
      await run('sh', ['-c', 'git -C "$1" archive --format=tar "$2" | tar -x -C "$3"', 'sh', this.bareDir, sha, dir])
    } catch (e) {
      await rm(dir, { recursive: true, force: true })
      throw e
    }
    return dir
  }
}
