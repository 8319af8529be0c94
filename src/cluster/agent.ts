// One kept-alive HTTPS agent per cluster client. client-node builds a new https.Agent for every
// request (KubeConfig.createAgent), so each API call opens a new TCP connection, makes a new TLS
// context from the kubeconfig's CA and client pair, and does a full handshake. Against a TLS API
// server (k3s, the sandbox) that was most of a converged run's API time; one shared agent keeps
// the connection and reuses it. The agent also holds one TLS context for all of its connections: an
// exec's WebSocket cannot reuse a connection (the upgrade takes it over), and building the context
// again from the PEM texts for each one cost about 3 ms of CPU a connection.
import { Agent } from 'node:https'
import { createSecureContext, type SecureContextOptions } from 'node:tls'

interface AgentFactory {
  createAgent(cluster: { server?: string; proxyUrl?: string } | null | undefined, options: Record<string, unknown>): unknown
}

/**
 * Makes `kc` hand out one shared keep-alive agent for direct https servers (proxies keep
 * client-node's own). createAgent is client-node's internal factory: should a version drop it,
 * requests keep working with an agent each.
 */
export function shareOneAgent(kc: object): void {
  const factory = kc as Partial<AgentFactory>
  if (typeof factory.createAgent !== 'function') return
  const perRequest = factory.createAgent.bind(kc)
  // One agent per set of options. Requests and exec WebSockets pass different options (ws adds its
  // own TLS fields), so keeping only the last agent made a new one, and a new connection, for the
  // first request after every exec.
  const shared = new Map<string, Agent>()
  factory.createAgent = (cluster, options) => {
    if (cluster?.proxyUrl || !cluster?.server?.startsWith('https:')) return perRequest(cluster, options)
    const key = optionsKey(options)
    let agent = shared.get(key)
    // tls.connect uses a given secureContext as it is, instead of making one from ca/cert/key
    if (!agent) shared.set(key, (agent = new Agent({ ...options, keepAlive: true, secureContext: createSecureContext(options as SecureContextOptions) })))
    return agent
  }
}

/**
 * The options as one string, cheaply: client-node passes the PEM texts as new Buffers on every
 * request, and JSON.stringify writes a Buffer as an array of numbers (about 4 ms per 30 requests).
 */
function optionsKey(options: Record<string, unknown>): string {
  return Object.entries(options)
    .map(([name, value]) => `${name}=${Buffer.isBuffer(value) ? `b:${value.toString('latin1')}` : JSON.stringify(value)}`)
    .join('\0')
}
