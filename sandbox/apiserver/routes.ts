// Turns an API path into what it addresses: group, version, namespace, resource, name, subresource.

export interface Target {
  group: string
  version: string
  namespace?: string
  resource: string
  name?: string
  subresource?: string
}

/** `segments` is the path split on '/', without empty parts. Returns undefined for non-resource paths. */
export function parseResourcePath(segments: string[]): Target | undefined {
  let group: string
  let version: string
  let rest: string[]
  if (segments[0] === 'api' && segments.length >= 3) {
    group = ''
    version = segments[1]!
    rest = segments.slice(2)
  } else if (segments[0] === 'apis' && segments.length >= 4) {
    group = segments[1]!
    version = segments[2]!
    rest = segments.slice(3)
  } else return undefined
  let namespace: string | undefined
  // namespaces/NS/<resource>/... addresses a namespaced resource; namespaces/NS[/status] the Namespace itself.
  if (rest[0] === 'namespaces' && rest.length >= 3 && !['status', 'finalize'].includes(rest[2]!)) {
    namespace = rest[1]
    rest = rest.slice(2)
  }
  if (rest.length > 3) return undefined
  const [resource, name, subresource] = rest as [string, string?, string?]
  return { group, version, namespace, resource, name, subresource }
}
