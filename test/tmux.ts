// A real terminal for tests: a tmux session on its own socket running bash, into which a test types
// commands and keys and whose screen it reads back (`tmux capture-pane -p`). The CLI in it sees a
// TTY, so listr2's default (redrawing) renderer and the hidden prompt run as a person sees them.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { PROJECT } from './helpers.ts'

export const HAVE_TMUX = spawnSync('tmux', ['-V']).status === 0

const TSX = pathToFileURL(join(PROJECT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href

/** The command line that runs the setup CLI from any directory. */
export function cliCommand(args: string): string {
  return `node --import ${TSX} ${join(PROJECT, 'scripts', 'run.ts')} ${args}`
}

const quote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`

export class Terminal {
  private constructor(
    private readonly socket: string,
    readonly dir: string,
  ) {}

  /** A bash in a new tmux server; `env` is all it gets (plus PATH, HOME, LANG, TERM). */
  static start(env: NodeJS.ProcessEnv, opts: { width?: number; height?: number } = {}): Terminal {
    const dir = mkdtempSync(join(tmpdir(), 'term-'))
    const full: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', TERM: 'xterm-256color', PS1: '$ ', ...env }
    writeFileSync(join(dir, 'rc'), Object.entries(full).filter(([, v]) => v !== undefined).map(([k, v]) => `export ${k}=${quote(String(v))}\n`).join(''))
    // an empty .env here, found first: a developer's own .env beside the project stays out of the test
    writeFileSync(join(dir, '.env'), '', { mode: 0o600 })
    const socket = `setup-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
    const t = new Terminal(socket, dir)
    t.tmux('-f', '/dev/null', 'new-session', '-d', '-s', 't', '-x', String(opts.width ?? 120), '-y', String(opts.height ?? 50), '-c', dir, `env -i bash --noprofile --rcfile ${join(dir, 'rc')} -i`)
    return t
  }

  private tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' })
  }

  private commands = 0

  /** Types a command line and Enter; the shell prints `[exit-K N]` when it ends (K counts commands). */
  run(command: string): void {
    this.commands++
    this.tmux('send-keys', '-t', 't', '-l', `${command}; echo "[exit-${this.commands} $?]"`)
    this.tmux('send-keys', '-t', 't', 'Enter')
  }

  type(text: string): void {
    this.tmux('send-keys', '-t', 't', '-l', text)
  }

  /** tmux key names: Enter, C-c, C-d ... */
  press(...keys: string[]): void {
    this.tmux('send-keys', '-t', 't', ...keys)
  }

  /** The screen and its scrollback, wrapped lines joined. */
  screen(): string {
    return this.tmux('capture-pane', '-p', '-J', '-t', 't', '-S', '-2000')
  }

  /** The visible screen with its colours (SGR escape codes), without the scrollback. */
  coloured(): string {
    return this.tmux('capture-pane', '-p', '-e', '-t', 't')
  }

  /** What the screen shows since the last command line run() typed (its echo excluded). */
  output(): string {
    const screen = this.screen()
    const typed = `; echo "[exit-${this.commands} $?]"`
    const at = screen.lastIndexOf(typed)
    return at < 0 ? screen : screen.slice(at + typed.length)
  }

  /** Waits until the output of the last command matches. */
  async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const m = this.output().match(pattern)
      if (m) return m
      if (Date.now() > deadline) throw new Error(`the screen did not show ${pattern} within ${timeoutMs / 1000}s; it shows:\n${this.screen()}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  /** Waits for the exit code of the last command run(). */
  async exitCode(timeoutMs = 120_000): Promise<number> {
    // the typed command line itself shows `[exit-K $?]`, the shell's answer a number
    const m = await this.waitFor(new RegExp(`\\[exit-${this.commands} (\\d+)\\]`), timeoutMs)
    return Number(m[1])
  }

  stop(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server'])
    rmSync(this.dir, { recursive: true, force: true })
  }
}
