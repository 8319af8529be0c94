// A small two-cluster homelab for the sandbox's multi-cluster tests: Argo CD on the in-cluster API
// deploys to `homelab` (by server URL; registered through a cluster Secret an ExternalSecret makes
// from Vault) and to `nas` (by name; registered by hand, nothing in the repo). Vault runs on
// homelab: the ClusterSecretStores point at its node address.
import type { CorpusShape } from '../sandbox/corpus/index.ts'

const REPO = 'https://github.com/example/two-clusters.git'
export const HOMELAB_SERVER = 'https://10.10.0.5:6443'

const app = (name: string, path: string, destination: string, namespace: string) => `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: ${name}
  namespace: argocd
spec:
  project: home
  source:
    repoURL: ${REPO}
    targetRevision: main
    path: ${path}
  destination:
${destination}
    namespace: ${namespace}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
`

const store = `apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata:
  name: vault-backend
spec:
  provider:
    vault:
      server: http://10.10.0.5:30820
      path: secret
      version: v2
      auth:
        tokenSecretRef: {name: vault-token, namespace: external-secrets, key: token}
`

const deployment = (name: string, image: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: 1
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
        - name: ${name}
          image: ${image}
`

export const twoClusters: CorpusShape = {
  name: 'two-clusters-fixture',
  shape: 'Argo CD on one cluster, apps on two others (by server URL and by name), Vault on homelab',
  repoUrl: REPO,
  imageTag: 'sha-51be0a7',
  needs: [],
  settings: {},
  files: {
    'argocd/project.yaml': `apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: home
  namespace: argocd
spec:
  sourceRepos: ['*']
  destinations: [{namespace: '*', server: '*'}]
  clusterResourceWhitelist: [{group: '*', kind: '*'}]
`,
    'argocd/clusters.yaml': app('clusters', 'clusters', '    server: https://kubernetes.default.svc', 'argocd'),
    'argocd/eso-argocd.yaml': app('eso-argocd', 'eso', '    server: https://kubernetes.default.svc', 'external-secrets'),
    'argocd/eso-homelab.yaml': app('eso-homelab', 'eso', '    name: homelab', 'external-secrets'),
    'argocd/it-tools.yaml': app('it-tools', 'apps/it-tools', `    server: ${HOMELAB_SERVER}`, 'personal-services'),
    'argocd/whoami.yaml': app('whoami', 'apps/whoami', '    server: https://kubernetes.default.svc', 'whoami'),
    'argocd/media.yaml': app('media', 'apps/media', '    name: nas', 'media'),
    'clusters/homelab.yaml': `# homelab's API address and credentials live in Vault
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: homelab-cluster
  namespace: argocd
spec:
  refreshInterval: 1h
  secretStoreRef: {name: vault-backend, kind: ClusterSecretStore}
  target:
    name: homelab-cluster
    template:
      metadata:
        labels:
          argocd.argoproj.io/secret-type: cluster
      data:
        name: homelab
        server: '{{ .server }}'
        config: '{"bearerToken": "{{ .token }}", "tlsClientConfig": {"insecure": true}}'
  data:
    - secretKey: server
      remoteRef: {key: argocd/homelab, property: server}
    - secretKey: token
      remoteRef: {key: argocd/homelab, property: token}
`,
    'eso/cluster-secret-store.yaml': store,
    'apps/it-tools/deployment.yaml': deployment('it-tools', 'ghcr.io/meirongdev/it-tools:sha-51be0a7'),
    'apps/it-tools/external-secret.yaml': `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: it-tools-env
spec:
  secretStoreRef: {name: vault-backend, kind: ClusterSecretStore}
  target: {name: it-tools-env}
  data:
    - secretKey: API_KEY
      remoteRef: {key: homelab/it-tools, property: api_key}
`,
    'argocd/appsets.yaml': `# one app per folder of homelab-apps/, on homelab
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: homelab-apps
  namespace: argocd
spec:
  generators:
    - git:
        repoURL: ${REPO}
        revision: HEAD
        directories:
          - path: homelab-apps/*
          - path: homelab-apps/retired
            exclude: true
  template:
    metadata:
      name: '{{path.basename}}'
    spec:
      project: home
      source: {repoURL: ${REPO}, targetRevision: main, path: '{{path}}'}
      destination: {name: homelab, namespace: '{{ path.basename }}'}
      syncPolicy:
        automated: {prune: true, selfHeal: true}
        syncOptions: [CreateNamespace=true]
---
# one app per edge/*/app.yaml, Go templates
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: edge-apps
  namespace: argocd
spec:
  goTemplate: true
  goTemplateOptions: ["missingkey=error"]
  generators:
    - git:
        repoURL: ${REPO}
        revision: HEAD
        files:
          - path: edge/*/app.yaml
  template:
    metadata:
      name: 'edge-{{.path.basename}}'
    spec:
      project: home
      source: {repoURL: ${REPO}, targetRevision: main, path: '{{.path.path}}/manifests'}
      destination: {server: '{{.cluster.server}}', namespace: '{{.namespace}}'}
      syncPolicy:
        automated: {prune: true, selfHeal: true}
        syncOptions: [CreateNamespace=true]
`,
    'argocd/matrix.yaml': `# the matrix generator: not modelled by the sandbox
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: matrix-apps
  namespace: argocd
spec:
  generators:
    - matrix:
        generators:
          - clusters: {}
          - list: {elements: [{app: echo}]}
  template:
    metadata:
      name: '{{name}}-{{app}}'
    spec:
      project: home
      source: {repoURL: ${REPO}, targetRevision: main, path: 'apps/{{app}}'}
      destination: {server: '{{server}}', namespace: '{{app}}'}
`,
    'homelab-apps/gitea/deployment.yaml': deployment('gitea', 'gitea/gitea:1.22'),
    'homelab-apps/retired/deployment.yaml': deployment('old', 'busybox:1.36'),
    'edge/uptime/app.yaml': 'cluster:\n  server: https://kubernetes.default.svc\nnamespace: uptime\n',
    'edge/uptime/manifests/deployment.yaml': deployment('uptime-kuma', 'louislam/uptime-kuma:1.23.13'),
    'apps/whoami/deployment.yaml': deployment('whoami', 'traefik/whoami:v1.10'),
    'apps/media/deployment.yaml': deployment('jellyfin', 'jellyfin/jellyfin:10.9.11'),
  },
}
