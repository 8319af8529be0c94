// One kept-alive HTTPS agent per cluster client. client-node builds a new https.Agent for every
// request (KubeConfig.createAgent), so each API call opens a new TCP connection, makes a new TLS
// context from the kubeconfig's CA and client pair, and does a full handshake. Against a TLS API
// server (k3s, the sandbox) that was most of a converged run's API time; one shared agent keeps
// the connection and reuses it.
import { Agent } from 'node:https'

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
  let shared: { key: string; agent: Agent } | undefined
  factory.createAgent = (cluster, options) => {
    if (cluster?.proxyUrl || !cluster?.server?.startsWith('https:')) return perRequest(cluster, options)
    // the same kubeconfig user gives the same options; a different one (never within a run) its own agent
    const key = JSON.stringify(options)
    if (shared?.key !== key) shared = { key, agent: new Agent({ ...options, keepAlive: true }) }
    return shared.agent
  }
}
