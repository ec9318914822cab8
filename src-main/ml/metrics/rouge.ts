/**
 * ROUGE-L as coco-caption's rouge.py: LCS-based precision and recall against every
 * reference, the best precision and the best recall (possibly from different references),
 * F with beta = 1.2; the corpus value is the mean over images.
 */
const BETA = 1.2;

function lcs(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  let prev = new Int32Array(b.length + 1);
  let cur = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    const ai = a[i - 1];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = ai === b[j - 1] ? prev[j - 1] + 1 : cur[j - 1] > prev[j] ? cur[j - 1] : prev[j];
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

/** ROUGE-L F of one candidate against its references. */
export function rougeL(cand: readonly string[], refs: readonly (readonly string[])[]): number {
  // coco-caption splits on ' ', so an empty caption is one empty token (length 1).
  const cl = Math.max(1, cand.length);
  let pMax = 0;
  let rMax = 0;
  for (const r of refs) {
    const l = lcs(r, cand);
    pMax = Math.max(pMax, l / cl);
    rMax = Math.max(rMax, l / Math.max(1, r.length));
  }
  if (pMax === 0 || rMax === 0) return 0;
  return ((1 + BETA ** 2) * pMax * rMax) / (rMax + BETA ** 2 * pMax);
}
