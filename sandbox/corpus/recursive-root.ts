// Corpus shape "recursive-root": a self-managing root Application syncs argocd/ recursively (the
// AppProject, itself and every child Application); k3s add-ons through helm.cattle.io HelmChart and
// HelmChartConfig in kube-system; Traefik IngressRoute and Middleware; a DaemonSet, a one-shot Job
// and a Prometheus ServiceMonitor whose CRD no package ships (the sandbox installs a permissive one);
// an Application file with CRLF line endings; ExternalSecrets in three namespaces.
import { crlf, type CorpusShape } from './build.ts'

const REPO = 'https://github.com/meirongdev/homelab-k3s.git'
const TAG = 'sha-0d7f3b9'

const app = (o: { name: string; path: string; namespace: string; include?: string; createNs?: boolean; selfHeal?: boolean; wave?: number }) => `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: ${o.name}
  namespace: argocd${o.wave !== undefined ? `\n  annotations:\n    argocd.argoproj.io/sync-wave: "${o.wave}"` : ''}
spec:
  project: homelab
  source:
    repoURL: ${REPO}
    targetRevision: main
    path: ${o.path}${o.include ? `\n    directory:\n      include: '${o.include}'` : ''}
  destination:
    server: https://kubernetes.default.svc
    namespace: ${o.namespace}
  syncPolicy:
    automated:
      prune: true${o.selfHeal ? '\n      selfHeal: true' : ''}${o.createNs ? '\n    syncOptions:\n      - CreateNamespace=true' : ''}
`

