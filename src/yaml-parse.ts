// Parsed YAML, kept by text. The tasks read the same dozen repo files again and again (each task's
// plan, the dry-run comparison, the cluster tasks' loads of what git holds), and a converged run
// parsed them 110 times (about 110 ms, a tenth of the run). The parse is a function of the text and
// the options alone, so the same text gets the same documents back: nothing about a context, a run
// or the disk is kept here, only what the text says.
//
// The documents are shared: callers only read them (find nodes, their ranges, toJS). Every edit in
// this project splices the text (src/yaml-edit.ts), never a document.
import { parseAllDocuments, type Document } from 'yaml'

/** Enough for every file one run reads (and the variants a plan makes of them), small in memory. */
const KEEP = 64

const kept = new Map<string, readonly Document.Parsed[]>()

/**
 * Every document of `text` (parse errors are on each document's `errors`, as `parseAllDocuments`
 * gives them). `prettyErrors: false` keeps error messages to one sentence with a plain offset.
 * Do not modify what this returns: the next caller with the same text gets the same objects.
 */
export function parseYaml(text: string, opts: { prettyErrors?: boolean } = {}): readonly Document.Parsed[] {
  const pretty = opts.prettyErrors ?? true
  const key = `${pretty ? 'p' : 'r'}${text}`
  let docs = kept.get(key)
  if (docs) {
    // most recently used last: the oldest goes first when full
    kept.delete(key)
    kept.set(key, docs)
    return docs
  }
  // an empty text gives an EmptyStream (an array of no documents)
  docs = Array.from(parseAllDocuments(text, { prettyErrors: pretty }) as Document.Parsed[])
  kept.set(key, docs)
  if (kept.size > KEEP) kept.delete(kept.keys().next().value!)
  return docs
}
