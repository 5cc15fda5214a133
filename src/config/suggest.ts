/** "Did you mean ...?" for misspelled keys, env names and flags: closest candidate by edit distance. */

export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = prev[j] as number;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      prev[j] = Math.min(above + 1, (prev[j - 1] as number) + 1, diag + cost);
      diag = above;
    }
  }
  return prev[b.length] as number;
}

/** The closest candidate, if it is close enough to be a plausible typo (or a prefix of it). */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  const lower = input.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const cl = c.toLowerCase();
    // A typed-out beginning (perMin -> perMinute) counts as close.
    const score = cl.startsWith(lower) ? 1 : editDistance(lower, cl);
    if (score < bestScore) {
      best = c;
      bestScore = score;
    }
  }
  const limit = Math.max(2, Math.ceil(input.length / 3));
  return bestScore <= limit ? best : undefined;
}
