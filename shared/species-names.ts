/**
 * A species' name as people read it, derived from the raw id the data came with
 * ("001.Black_footed_Albatross" → "Black-footed Albatross"). Shared because the main side checks
 * new and renamed species against the names the window shows (no two species may read the same).
 */

/**
 * CUB ids drop their number and read underscores as spaces, except that a lower-case word after a
 * capitalised one belongs to it ("Black_footed" → "Black-footed"). All-lower-case names (Oxford
 * Flowers: "pink primrose") only get their first letter capitalised.
 */
export function derivedSpeciesName(raw: string | null | undefined): string {
  if (!raw) return '';
  const words = raw
    .replace(/^\d+\./, '')
    .split(/[_\s]+/)
    .filter(Boolean);
  if (!words.length) return raw;
  const capitalised = words.some((w) => /^\p{Lu}/u.test(w));
  if (!capitalised) {
    const s = words.join(' ');
    return s.charAt(0).toUpperCase() + s.slice(1);
  }
  let out = words[0];
  for (const w of words.slice(1)) out += /^\p{Ll}/u.test(w) ? `-${w}` : ` ${w}`;
  return out;
}

/** The key two names are compared by: case, spacing and hyphens do not make a species different. */
export function speciesNameKey(name: string): string {
  return name
    .toLocaleLowerCase()
    .replace(/[\s_-]+/g, ' ')
    .trim();
}
