// A running sandbox's control folder: another terminal asks it for something (publish an image tag
// to its registry) by dropping a request file in `<dir>/control/`; the sandbox answers with a
// `.done` file next to it. Files, not a port: the sandbox's dir (its kubeconfig's folder) is all a
// person has to name, and the lock file there says whether a sandbox runs at all.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'

export const CONTROL_DIR = 'control'

export interface PublishRequest {
  action: 'publish'
  image: string
  tag: string
}
export interface ControlAnswer {
  ok: boolean
  message: string
}

/** `ghcr.io/owner/app:sha-1234567` → image and tag; a missing tag or a digest is refused with the form to use. */
export function parseImageTag(ref: string): { image: string; tag: string } {
  if (ref.includes('@')) throw new Error(`${ref}: a digest cannot be published; give a tag, e.g. ${ref.split('@')[0]}:sha-1234567`)
  const colon = ref.lastIndexOf(':')
  if (colon < 0 || colon < ref.lastIndexOf('/')) throw new Error(`${ref} has no tag; give <image>:<tag>, e.g. ${ref}:sha-1234567`)
  const image = ref.slice(0, colon)
  const tag = ref.slice(colon + 1)
  if (!image || !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) throw new Error(`"${tag}" is not a valid image tag (letters, digits, _ . -; at most 128; not starting with . or -)`)
  return { image, tag }
}

/** Serves the control folder: polls it (cheap; a person's pace) and answers each request once. */
export function serveControl(dir: string, handle: (req: PublishRequest) => ControlAnswer | Promise<ControlAnswer>): () => void {
  const folder = join(dir, CONTROL_DIR)
  mkdirSync(folder, { recursive: true, mode: 0o700 })
  let busy = false
  const poll = async () => {
    if (busy) return
    busy = true
    try {
      for (const f of readdirSync(folder).filter((n) => n.endsWith('.json'))) {
        const path = join(folder, f)
        let answer: ControlAnswer
        try {
          const req = JSON.parse(readFileSync(path, 'utf8')) as PublishRequest
          answer = req?.action === 'publish' && typeof req.image === 'string' && typeof req.tag === 'string' ? await handle(req) : { ok: false, message: `unknown request ${JSON.stringify(req?.action)}` }
        } catch (e) {
          answer = { ok: false, message: (e as Error).message }
        }
        const done = path.replace(/\.json$/, '.done')
        writeFileSync(`${done}.tmp`, JSON.stringify(answer))
        renameSync(`${done}.tmp`, done)
        rmSync(path, { force: true })
      }
    } catch {
      // the folder went away (the sandbox is stopping)
    } finally {
      busy = false
    }
  }
  const timer = setInterval(() => void poll(), 200)
  timer.unref()
  return () => {
    clearInterval(timer)
    rmSync(folder, { recursive: true, force: true })
  }
}

/** Sends one request to the sandbox serving `dir` and waits for its answer. */
export async function sendControl(dir: string, req: PublishRequest, timeoutMs = 10_000): Promise<ControlAnswer> {
  const folder = join(dir, CONTROL_DIR)
  if (!existsSync(folder)) throw new Error(`no sandbox serves ${dir} (no ${CONTROL_DIR}/ there): start one with npx tsx scripts/sandbox.ts --repo <dir> --dir ${dir}`)
  const id = `${Date.now()}-${randomBytes(4).toString('hex')}`
  const path = join(folder, `${id}.json`)
  writeFileSync(`${path}.tmp`, JSON.stringify(req))
  renameSync(`${path}.tmp`, path)
  const done = join(folder, `${id}.done`)
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (existsSync(done)) {
      const answer = JSON.parse(readFileSync(done, 'utf8')) as ControlAnswer
      rmSync(done, { force: true })
      return answer
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  rmSync(path, { force: true })
  throw new Error(`the sandbox serving ${dir} did not answer within ${timeoutMs / 1000}s (is it still running?)`)
}