const files: Record<string, string> = {
  'README.md': '# homelab-k3s\n\nk3s + Argo CD. `kubectl apply -f argocd/root.yaml` once.\n',
  'argocd/root.yaml': `# Root of everything: syncs argocd/ (itself included) recursively.
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: root
  namespace: argocd
spec:
  project: homelab
  source:
    repoURL: ${REPO}
    targetRevision: main
    path: argocd
    directory:
      recurse: true
  destination:
    server: https://kubernetes.default.svc
    namespace: argocd
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
`,
  'argocd/projects/homelab.yaml': `apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: homelab
  namespace: argocd
  annotations:
    argocd.argoproj.io/sync-wave: "-1"
spec:
  description: homelab-k3s
  sourceRepos:
    - ${REPO}
    - https://kubernetes-sigs.github.io/external-dns/
  destinations:
    - namespace: '*'
      server: https://kubernetes.default.svc
  clusterResourceWhitelist:
    - group: '*'
      kind: '*'
`,
  'argocd/applications/personal-services.yaml': app({ name: 'personal-services', path: 'k8s/personal-services', namespace: 'personal-services', include: '{it-tools.yaml,vaultwarden.yaml,routes.yaml}', createNs: true, selfHeal: true }),
  'argocd/applications/vault-eso.yaml': app({ name: 'vault-eso', path: 'k8s/personal-services', namespace: 'external-secrets', include: '{store.yaml,secrets.yaml}', wave: -1 }),
  // Edited on Windows long ago: CRLF line endings.
  'argocd/applications/k3s-addons.yaml': crlf(app({ name: 'k3s-addons', path: 'k8s/kube-system', namespace: 'kube-system', include: '*.yaml', selfHeal: true })),
  'argocd/applications/monitoring.yaml': app({ name: 'monitoring', path: 'k8s/monitoring', namespace: 'monitoring', createNs: true }),
  'argocd/applications/external-dns.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: external-dns
  namespace: argocd
spec:
  project: homelab
  source:
    chart: external-dns
    repoURL: https://kubernetes-sigs.github.io/external-dns/
    targetRevision: 1.18.0
    helm:
      values: |
        provider:
          name: cloudflare
        env:
          - name: CF_API_TOKEN
            valueFrom:
              secretKeyRef: {name: cloudflare-api-token, key: token}
  destination:
    server: https://kubernetes.default.svc
    namespace: external-dns
  syncPolicy:
    automated: {prune: true}
    syncOptions: [CreateNamespace=true]
`,
  'k8s/personal-services/it-tools.yaml': `# it-tools
apiVersion: apps/v1
kind: Deployment
metadata:
  name: it-tools
  namespace: personal-services
spec:
  replicas: 2
  selector:
    matchLabels:
      app: it-tools
  template:
    metadata:
      labels:
        app: it-tools
    spec:
      containers:
      - name: it-tools
        image: ghcr.io/meirongdev/it-tools:${TAG}
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: it-tools
  namespace: personal-services
spec:
  selector:
    app: it-tools
  ports:
  - port: 80
`,
  'k8s/personal-services/vaultwarden.yaml': `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: vaultwarden-data
  namespace: personal-services
spec:
  accessModes: ["ReadWriteOnce"]
  storageClassName: local-path
  resources:
    requests:
      storage: 1Gi
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: vaultwarden
  namespace: personal-services
spec:
  replicas: 1
  strategy:
    type: Recreate
  selector:
    matchLabels:
      app: vaultwarden
  template:
    metadata:
      labels:
        app: vaultwarden
    spec:
      containers:
      - name: vaultwarden
        image: docker.io/vaultwarden/server:1.34.3
        env:
        - name: ADMIN_TOKEN
          valueFrom:
            secretKeyRef:
              name: vaultwarden-admin
              key: token
        volumeMounts:
        - name: data
          mountPath: /data
      volumes:
      - name: data
        persistentVolumeClaim:
          claimName: vaultwarden-data
---
apiVersion: v1
kind: Service
metadata:
  name: vaultwarden
  namespace: personal-services
spec:
  selector:
    app: vaultwarden
  ports:
  - port: 80
`,
  'k8s/personal-services/routes.yaml': `apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata:
  name: secure-headers
  namespace: personal-services
spec:
  headers:
    stsSeconds: 31536000
    frameDeny: true
---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata:
  name: personal-services
  namespace: personal-services
spec:
  entryPoints: [websecure]
  routes:
  - match: Host(\`tools.home.example.org\`)
    kind: Rule
    middlewares:
    - name: secure-headers
    services:
    - name: it-tools
      port: 80
  - match: Host(\`vault.home.example.org\`)
    kind: Rule
    middlewares:
    - name: secure-headers
    services:
    - name: vaultwarden
      port: 80
  tls:
    certResolver: letsencrypt
`,
  'k8s/personal-services/store.yaml': `apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata:
  name: vault-backend
spec:
  provider:
    vault:
      server: http://vault.vault.svc:8200
      path: secret
      version: v2
      auth:
        tokenSecretRef:
          name: vault-token
          namespace: external-secrets
          key: token
`,
  'k8s/personal-services/secrets.yaml': `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: vaultwarden-admin
  namespace: personal-services
spec:
  secretStoreRef: {kind: ClusterSecretStore, name: vault-backend}
  target: {name: vaultwarden-admin}
  data:
  - secretKey: token
    remoteRef: {key: homelab/vaultwarden, property: admin-token}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: cloudflare-api-token
  namespace: external-dns
spec:
  secretStoreRef: {kind: ClusterSecretStore, name: vault-backend}
  target: {name: cloudflare-api-token}
  data:
  - secretKey: token
    remoteRef: {key: homelab/cloudflare, property: token}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: alertmanager-webhook
  namespace: monitoring
spec:
  refreshInterval: 12h
  secretStoreRef: {kind: ClusterSecretStore, name: vault-backend}
  target: {name: alertmanager-webhook}
  data:
  - secretKey: url
    remoteRef: {key: homelab/alerting, property: webhook-url}
`,
  'k8s/kube-system/traefik-config.yaml': `apiVersion: helm.cattle.io/v1
kind: HelmChartConfig
metadata:
  name: traefik
  namespace: kube-system
spec:
  valuesContent: |-
    additionalArguments:
      - "--certificatesresolvers.letsencrypt.acme.dnschallenge.provider=cloudflare"
    ports:
      websecure:
        tls:
          enabled: true
`,
  'k8s/kube-system/metrics-helmchart.yaml': `# Installed by k3s' helm-controller, not by Argo CD's repo server.
apiVersion: helm.cattle.io/v1
kind: HelmChart
metadata:
  name: kube-state-metrics
  namespace: kube-system
spec:
  repo: https://prometheus-community.github.io/helm-charts
  chart: kube-state-metrics
  version: 6.1.0
  targetNamespace: monitoring
  valuesContent: |-
    prometheus:
      monitor:
        enabled: true
`,
  'k8s/monitoring/node-exporter.yaml': `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-exporter
spec:
  selector:
    matchLabels:
      app: node-exporter
  template:
    metadata:
      labels:
        app: node-exporter
    spec:
      hostNetwork: true
      hostPID: true
      containers:
      - name: node-exporter
        image: quay.io/prometheus/node-exporter:v1.9.1
        args: ["--path.rootfs=/host"]
        ports:
        - containerPort: 9100
          name: metrics
        volumeMounts:
        - name: root
          mountPath: /host
          readOnly: true
      volumes:
      - name: root
        hostPath:
          path: /
---
apiVersion: v1
kind: Service
metadata:
  name: node-exporter
  labels:
    app: node-exporter
spec:
  selector:
    app: node-exporter
  ports:
  - name: metrics
    port: 9100
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: node-exporter
spec:
  selector:
    matchLabels:
      app: node-exporter
  endpoints:
  - port: metrics
    interval: 30s
`,
  'k8s/monitoring/grafana-dashboards.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: dashboards
  labels:
    grafana_dashboard: "1"
data:
  node.json: '{"title": "Nodes", "panels": []}'
---
apiVersion: batch/v1
kind: Job
metadata:
  name: dashboards-import
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: import
        image: docker.io/curlimages/curl:8.15.0
        command: ["sh", "-c", "echo imported"]
`,
}

export const recursiveRoot: CorpusShape = {
  name: 'recursive-root',
  shape: 'self-managing root over argocd/ (recurse); k3s HelmChart/HelmChartConfig; Traefik IngressRoute; DaemonSet, Job, ServiceMonitor; CRLF app file',
  repoUrl: REPO,
  imageTag: TAG,
  files,
  settings: {
    GITHUB_USERNAME: 'meirongdev',
    APPPROJECT_FILE: 'argocd/projects/homelab.yaml',
    APPLICATIONS_DIR: 'argocd/applications',
    PERSONAL_SERVICES_APP_FILE: 'argocd/applications/personal-services.yaml',
    VAULT_ESO_APP_FILE: 'argocd/applications/vault-eso.yaml',
    MANIFESTS_DIR: 'k8s/personal-services',
    VALUES_DIR: 'k8s/values',
  },
  needs: ['app-of-apps'],
}
