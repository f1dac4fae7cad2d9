// Numbers as the command line writes them: decimal, with an optional exponent (1e2, 2.5E-1). Hexadecimal, binary
// and the like are not read: no control's value is written that way, so "0x10" is more likely a slip than a number.
const DECIMAL = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?$/i;
const INFINITE = /^[-+]?infinity$/i;

export type ReadNumber = { ok: true; value: number } | { ok: false; problem: 'not a number' | 'not finite' };

/** `text` as a finite number; "Infinity" and one too large for a double (1e999) are numbers, but not finite ones. */
export function readNumber(text: string): ReadNumber {
  if (INFINITE.test(text)) return { ok: false, problem: 'not finite' };
  if (!DECIMAL.test(text)) return { ok: false, problem: 'not a number' };
  const value = Number(text);
  return Number.isFinite(value) ? { ok: true, value } : { ok: false, problem: 'not finite' };
}
