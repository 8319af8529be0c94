// The argocd-image-updater chart's values keys across the chart versions this setup knows, and the
// repairs that carry an owner's values file from an older chart's keys to the ones the chart in use
// reads. Checked against the argo-helm chart's own values and templates:
// - 0.x (annotation era): config.logLevel, config.gitCommitUser/Mail/Template, config.gitCommitSign*,
//   config.disableKubeEvents, and config.argocd.* / config.applicationsAPIKind for the Argo CD API;
//   its ConfigMap template writes them as log.level, git.user, git.email, ... kube.events.
// - 1.0.x (its values table), 1.1.0 or before (its values.yaml; 1.1.1 changed only a comment) and
//   1.2.4 (../shared/reference): config."log.level", config."git.user", config."git.email",
//   config."git.commit-message-template", config."git.commit-signing-key", config."git.commit-sign-off",
//   config."git.commit-signing-method", config."kube.events", config.registries, config.sshConfig:
//   the same keys in all three. 1.2 adds service.enabled (default false; from 1.1.1 a Service is made
//   only with ingress.enabled, so nothing changes for an owner who had none) and certificateSecret,
//   and drops service.nodePortHttps.
// - kube.events is read as --disable-kube-events (IMAGE_UPDATER_KUBE_EVENTS), the meaning
//   disableKubeEvents had: the value moves as it is.
// A 1.x chart copies every config key it does not know into its ConfigMap, where no controller reads
// it: an old key is silently dead, so it is renamed (or, with the new key already set, removed).
import type { Repair } from './repairs.ts'
import { deleteKey, getAt, renameKey } from './yaml-edit.ts'

/** config keys of the 0.x chart and the 1.x key that carries the same setting. */
export const CONFIG_KEYS_RENAMED_IN_1_0: Readonly<Record<string, string>> = {
  logLevel: 'log.level',
  gitCommitUser: 'git.user',
  gitCommitMail: 'git.email',
  gitCommitTemplate: 'git.commit-message-template',
  gitCommitSigningKey: 'git.commit-signing-key',
  gitCommitSignOff: 'git.commit-sign-off',
  gitCommitSigningMethod: 'git.commit-signing-method',
  disableKubeEvents: 'kube.events',
}

/** config keys only the 0.x chart read: how it reached Argo CD's API, which 1.x does not use. */
export const CONFIG_KEYS_GONE_IN_1_0: readonly string[] = ['argocd', 'applicationsAPIKind']

/** The values keys a 1.x chart reads under other names (or not at all): renamed or removed, each with its reason. */
export function oldChartKeyRepairs(text: string, rel: string, chartVersion: string): Repair[] {
  const config = getAt(text, rel, ['config']).value
  if (!config || typeof config !== 'object' || Array.isArray(config)) return []
  const has = (k: string) => Object.hasOwn(config, k)
  const repairs: Repair[] = []
  for (const [old, now] of Object.entries(CONFIG_KEYS_RENAMED_IN_1_0)) {
    if (!has(old)) continue
    repairs.push(
      has(now)
        ? { reason: `config.${old} is the 0.x chart's key, dead beside config."${now}" that chart ${chartVersion} reads: removed (config."${now}" kept)`, edit: (t) => deleteKey(t, rel, ['config', old]) }
        : { reason: `config.${old} is the 0.x chart's name for config."${now}", the key chart ${chartVersion} reads: renamed, value kept`, edit: (t) => renameKey(t, rel, ['config', old], now) },
    )
  }
  for (const gone of CONFIG_KEYS_GONE_IN_1_0)
    if (has(gone)) repairs.push({ reason: `config.${gone} is read by the 0.x chart only (Image Updater 1.x reads Applications through the Kubernetes API): removed`, edit: (t) => deleteKey(t, rel, ['config', gone]) })
  return repairs
}
