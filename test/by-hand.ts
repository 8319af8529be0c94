// The sample repo as the plan's author has it after following the plan by hand (seed-plan.md), with
// every mistake FIELD-NOTES.md lists: used by the repair tests, alone and on a cluster.
import { sampleFiles } from '../sandbox/sample-repo.ts'

// The repo as the plan's author has it after following the plan by hand: every known mistake.
export const IU = 'k8s/helm/manifests/it-tools/image-updater.yaml'
export const KUST = 'k8s/helm/manifests/it-tools/kustomization.yaml'
export const APP = 'argocd/applications/it-tools.yaml'
export const VALUES = 'k8s/helm/values/argocd-image-updater.yaml'
const [deployment, service] = sampleFiles['k8s/helm/manifests/it-tools.yaml']!.replace(/^---\n/, '').split('\n---\n')
export const byHand: Record<string, string | null> = {
  'k8s/helm/manifests/it-tools.yaml': null,
  'argocd/applications/personal-services.yaml': sampleFiles['argocd/applications/personal-services.yaml']!.replace('it-tools.yaml,', ''),
  'k8s/helm/manifests/it-tools/deployment.yaml': `${deployment}\n`,
  'k8s/helm/manifests/it-tools/service.yaml': service!,
  [KUST]: `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: personal-services
resources:
  - deployment.yaml
  - service.yaml
  - image-updater.yaml
`,
  [IU]: `apiVersion: argocd-image-updater.argoproj.io/v1alpha1
kind: ImageUpdater
metadata:
  name: it-tools
  namespace: argocd
spec:
  namespace: argocd
  applicationRefs:
    - namePattern: it-tools
      images:
        - alias: it-tools
          imageName: ghcr.io/meirongdev/it-tools
          commonUpdateSettings:
            updateStrategy: latest
            allowTags: ^sha-[0-9a-f]+$
            ignoreTags: ["sha-0000000"]  # 坏掉的构建
            pullSecret: pullsecret:argocd/argocd-image-updater-secret
      writeBackConfig:
        method: git:secret:argocd/git-creds
        gitConfig:
          branch: main
`,
  [APP]: `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: it-tools
  namespace: argocd
  annotations:
    argocd-image-updater.argoproj.io/image-list: it-tools=ghcr.io/meirongdev/it-tools
    argocd-image-updater.argoproj.io/it-tools.update-strategy: latest
    argocd-image-updater.argoproj.io/it-tools.tag-match-expr: ^sha-[0-9a-f]+$
    argocd-image-updater.argoproj.io/write-back-method: git:secret:argocd/git-creds
spec:
  project: homelab
  source:
    repoURL: https://github.com/meirongdev/homelab.git
    targetRevision: main
    path: k8s/helm/manifests/it-tools
  destination:
    server: https://kubernetes.default.svc
    namespace: personal-services
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
`,
  [VALUES]: `logLevel: debug
config:
  registries:
    - name: GitHub Container Registry
      api_url: https://ghcr.io
      prefix: ghcr.io
      ping: yes
      credentials: pullsecret:argocd/argocd-image-updater-secret
# 自己调的
resources:
  limits:
    memory: 512Mi
`,
  // written by Image Updater itself: never touched
  'k8s/helm/manifests/it-tools/.argocd-source-it-tools.yaml': 'kustomize:\n  images:\n  - ghcr.io/meirongdev/it-tools:sha-9999999\n',
}


/** The rest of the plan followed by hand (tasks 2, 5 and 6, done right), for a cluster that runs it all. */
export function byHandInstall(render: (template: string, vars: Record<string, string>, flags?: Record<string, boolean>) => string): Record<string, string | null> {
  const vars = {
    argocdNamespace: 'argocd',
    vaultPath: 'secret/homelab/github',
    secretStore: 'vault-backend',
    registry: 'ghcr.io',
    project: 'homelab',
    chartVersion: '1.2.4',
    valuesFile: VALUES,
    repoUrl: 'https://github.com/meirongdev/homelab.git',
    branch: 'main',
    destinationServer: 'https://kubernetes.default.svc',
    argocdServer: 'https://kubernetes.default.svc',
  }
  return {
    ...byHand,
    'k8s/helm/manifests/github-external-secret.yaml': render('github-external-secret.yaml', vars),
    'argocd/applications/argocd-image-updater.yaml': render('image-updater-application.yaml', vars, { imageUpdaters: false }),
    'argocd/applications/vault-eso.yaml': sampleFiles['argocd/applications/vault-eso.yaml']!.replace('cloudflare-external-secret.yaml}', 'cloudflare-external-secret.yaml,github-external-secret.yaml}'),
    'argocd/projects/homelab.yaml': sampleFiles['argocd/projects/homelab.yaml']!.replace('   # 只允许本仓库\n', '   # 只允许本仓库\n    - https://argoproj.github.io/argo-helm\n'),
  }
}

/**
 * The plan followed by hand as its owner did it (issue 20): the ImageUpdater in a file of its own
 * name (`imageupdater.yaml`), with `spec.namespace: argocd` and `useAnnotations: true`, the
 * configuration left in the Application's annotations.
 */
export const HAND_IU = 'k8s/helm/manifests/it-tools/imageupdater.yaml'
export const handFollowed: Record<string, string | null> = {
  ...byHand,
  [IU]: null,
  'k8s/helm/manifests/it-tools/.argocd-source-it-tools.yaml': null,
  [KUST]: `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
  - service.yaml
  - imageupdater.yaml   # 按计划手写
`,
  [HAND_IU]: `apiVersion: argocd-image-updater.argoproj.io/v1alpha1
kind: ImageUpdater
metadata:
  name: it-tools
  namespace: argocd
spec:
  namespace: argocd
  applicationRefs:
    - namePattern: it-tools
      useAnnotations: true
`,
}
