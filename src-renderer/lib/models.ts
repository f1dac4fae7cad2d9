// What the Models view says about models and installs, as plain functions of the API's views: sizes, speeds,
// stages, the advice after a failure, and when to offer the published weights.
import type {
  ApiError,
  InstallableModel,
  ModelInfo,
  ModelInstallStage,
  ModelInstallView,
  ModelOrigin,
  ModelQuality,
  ModelsView,
  Settings,
} from '../../src-main/api/contract.ts';

/** Decimal units, as download sizes are usually given: 23.1 MB, 1.4 GB. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v >= 100 ? Math.round(v) : +v.toFixed(1)} ${units[i]}`;
}

/** "142 MB", or "about 142 MB" when the size is an estimate (no published size recorded). */
export function downloadSize(offer: { downloadBytes: number; downloadSizeKnown: boolean }): string {
  return `${offer.downloadSizeKnown ? '' : 'about '}${formatBytes(offer.downloadBytes)}`;
}

export function formatSpeed(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

export function formatTimeLeft(seconds: number): string {
  const s = Math.max(1, Math.round(seconds));
  if (s < 60) return `about ${s} s left`;
  const min = Math.round(s / 60);
  if (min < 60) return `about ${min} min left`;
  return `about ${Math.floor(min / 60)} h ${min % 60} min left`;
}

/** The download line under the progress bar: "12.3 MB of 140 MB · 5.2 MB/s · about 20 s left". */
export function downloadSummary(
  i: Pick<ModelInstallView, 'received' | 'total' | 'bytesPerSecond' | 'secondsLeft'>,
): string {
  const parts = [
    i.total !== null ? `${formatBytes(i.received)} of ${formatBytes(i.total)}` : `${formatBytes(i.received)} received`,
  ];
  if (i.bytesPerSecond !== null) parts.push(formatSpeed(i.bytesPerSecond));
  if (i.secondsLeft !== null) parts.push(formatTimeLeft(i.secondsLeft));
  return parts.join(' · ');
}

/** Fraction of the download done, null while the size is unknown. */
export function downloadFraction(i: Pick<ModelInstallView, 'received' | 'total'>): number | null {
  return i.total ? Math.min(1, i.received / i.total) : null;
}

const CONVERSION: { stage: Exclude<ModelInstallStage, 'download'>; label: string }[] = [
  { stage: 'validate', label: 'Checking every parameter' },
  { stage: 'read', label: 'Reading the weights' },
  { stage: 'build', label: 'Building the network' },
  { stage: 'write', label: 'Writing the model' },
];

/** Where the conversion is ("step 2 of 4: Reading the weights"); null while downloading. */
export function conversionStep(stage: ModelInstallStage): { step: number; of: number; label: string } | null {
  const i = CONVERSION.findIndex((c) => c.stage === stage);
  return i < 0 ? null : { step: i + 1, of: CONVERSION.length, label: CONVERSION[i].label };
}

/** A failed install can go on from its partial download unless the failure removed it. */
export function canResume(e: ApiError | null): boolean {
  return (
    e === null ||
    e.code === 'NO_NETWORK' ||
    e.code === 'DISK_FULL' ||
    (e.code === 'DOWNLOAD_FAILED' && /resume/.test(e.message))
  );
}

/** What to do after an install failed, by the backend's error code. */
export function installAdvice(e: ApiError): string {
  switch (e.code) {
    case 'NO_NETWORK':
      return 'The download server cannot be reached. Check the internet connection, then press Resume: what was received is kept.';
    case 'DOWNLOAD_FAILED':
      return canResume(e)
        ? 'The download stopped before the end. Press Resume to continue from where it stopped.'
        : 'The server did not deliver the file. Press Try again later; if it keeps failing, the address may have moved.';
    case 'DOWNLOAD_CORRUPT':
      return 'The file that arrived is damaged or not the published one, so it was removed. Press Try again to download it afresh.';
    case 'DISK_FULL':
      return 'There is not enough free disk space. Free some space, then press Resume.';
    case 'CONVERT_FAILED':
      return 'The file is not the X-UMX network this app expects and was removed. Nothing was installed; if this keeps happening, report the message above.';
    case 'OUTPUT_NOT_WRITABLE':
      return 'The models folder cannot be written. Check its permissions, then press Try again.';
    default:
      return 'Nothing was installed. Press Try again; if it fails again, the message above says what went wrong.';
  }
}

/** What to do after an import was refused. */
export function importAdvice(e: ApiError): string {
  switch (e.code) {
    case 'CONVERT_FAILED':
      return "The file is not Sony's X-UMX parameter file (x-umx.h5) in the layout this app reads. Nothing was installed.";
    case 'MODEL_BAD_MANIFEST':
    case 'MODEL_MISSING_FILE':
    case 'MODEL_CORRUPT':
    case 'MODEL_BAD_SHAPE':
      return 'The model does not follow the models contract (models/README.md). Nothing was installed.';
    case 'DISK_FULL':
      return 'There is not enough free disk space. Free some space, then import again.';
    default:
      return 'Nothing was installed. Import x-umx.h5, or a .zip of a model folder (manifest.json and an ONNX file).';
  }
}

export function originLabel(origin: ModelOrigin): string {
  return { bundled: 'Bundled', downloaded: 'Downloaded', imported: 'Imported' }[origin];
}

/** One line per recorded score: "Published, MUSDB18 test set: vocals 6.61 dB, drums 6.47 dB…". */
export function qualityLine(q: ModelQuality): string {
  const scores = Object.entries(q.sdr)
    .map(([source, db]) => `${source} ${db.toFixed(2)} dB`)
    .join(', ');
  return `${q.kind === 'published' ? 'Published' : 'Measured here'}, ${q.set} (${q.measure}): ${scores}`;
}

/**
 * The published weights to offer on first run: only while every installed model is bundled, the offer is not
 * installed and the user has not closed it. The offer stays while its install runs, to show the progress.
 */
export function firstRunOffer(view: ModelsView | null, settings: Settings | null): InstallableModel | null {
  if (!view || !settings || settings.modelOfferDismissed) return null;
  if (!view.models.every((m: ModelInfo) => m.origin === 'bundled')) return null;
  return view.installable.find((i) => !i.installed) ?? null;
}

/** Replaces an install's view with a newer one; a cancelled or finished install leaves the list. */
export function applyInstall(installs: ModelInstallView[], next: ModelInstallView): ModelInstallView[] {
  const rest = installs.filter((i) => i.modelId !== next.modelId);
  return next.state === 'cancelled' || next.state === 'done' ? rest : [...rest, next];
}

/** Model files the Models view takes: Sony's .h5, or a .zip of a model folder. */
export const MODEL_FILE_EXTENSIONS = ['.h5', '.zip'] as const;
