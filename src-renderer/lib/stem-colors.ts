// Each stem keeps one colour across strip, meter and waveform; known stems use theme variables.
const FALLBACK = ['#7d8796', '#c2649a', '#5a9e4b', '#b0884a'];

export function stemColorVar(source: string, index: number): string {
  const known = ['vocals', 'drums', 'bass', 'other', 'residual'];
  return known.includes(source) ? `var(--stem-${source})` : FALLBACK[index % FALLBACK.length];
}

/** Canvas drawing needs a concrete colour, so resolve the variable against the current theme. */
export function resolveColor(cssColor: string): string {
  const m = /^var\((--[\w-]+)\)$/.exec(cssColor);
  if (!m) return cssColor;
  return getComputedStyle(document.documentElement).getPropertyValue(m[1]).trim() || '#888';
}
