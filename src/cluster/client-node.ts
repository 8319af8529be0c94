// The parts of @kubernetes/client-node this setup uses, named, so the bundle (`npm run build`)
// carries only these and what they need: the whole library is ~970 modules and about 200 MiB once
// loaded; these pieces load in a fraction of the time and memory. kube.ts imports this file lazily.
export { CoreV1Api, Exec, KubeConfig, KubernetesObjectApi, PatchStrategy, Watch } from '@kubernetes/client-node'
