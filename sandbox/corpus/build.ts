// Builds a corpus GitOps repository (a "before" homelab repo of one shape) in a temp folder: a
// working checkout with one commit, pushed to a bare `origin`, plus the settings that point the
// setup at it. Each shape lives in its own file beside this one; `corpus` lists them.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

export interface CorpusShape {
  /** short name, also the temp folder's prefix */
  name: string
  /** what makes this shape different from the others (one line) */
  shape: string
  /** the repo URL its Applications use */
  repoUrl: string
  /** the it-tools tag that runs before the setup */
  imageTag: string
  files: Record<string, string>
  /** the setup's settings for this repo (GITOPS_REPO_DIR is added when it is built) */
  settings: Record<string, string>
  /** product features this shape needs beyond the sample repo's (reported when a run cannot pass yet) */
  needs: ('app-of-apps' | 'wildcard-include')[]
}

export interface CorpusRepo {
  shape: CorpusShape
  /** the working checkout (GITOPS_REPO_DIR) */
  dir: string
  /** the bare repository `origin` points to */
  origin: string
  /** the temp folder holding both */
  root: string
  /** settings for the setup, GITOPS_REPO_DIR included */
  env: Record<string, string>
}

const IDENTITY = { GIT_AUTHOR_NAME: 'homelab', GIT_AUTHOR_EMAIL: 'homelab@example.com', GIT_COMMITTER_NAME: 'homelab', GIT_COMMITTER_EMAIL: 'homelab@example.com' }

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, ...IDENTITY } }).trim()
}

/** Lines ended with CRLF, as an editor on Windows saves them (git stores them as they are: no autocrlf here). */
export function crlf(text: string): string {
  return text.replace(/\r?\n/g, '\r\n')
}

export function buildCorpusRepo(shape: CorpusShape, root = mkdtempSync(join(tmpdir(), `corpus-${shape.name}-`))): CorpusRepo {
  const dir = join(root, 'gitops')
  const origin = join(root, 'origin.git')
  mkdirSync(dir, { recursive: true })
  for (const [rel, content] of Object.entries(shape.files)) {
    const abs = join(dir, rel)
    mkdirSync(dirname(abs), { recursive: true })
    writeFileSync(abs, content)
  }
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', origin])
  git(dir, 'init', '-q', '-b', 'main')
  git(dir, 'config', 'user.name', 'homelab')
  git(dir, 'config', 'user.email', 'homelab@example.com')
  git(dir, 'config', 'core.autocrlf', 'false')
  git(dir, 'add', '-A')
  git(dir, 'commit', '-q', '-m', `homelab (${shape.name}) before image updater`)
  git(dir, 'remote', 'add', 'origin', origin)
  git(dir, 'push', '-q', '-u', 'origin', 'main')
  return { shape, dir, origin, root, env: { ...shape.settings, GITOPS_REPO_DIR: dir } }
}
