// Text the CLI shows: the progress bar, plain progress lines, per-file summaries and the --json document.
// Pure string building; main.ts decides where it goes.
import { analysisLabel, confidenceLabel, DEFAULT_SEPARATION_CONTROLS } from '../engine/index.ts';
import type { ModelInfo, Progress, SeparationControls, SeparationResult } from '../engine/types.ts';

/** A separation as the CLI reports it: with the preset mix or the stem file it also wrote. */
export type FileResult = SeparationResult & { mix?: string; stemFile?: string };

/**
 * Text from outside (file names, tags, messages that quote them) as the terminal may show it: control characters
 * (C0, DEL, C1: ESC, CR, BEL, line breaks, …) written as \xNN, so a name cannot move the cursor, retitle the window
 * or fake a line of output. The --json document needs none of this: JSON escapes them itself.
 */
export function terminalText(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600),
    m = Math.floor((s % 3600) / 60),
    r = s % 60;
  const mm = String(m).padStart(h ? 2 : 1, '0'),
    ss = String(r).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** One terminal line: `song.wav [██████░░░░░░]  48% network  ETA 0:12` fitted to `width` columns. */
export function progressBar(label: string, p: Progress, width: number): string {
  const pct = `${Math.floor(p.fraction * 100)}%`.padStart(4);
  const eta = p.etaSeconds === null ? '' : `  ETA ${formatDuration(p.etaSeconds)}`;
  const tail = ` ${pct} ${p.stage.padEnd(10)}${eta}`;
  const barWidth = Math.max(10, Math.min(40, width - tail.length - 24));
  const filled = Math.round(p.fraction * barWidth);
  const bar = `[${'█'.repeat(filled)}${'░'.repeat(barWidth - filled)}]`;
  const room = Math.max(8, width - bar.length - tail.length - 2);
  const shown = terminalText(label);
  const name = shown.length > room ? `…${shown.slice(-(room - 1))}` : shown;
  return `${name} ${bar}${tail}`;
}

/** Plain-line progress for logs: one line each time the job passes another tenth. */
export class ProgressLines {
  private lastTenth = -1;
  next(label: string, p: Progress): string | null {
    const tenth = Math.floor(p.fraction * 10);
    if (tenth === this.lastTenth) return null;
    this.lastTenth = tenth;
    const eta = p.etaSeconds === null ? '' : `, ETA ${formatDuration(p.etaSeconds)}`;
    return `${terminalText(label)}: ${tenth * 10}% (${p.stage}${eta})`;
  }
}

export function summary(r: FileResult, seconds: number): string {
  const t = terminalText;
  if (!r.ok)
    return `✘ ${r.error.message.includes(r.input) ? '' : `${t(r.input)}: `}${t(r.error.message)} [${r.error.code}]`;
  const lines = [
    `✔ ${t(r.input)} → ${t(r.stemFile ?? Object.values(r.stems).join(', '))}`,
    `  ${formatDuration(r.duration)} of audio in ${seconds.toFixed(1)} s on ${r.ep} (model ${t(r.modelId)})`,
  ];
  if (r.title || r.artist) lines.push(`  ${t([r.title, r.artist].filter(Boolean).join(' — '))}`);
  if (r.mix) lines.push(`  mix: ${t(r.mix)}`);
  if (r.analysis) lines.push(`  ${analysisLabel(r.analysis)} (measured; clarity ${confidenceLabel(r.analysis)})`);
  for (const s of r.epSkipped) lines.push(`  skipped ${t(s.reason)}`);
  for (const m of r.epTimings)
    lines.push(`  timed ${m.ep}: ${m.seconds.toFixed(3)} s for a network run of ${m.batch} × ${m.frames} frames`);
  for (const n of r.notices) lines.push(`  note: ${t(n)}`);
  return lines.join('\n');
}

/** The --json document: exactly the fields of the published schema, in its order. */
export function jsonDocument(results: FileResult[]): string {
  const files = results.map((r) =>
    r.ok
      ? {
          input: r.input,
          ok: true,
          stems: r.stems,
          sampleRate: r.sampleRate,
          duration: r.duration,
          ep: r.ep,
          epSkipped: r.epSkipped,
          epTimings: r.epTimings,
          timings: r.timings,
          notices: r.notices,
          controls: r.controls,
          ...(r.estimates ? { estimates: r.estimates } : {}),
          ...(r.mix ? { mix: r.mix } : {}),
          ...(r.stemFile ? { stemFile: r.stemFile } : {}),
          ...(r.title ? { title: r.title } : {}),
          ...(r.artist ? { artist: r.artist } : {}),
          ...(r.analysis ? { analysis: r.analysis } : {}),
        }
      : { input: r.input, ok: false, error: { code: r.error.code, message: r.error.message } },
  );
  return JSON.stringify({ files }, null, 2);
}

/** A complete set of controls in a line: "neutral", or what differs from it ("strength vocals=1.2; wiener 2"). */
export function controlsText(c: SeparationControls): string {
  const perSource = (name: string, t?: Record<string, number>) =>
    t && Object.keys(t).length
      ? [
          `${name} ${Object.entries(t)
            .map(([s, v]) => `${s}=${v}`)
            .join(',')}`,
        ]
      : [];
  const parts = [
    ...perSource('strength', c.strength),
    ...perSource('bleed', c.bleed),
    ...(c.wienerIterations !== DEFAULT_SEPARATION_CONTROLS.wienerIterations ? [`wiener ${c.wienerIterations}`] : []),
    ...(c.softmask ? ['softmask'] : []),
    ...(c.residual ? ['residual'] : []),
  ];
  return parts.length ? parts.join('; ') : 'neutral';
}

export function modelTable(models: ModelInfo[]): string {
  const rows = models.map((m) =>
    [m.id, m.name, m.sources.join(','), m.license, controlsText(m.defaultControls), m.bundled ? 'bundled' : m.dir].map(
      terminalText,
    ),
  );
  const head = ['ID', 'NAME', 'SOURCES', 'LICENSE', 'DEFAULTS', 'WHERE'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [head, ...rows]
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  '))
    .join('\n');
}
