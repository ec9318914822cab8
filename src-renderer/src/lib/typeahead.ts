/** Type-ahead for the species picker: prefix matches first, then word-prefix, then substring. */
export function rankMatches<T extends { name: string }>(items: T[], typed: string, limit = 50): T[] {
  const q = typed.trim().toLowerCase().replace(/[_\s]+/g, ' ');
  if (!q) return items.slice(0, limit);
  const scored: { item: T; score: number }[] = [];
  for (const item of items) {
    const n = item.name.toLowerCase().replace(/[_\s]+/g, ' ').replace(/^\d+\.\s*/, '');
    let score = -1;
    if (n.startsWith(q)) score = 0;
    else if (n.split(/[\s-]+/).some((w) => w.startsWith(q))) score = 1;
    else if (n.includes(q)) score = 2;
    if (score >= 0) scored.push({ item, score });
  }
  scored.sort((a, b) => a.score - b.score || a.item.name.localeCompare(b.item.name));
  return scored.slice(0, limit).map((s) => s.item);
}
