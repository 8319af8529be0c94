// The kubeconfig's client certificate, checked on this machine before any request: k3s issues the
// certificate in its k3s.yaml for a year, and a copy taken to a laptop stops working on that day
// with nothing but "401 Unauthorized" from the API server. k3s renews its certificates, and rewrites
// k3s.yaml, when it starts within 90 days of their expiry; a copy elsewhere is never renewed. The
// expiry is said with its date and that fix.
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { SetupError } from '../errors.ts'
import { K3S_KUBECONFIG } from './kubeconfig-file.ts'

/** What of a kubeconfig user this check reads (client-node's User). */
export interface KubeconfigUser {
  name: string
  certData?: string
  certFile?: string
  token?: string
  exec?: unknown
  authProvider?: unknown
  username?: string
}

const DAY = 86_400_000

/** The user's client certificate, or undefined when it has none (or it cannot be read here). */
function certificateOf(user: KubeconfigUser): X509Certificate | undefined {
  try {
    if (user.certData) return new X509Certificate(Buffer.from(user.certData, 'base64'))
    if (user.certFile) return new X509Certificate(readFileSync(user.certFile))
  } catch {
    // not a certificate client-node can use either: the TLS handshake reports it
  }
  return undefined
}

/**
 * A SetupError when the user signs in with a client certificate only and it is expired or not valid
 * yet (a clock far off); undefined otherwise. `file` and `server` go into the fix.
 */
export function clientCertificateProblem(user: KubeconfigUser | null | undefined, context: string, file: string, server: string, now = new Date()): SetupError | undefined {
  if (!user || user.token || user.exec || user.authProvider || user.username) return undefined
  const cert = certificateOf(user)
  if (!cert) return undefined
  const from = new Date(cert.validFrom)
  const to = new Date(cert.validTo)
  const cn = cert.subject.split('\n').find((l) => l.startsWith('CN='))
  const who = `the client certificate of kubeconfig user ${user.name} (context ${context}${cn ? `, ${cn}` : ''})`
  if (to.getTime() <= now.getTime()) {
    const days = Math.floor((now.getTime() - to.getTime()) / DAY)
    return new SetupError(
      `${who} expired on ${to.toISOString().slice(0, 10)}${days ? ` (${days} day(s) ago)` : ''}, so the API server at ${server} answers 401 Unauthorized to everything; nothing was changed`,
      `on the k3s server, restart k3s (sudo systemctl restart k3s: it renews certificates within 90 days of expiry as it starts), copy ${K3S_KUBECONFIG} from there to ${file} with its server: line set to ${server}, then rerun`,
    )
  }
  if (from.getTime() > now.getTime() + 5 * 60_000)
    return new SetupError(
      `${who} is valid only from ${from.toISOString()}, later than this machine's clock (${now.toISOString()}); nothing was changed`,
      'set this machine\'s clock right (timedatectl set-ntp true), then rerun',
    )
  return undefined
}
