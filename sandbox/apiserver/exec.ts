// pods/exec over websocket, in the channel protocols client-node and kubectl speak:
// each binary frame starts with a channel byte (0 stdin, 1 stdout, 2 stderr, 3 status JSON,
// 4 resize; in v5.channel.k8s.io 255 = "close channel N", which is how a client ends stdin).
// In v4 a client can only end stdin by closing the socket, so the command runs then, unheard.
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { ApiError, type Store } from '../store.ts'
import type { Pods } from './pods.ts'
import { rawErrorResponse } from './status.ts'

export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io']

const STDIN = 0
const STDOUT = 1
const STDERR = 2
const STATUS = 3
const CLOSE = 255

export class ExecServer {
  private readonly wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => EXEC_PROTOCOLS.find((p) => offered.has(p)) ?? false,
  })

  constructor(
    private readonly store: Store,
    private readonly pods: Pods,
    private readonly recordCommand: (command: string[]) => void,
  ) {}

  /** Refuses an upgrade with a Status body (the client sees e.g. `Unexpected server response: 404`). */
  refuse(socket: Duplex, err: ApiError): void {
    socket.end(rawErrorResponse(err))
  }

  handle(req: IncomingMessage, socket: Duplex, head: Buffer, namespace: string, pod: string, query: URLSearchParams): void {
    const command = query.getAll('command')
    if (command.length === 0) return this.refuse(socket, new ApiError(400, 'BadRequest', 'you must specify at least 1 command'))
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim())
    if (!EXEC_PROTOCOLS.some((p) => offered.includes(p))) {
      return this.refuse(socket, new ApiError(400, 'BadRequest', `none of the offered subprotocols are supported; supported: ${EXEC_PROTOCOLS.join(', ')}`))
    }
    if (!this.store.get({ apiVersion: 'v1', kind: 'Pod', namespace, name: pod })) {
      return this.refuse(socket, new ApiError(404, 'NotFound', `pods "${pod}" not found`, undefined, { name: pod, kind: 'pods' }))
    }
    this.recordCommand(command)
    const wantsStdin = query.get('stdin') === 'true' || query.get('stdin') === '1'
    const handler = this.pods.execHandler(namespace, pod)
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const v5 = ws.protocol === 'v5.channel.k8s.io'
      const chunks: Buffer[] = []
      let started = false
      const run = async () => {
        if (started) return
        started = true
        if (!handler) {
          return finish(ws, '', '', {
            metadata: {},
            status: 'Failure',
            message: `failed to exec in container: OCI runtime exec failed: exec failed: unable to start container process: exec: "${command[0]}": executable file not found in $PATH: unknown`,
            reason: 'InternalError',
            details: { causes: [{ message: `exec: "${command[0]}": executable file not found in $PATH` }] },
            code: 500,
          })
        }
        try {
          const r = await handler(command, Buffer.concat(chunks))
          const status =
            r.exitCode === 0
              ? { metadata: {}, status: 'Success' }
              : {
                  metadata: {},
                  status: 'Failure',
                  message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${r.exitCode}`,
                  reason: 'NonZeroExitCode',
                  details: { causes: [{ reason: 'ExitCode', message: String(r.exitCode) }] },
                }
          finish(ws, query.get('stdout') === 'false' ? '' : r.stdout, query.get('stderr') === 'false' ? '' : r.stderr, status)
        } catch (e) {
          finish(ws, '', '', { metadata: {}, status: 'Failure', message: `Internal error occurred: ${(e as Error).message}`, reason: 'InternalError', code: 500 })
        }
      }
      ws.on('message', (data: Buffer, isBinary) => {
        const buf = isBinary ? data : Buffer.from(data.toString(), 'utf8')
        if (buf.length === 0) return
        if (buf[0] === STDIN) chunks.push(buf.subarray(1))
        else if (v5 && buf[0] === CLOSE && buf[1] === STDIN) void run()
      })
      // Without v5's close signal, the end of stdin is the end of the connection.
      ws.on('close', () => void run())
      if (!wantsStdin) void run()
    })
  }

  close(): void {
    for (const ws of this.wss.clients) ws.terminate()
    this.wss.close()
  }
}

function finish(ws: WebSocket, stdout: string, stderr: string, status: unknown): void {
  if (ws.readyState !== ws.OPEN) return
  const frame = (channel: number, text: string) => Buffer.concat([Buffer.from([channel]), Buffer.from(text, 'utf8')])
  if (stdout) ws.send(frame(STDOUT, stdout))
  if (stderr) ws.send(frame(STDERR, stderr))
  ws.send(frame(STATUS, JSON.stringify(status)))
  ws.close(1000)
}
