// Display of times and levels in the transport and the mixer.

/** 83.25 → "1:23.2"; hours appear only when needed. */
export function formatTime(seconds: number): string {
  const t = Math.max(0, Number.isFinite(seconds) ? seconds : 0);
  const tenths = Math.floor(t * 10) % 10;
  const whole = Math.floor(t);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  const ms = `${String(s).padStart(2, '0')}.${tenths}`;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ms}` : `${m}:${ms}`;
}

/** -3.04 → "-3.0 dB", -Infinity → "-∞ dB". */
export function formatDb(db: number): string {
  if (db === -Infinity || db < -120) return '-∞ dB';
  const v = Math.round(db * 10) / 10;
  return `${v > 0 ? '+' : ''}${v.toFixed(1)} dB`;
}
