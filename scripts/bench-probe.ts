// The floor for the benchmark: the reads a converged run needs, done by the plainest Node program
// (node:fs, node:child_process, node:https; no runner, no listr2, no YAML parser, no Kubernetes client).
// It reads every file of the checkout, runs one `git status`, and sends each distinct API read the
// converged run sent once (the list comes from the benchmark, which recorded the run's requests),
// exec reads included, over one kept-alive TLS connection as the kubeconfig's admin (client
// certificate), as the runner does.
//
//   node --import tsx scripts/bench-probe.ts <plan.json>
//   plan.json: { repoDir, kubeconfig, gets: ["/api/v1/namespaces/argocd", ...], execs: ["/api/v1/namespaces/vault/pods/vault-0/exec?command=..."] }
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { Agent, request } from 'node:https'
import { join } from 'node:path'

interface Plan {
  repoDir: string
  kubeconfig: string
  gets: string[]
  execs: string[]
}

function readTree(dir: string): number {
  let bytes = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === '.git') continue
    const p = join(dir, e.name)
    if (e.isDirectory()) bytes += readTree(p)
    else bytes += readFileSync(p).length
  }
  return bytes
}

interface Access {
  server: URL
  /** TLS options: the CA and the client pair, and one kept-alive connection for the plain GETs */
  tls: { ca: string; cert: string; key: string }
  agent: Agent
}

/** server, CA and client pair of the kubeconfig's first cluster and user, read without a YAML parser */
function kubeconfig(file: string): Access {
  const text = readFileSync(file, 'utf8')
  const field = (name: string) => new RegExp(`^\\s*${name}:\\s*(\\S+)`, 'm').exec(text)?.[1]
  const data = (name: string) => Buffer.from(field(name) ?? '', 'base64').toString('utf8')
  const server = field('server')
  const tls = { ca: data('certificate-authority-data'), cert: data('client-certificate-data'), key: data('client-key-data') }
  if (!server || !tls.ca || !tls.cert || !tls.key) throw new Error(`no server/CA/client certificate in ${file}`)
  return { server: new URL(server), tls, agent: new Agent({ ...tls, keepAlive: true, maxSockets: 1 }) }
}

function get(access: Access, path: string): Promise<number> {
  const { server, agent } = access
  return new Promise((done, fail) => {
    const req = request({ host: server.hostname, port: server.port, path, agent, headers: { accept: 'application/json' } }, (res) => {
      let n = 0
      res.on('data', (d: Buffer) => (n += d.length))
      res.on('end', () => (res.statusCode && res.statusCode < 500 ? done(n) : fail(new Error(`GET ${path}: ${res.statusCode}`))))
    })
    req.on('error', fail)
    req.end()
  })
}

/** One pods/exec over a bare websocket upgrade; resolves when the server sends its close frame. */
function exec(access: Access, path: string): Promise<number> {
  const { server, tls } = access
  return new Promise((done, fail) => {
    const req = request({
      host: server.hostname,
      port: server.port,
      path,
      ...tls,
      agent: false,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        'sec-websocket-protocol': 'v4.channel.k8s.io',
      },
    })
    req.on('upgrade', (_res, socket, head) => {
      let buf = head
      let bytes = 0
      const scan = () => {
        // server frames are unmasked: [fin|opcode][len] [ext len] payload
        while (buf.length >= 2) {
          let len = buf[1] & 0x7f
          let off = 2
          if (len === 126) {
            if (buf.length < 4) return
            len = buf.readUInt16BE(2)
            off = 4
          } else if (len === 127) {
            if (buf.length < 10) return
            len = Number(buf.readBigUInt64BE(2))
            off = 10
          }
          if (buf.length < off + len) return
          const opcode = buf[0] & 0x0f
          bytes += len
          buf = buf.subarray(off + len)
          if (opcode === 0x8) {
            socket.destroy()
            return done(bytes)
          }
        }
      }
      socket.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d])
        scan()
      })
      socket.on('error', fail)
      scan()
    })
    req.on('response', (res) => fail(new Error(`exec ${path}: ${res.statusCode}`)))
    req.on('error', fail)
    req.end()
  })
}

async function main(): Promise<void> {
  const plan: Plan = JSON.parse(readFileSync(process.argv[2]!, 'utf8'))
  const fileBytes = readTree(plan.repoDir)
  execFileSync('git', ['-C', plan.repoDir, 'status', '--porcelain=v2', '--branch'], { encoding: 'utf8' })
  const access = kubeconfig(plan.kubeconfig)
  let apiBytes = 0
  for (const path of plan.gets) apiBytes += await get(access, path)
  for (const path of plan.execs) apiBytes += await exec(access, path)
  access.agent.destroy()
  process.stdout.write(`read ${fileBytes} bytes of files, 1 git status, ${plan.gets.length} GETs and ${plan.execs.length} execs (${apiBytes} bytes)\n`)
}

await main()
