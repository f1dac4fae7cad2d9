// Matroska/WebM (EBML) header: enough parsing to name the document type and to tell a file cut short from a
// whole one before decoding. The Segment element declares its size unless the file was written live; a file
// shorter than that size was cut. The Segment's Info gives the duration, which tells a file whose clusters are
// damaged (libav stops at the damage without an error) from a whole one. Everything else is left to libav.

export type EbmlLayout =
  | { ok: true; docType: string; segmentSizeKnown: boolean; durationSeconds: number | null }
  | { ok: false; cut: boolean; detail: string };

const EBML_ID = 0x1a45dfa3;
const DOCTYPE_ID = 0x4282;
const SEGMENT_ID = 0x18538067;
const INFO_ID = 0x1549a966;
const TIMESTAMP_SCALE_ID = 0x2ad7b1;
const DURATION_ID = 0x4489;
const CLUSTER_ID = 0x1f43b675;

/** An EBML variable-length integer at `at`: its value (null when all value bits are 1, "unknown") and width. */
function vint(b: Uint8Array, at: number, keepMarker: boolean): { value: number | null; width: number } | null {
  if (at >= b.length || b[at] === 0) return null;
  const width = Math.clz32(b[at]) - 23;
  if (at + width > b.length) return null;
  let value = keepMarker ? b[at] : b[at] & (0xff >> width);
  let allOnes = value === 0xff >> width;
  for (let i = 1; i < width; i++) {
    value = value * 256 + b[at + i];
    if (b[at + i] !== 0xff) allOnes = false;
  }
  return { value: !keepMarker && allOnes ? null : value, width };
}

function element(b: Uint8Array, at: number): { id: number; bodyAt: number; size: number | null } | null {
  const id = vint(b, at, true);
  if (!id) return null;
  const size = vint(b, at + id.width, false);
  if (!size) return null;
  return { id: id.value!, bodyAt: at + id.width + size.width, size: size.value };
}

export function readEbmlLayout(b: Uint8Array): EbmlLayout {
  const head = element(b, 0);
  if (!head || head.id !== EBML_ID || head.size === null)
    return { ok: false, cut: b.length < 64, detail: 'the Matroska/WebM header is damaged' };
  const headEnd = head.bodyAt + head.size;
  if (headEnd > b.length) return { ok: false, cut: true, detail: 'the file ends inside its Matroska/WebM header' };
  let docType = 'matroska';
  for (let at = head.bodyAt; at < headEnd;) {
    const e = element(b, at);
    if (!e || e.size === null) break;
    if (e.id === DOCTYPE_ID)
      docType = new TextDecoder('latin1')
        .decode(b.subarray(e.bodyAt, e.bodyAt + Math.min(e.size, 64)))
        .replace(/\0+$/, '');
    at = e.bodyAt + e.size;
  }
  const segment = element(b, headEnd);
  if (!segment)
    return { ok: false, cut: true, detail: 'the file ends after its Matroska/WebM header, before any audio' };
  if (segment.id !== SEGMENT_ID)
    return { ok: false, cut: false, detail: 'the Matroska/WebM file has no Segment after its header' };
  if (segment.size !== null && segment.bodyAt + segment.size > b.length) {
    return {
      ok: false,
      cut: true,
      detail: `the file is ${segment.bodyAt + segment.size - b.length} bytes shorter than its Matroska/WebM Segment says`,
    };
  }
  return {
    ok: true,
    docType,
    segmentSizeKnown: segment.size !== null,
    durationSeconds: segmentDuration(b, segment.bodyAt),
  };
}

/** Info's Duration in seconds, looked for among the Segment's children before the first Cluster. */
function segmentDuration(b: Uint8Array, from: number): number | null {
  for (let at = from; at < b.length;) {
    const e = element(b, at);
    if (!e || e.size === null || e.id === CLUSTER_ID) return null;
    if (e.id === INFO_ID) {
      let scale = 1_000_000; // nanoseconds per tick unless TimestampScale says otherwise
      let ticks: number | null = null;
      for (let p = e.bodyAt; p < Math.min(e.bodyAt + e.size, b.length);) {
        const f = element(b, p);
        if (!f || f.size === null || f.bodyAt + f.size > b.length) break;
        const view = new DataView(b.buffer, b.byteOffset + f.bodyAt, f.size);
        if (f.id === TIMESTAMP_SCALE_ID)
          scale = [...b.subarray(f.bodyAt, f.bodyAt + f.size)].reduce((v, x) => v * 256 + x, 0);
        if (f.id === DURATION_ID && (f.size === 4 || f.size === 8))
          ticks = f.size === 4 ? view.getFloat32(0) : view.getFloat64(0);
        p = f.bodyAt + f.size;
      }
      return ticks !== null && Number.isFinite(ticks) && ticks > 0 ? (ticks * scale) / 1e9 : null;
    }
    at = e.bodyAt + e.size;
  }
  return null;
}
