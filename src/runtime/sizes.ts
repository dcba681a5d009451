const UNIT_BYTES = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 } as const;
const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB)?$/;

/**
 * Parses a size such as `"512KiB"`, `"4MiB"`, `"1.5 MiB"` or a plain number
 * of bytes. Returns undefined when the text is not one (units are binary and
 * spelled as written: `KiB`, `MiB`, `GiB`, `B`).
 *
 * @example parseSize('4MiB') // 4194304
 */
export function parseSize(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  const match = SIZE.exec(value.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * UNIT_BYTES[(match[2] ?? 'B') as keyof typeof UNIT_BYTES]);
}
