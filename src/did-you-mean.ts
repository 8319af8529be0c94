// "Did you mean": the known name closest to a mistyped one (settings keys, command-line options),
// so a typo is named with its fix instead of being ignored.

/** Edit distance (insert, delete, substitute, swap of neighbours), case-insensitive. */
export function editDistance(a: string, b: string): number {
  a = a.toLowerCase()
  b = b.toLowerCase()
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0][j] = j
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  return d[a.length][b.length]
}

/** The closest known name when it is close enough to be the one meant (ignoring _ and - too), else undefined. */
export function didYouMean(word: string, known: Iterable<string>): string | undefined {
  const bare = (s: string) => s.replace(/[-_]/g, '')
  let best: { name: string; distance: number } | undefined
  for (const name of known) {
    const distance = Math.min(editDistance(word, name), editDistance(bare(word), bare(name)))
    if (!best || distance < best.distance) best = { name, distance }
  }
  if (!best || best.distance === 0 && word === best.name) return undefined
  return best.distance <= Math.max(2, Math.floor(word.length / 4)) ? best.name : undefined
}
