/** Volcengine resources take tags as a set of { key, value } blocks. */
export function tagBlocks(tags: Readonly<Record<string, string>>): { key: string; value: string }[] {
  return Object.entries(tags)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => ({ key, value }));
}
