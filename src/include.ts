// Edits the brace-glob `spec.source.directory.include` of a Directory Application, one line only.
import { SetupError } from './errors.ts'
import { formatBraceList, getAt, parseBraceList, setScalar } from './yaml-edit.ts'

const INCLUDE = ['spec', 'source', 'directory', 'include']

/** The include list, or undefined when the Application has none (then every file is synced). */
export function readInclude(text: string, rel: string): { items: string[]; line: number } | undefined {
  const { value, line } = getAt(text, rel, INCLUDE)
  if (value === undefined) {
    if (getAt(text, rel, ['spec', 'source']).value === undefined)
      throw new SetupError(`${rel}:${line}: expected a single-source Directory Application with spec.source`, `${rel} must be an Application with spec.source.path (multi-source apps are not supported for this file)`)
    return undefined
  }
  // Wildcards would keep matching files the setup moves or adds, so only plain names will do.
  const items = typeof value === 'string' ? parseBraceList(value) : undefined
  if (!items || items.some((i) => /[*?[\]]/.test(i)))
    throw new SetupError(
      `${rel}:${line}: expected spec.source.directory.include to be a brace list of file names like "{a.yaml,b.yaml}", found ${JSON.stringify(value)}`,
      `write the include as a brace list of file names in ${rel}, then rerun`,
    )
  return { items, line }
}

/** The file's text with `add` in and `remove` out of the include list (the same text when already so). */
export function editInclude(text: string, rel: string, edit: { add?: string; remove?: string }): string {
  const include = readInclude(text, rel)
  if (!include) return text
  let items = include.items
  if (edit.remove) items = items.filter((i) => i !== edit.remove)
  if (edit.add && !items.includes(edit.add)) items = [...items, edit.add]
  if (items.length === include.items.length && items.every((v, i) => v === include.items[i])) return text
  return setScalar(text, rel, INCLUDE, formatBraceList(items))
}
