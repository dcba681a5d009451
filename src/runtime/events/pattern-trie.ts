/**
 * An index of subscription patterns by segment (`*` one, `#` zero or more):
 * an event's key is matched against all patterns in one walk of the trie,
 * instead of testing every pattern, so delivery stays fast with thousands of
 * subscriptions.
 */
export class PatternTrie<T> {
  readonly #root = newNode<T>();

  add(pattern: readonly string[], value: T): void {
    let node = this.#root;
    for (const segment of pattern) node = step(node, segment, true)!;
    node.values.add(value);
  }

  remove(pattern: readonly string[], value: T): void {
    let node: TrieNode<T> | undefined = this.#root;
    for (const segment of pattern) {
      node = step(node, segment, false);
      if (!node) return;
    }
    node.values.delete(value);
  }

  /** Every value whose pattern matches `key` (lower-cased segments), once. */
  match(key: readonly string[]): Set<T> {
    return new Set(this.collect(key, []));
  }

  /**
   * Appends to `into` every value whose pattern matches `key`, once per
   * pattern and path that reaches it: the caller drops repeats. For the
   * publish path, where most events match one value or none and a Set per
   * event would cost more than the walk.
   */
  collect(key: readonly string[], into: T[]): T[] {
    walk(this.#root, key, 0, into);
    return into;
  }
}

interface TrieNode<T> {
  children: Map<string, TrieNode<T>>;
  star: TrieNode<T> | null;
  hash: TrieNode<T> | null;
  values: Set<T>;
}

const newNode = <T>(): TrieNode<T> => ({ children: new Map(), star: null, hash: null, values: new Set() });

function step<T>(node: TrieNode<T>, segment: string, create: boolean): TrieNode<T> | undefined {
  if (segment === '*') return node.star ?? (create ? (node.star = newNode()) : undefined);
  if (segment === '#') return node.hash ?? (create ? (node.hash = newNode()) : undefined);
  let child = node.children.get(segment);
  if (!child && create) node.children.set(segment, (child = newNode()));
  return child;
}

function walk<T>(node: TrieNode<T>, key: readonly string[], i: number, into: T[]): void {
  // `#` takes zero or more segments: continue after it from every position on
  if (node.hash) for (let j = i; j <= key.length; j++) walk(node.hash, key, j, into);
  if (i === key.length) {
    for (const v of node.values) into.push(v);
    return;
  }
  const child = node.children.get(key[i]!);
  if (child) walk(child, key, i + 1, into);
  if (node.star) walk(node.star, key, i + 1, into);
}
