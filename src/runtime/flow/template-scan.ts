/** Where one `${{ … }}` sits in a string: `open` at `$`, the expression in [exprStart, exprEnd), `end` after `}}`. */
export interface TemplateSpan {
  readonly open: number;
  readonly exprStart: number;
  readonly exprEnd: number;
  readonly end: number;
}

/** A `${{` without its `}}`; the caller turns it into an ExpressionSyntaxError. */
export class UnclosedTemplateError extends Error {
  constructor(
    readonly position: number,
    readonly inString: boolean,
  ) {
    super(inString ? '`${{` is not closed by `}}` (a string inside it is left open)' : '`${{` is not closed by `}}`');
  }
}

const OPEN = '${{';

/**
 * Every `${{ … }}` in `text`, in order. The closing `}}` is the first one
 * outside CEL string literals and outside braces the expression opened, so
 * `${{ {"a": {"b": 1}} }}` and `${{ "}}" }}` close where a reader expects.
 * Throws UnclosedTemplateError.
 *
 * @example scanTemplate('id-${{ tasks.a.output.id }}') // [{ open: 3, exprStart: 6, exprEnd: 25, end: 27 }]
 */
export function scanTemplate(text: string): TemplateSpan[] {
  const spans: TemplateSpan[] = [];
  for (let from = 0; ; ) {
    const open = text.indexOf(OPEN, from);
    if (open < 0) return spans;
    const exprStart = open + OPEN.length;
    const exprEnd = closingOf(text, exprStart, open);
    spans.push({ open, exprStart, exprEnd, end: exprEnd + 2 });
    from = exprEnd + 2;
  }
}

function closingOf(text: string, start: number, open: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      const after = afterString(text, i);
      if (after < 0) throw new UnclosedTemplateError(open, true);
      i = after - 1;
    } else if (c === '{') depth++;
    else if (c === '}') {
      if (depth === 0 && text[i + 1] === '}') return i;
      if (depth > 0) depth--;
    }
  }
  throw new UnclosedTemplateError(open, false);
}

/**
 * The index after the CEL string literal whose opening quote is at `i`, or -1
 * when the text ends inside it. Triple-quoted strings may span lines; a
 * one-quote string ends at a newline, where the parser will report it
 * unterminated with its own position. Raw strings (`r"…"`) have no escapes.
 */
function afterString(text: string, i: number): number {
  const quote = text[i]!;
  const triple = text.startsWith(quote.repeat(3), i);
  const closing = triple ? quote.repeat(3) : quote;
  const raw = isRawPrefix(text, i);
  for (let j = i + closing.length; j < text.length; j++) {
    if (text[j] === '\\' && !raw) j++;
    else if (!triple && text[j] === '\n') return j;
    else if (text.startsWith(closing, j)) return j + closing.length;
  }
  return -1;
}

/** Whether the letters just before a quote are a raw-string prefix (`r`, `R`, `br`, `rb` …) standing alone. */
function isRawPrefix(text: string, quoteAt: number): boolean {
  let start = quoteAt;
  while (start > 0 && quoteAt - start < 2 && /[rRbB]/.test(text[start - 1]!)) start--;
  const prefix = text.slice(start, quoteAt);
  const standsAlone = start === 0 || !/[\w$]/.test(text[start - 1]!);
  return standsAlone && /[rR]/.test(prefix);
}
