// One song's cached network estimates on disk: every chunk's est_mag as float24 (float24.ts), in plan order.
//
//   bytes 0..4096   header: "XUMXEST\0" | u32 version | u32 JSON length | u32 crc32(JSON) | JSON (EstimateHeader),
//                   padded with spaces to 4096 bytes
//   then per chunk: u32 chunk index | u32 checksum(payload) (checksum.ts) | payload: 3 bytes per value
//                   [sources][2][bins][frames]
//
// Written under a temporary name with a placeholder header; the real header (with the chunk count) goes in last and
// the file is renamed into place, so a reader never sees a half-written entry. Every read checks the header's and
// each chunk's checksum; any mismatch is a CACHE_CORRUPT error and the caller recomputes.
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { XumxError } from '../errors.ts';
import type { DspKernels } from '../dsp/kernels/index.ts';
import { checksum } from './checksum.ts';
import { BYTES_PER_VALUE } from './float24.ts';

export const MAGIC = 'XUMXEST\0';
/** 2: records carry checksum.ts's checksum instead of a CRC-32. */
export const FORMAT_VERSION = 2;
export const HEADER_BYTES = 4096;
const RECORD_PREFIX = 8;

export interface EstimateHeader {
  /** The cache key this entry answers (see estimate-cache.ts). */
  key: string;
  modelId: string;
  modelSha256: string;
  sources: string[];
  bins: number;
  /** STFT frames per chunk. */
  frames: number;
  /** Chunks in the file (0 in the placeholder written first). */
  chunks: number;
  /** The segment settings the song was cut with; a re-render must cut it the same way. */
  segmentFrames: number;
  overlapFrames: number;
  codec: 'float24';
  /** Execution provider that computed the estimates. */
  ep: string;
}

export function chunkValues(h: Pick<EstimateHeader, 'sources' | 'bins' | 'frames'>): number {
  return h.sources.length * 2 * h.bins * h.frames;
}

function encodeHeader(h: EstimateHeader): Buffer {
  const json = Buffer.from(JSON.stringify(h), 'utf8');
  if (16 + json.length > HEADER_BYTES)
    throw new XumxError('INTERNAL', 'estimate cache header does not fit in 4096 bytes');
  const out = Buffer.alloc(HEADER_BYTES, 0x20);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(FORMAT_VERSION, 8);
  out.writeUInt32LE(json.length, 12);
  out.writeUInt32LE(crc32(json), 16);
  json.copy(out, 20);
  return out;
}

const corrupt = (path: string, reason: string) =>
  new XumxError('CACHE_CORRUPT', `${path}: cached estimates are unusable (${reason})`, path);

/** Streams chunks into a temporary file next to `path`; commit() puts it in place atomically. */
export class EstimateFileWriter {
  private chunks = 0;
  private closed = false;

  private constructor(
    private readonly fh: FileHandle,
    private readonly tempPath: string,
    private readonly path: string,
    private readonly header: EstimateHeader,
    private readonly kernels?: DspKernels,
  ) {}

  /** `kernels`: the writing thread's, for the records' checksums; absent: checksum.ts's reference (the same values). */
  static async create(
    path: string,
    header: Omit<EstimateHeader, 'chunks'>,
    kernels?: DspKernels,
  ): Promise<EstimateFileWriter> {
    const tempPath = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.partial`;
    const fh = await open(tempPath, 'w');
    const w = new EstimateFileWriter(fh, tempPath, path, { ...header, chunks: 0 }, kernels);
    try {
      await w.writeAll([encodeHeader(w.header)], 0);
    } catch (err) {
      await w.abort();
      throw err;
    }
    return w;
  }

  /** `bytes`: one chunk's stored estimates [sources][2][bins][frames], BYTES_PER_VALUE each. */
  async append(bytes: Uint8Array): Promise<void> {
    const expected = chunkValues(this.header) * BYTES_PER_VALUE;
    if (bytes.length !== expected)
      throw new XumxError('INTERNAL', `estimate chunk of ${bytes.length} bytes, expected ${expected}`);
    const payload = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const prefix = Buffer.alloc(RECORD_PREFIX);
    prefix.writeUInt32LE(this.chunks, 0);
    prefix.writeUInt32LE(checksum(payload, this.kernels), 4);
    const at = HEADER_BYTES + this.chunks * (RECORD_PREFIX + payload.length);
    await this.writeAll([prefix, payload], at);
    this.chunks++;
  }

  /**
   * A write the disk took only in part (it filled up) is an error: a truncated entry must never be committed.
   * Nothing is retried; the caller drops the entry.
   */
  private async writeAll(parts: Buffer[], at: number): Promise<void> {
    const want = parts.reduce((n, p) => n + p.length, 0);
    const { bytesWritten } = await this.fh.writev(parts, at);
    if (bytesWritten !== want) {
      throw new XumxError(
        'DISK_FULL',
        `${this.tempPath}: only ${bytesWritten} of ${want} bytes could be written (is the disk full?)`,
        this.tempPath,
      );
    }
  }

  async commit(): Promise<number> {
    this.closed = true;
    try {
      await this.writeAll([encodeHeader({ ...this.header, chunks: this.chunks })], 0);
      await this.fh.sync();
      const { size } = await this.fh.stat();
      await this.fh.close();
      await rename(this.tempPath, this.path);
      return size;
    } catch (err) {
      await this.fh.close().catch(() => {});
      await rm(this.tempPath, { force: true });
      throw err;
    }
  }

  async abort(): Promise<void> {
    if (!this.closed) await this.fh.close().catch(() => {});
    this.closed = true;
    await rm(this.tempPath, { force: true });
  }
}

/** Hands out where each chunk's record is, in order (claimChunk) or not (recordAt); readRecord reads one. */
export class EstimateFileReader {
  private next = 0;
  /** One record's length, prefix and payload. */
  private readonly recordBytes: number;

  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    readonly header: EstimateHeader,
  ) {
    this.recordBytes = RECORD_PREFIX + chunkValues(header) * BYTES_PER_VALUE;
  }

  /** Opens and validates the header and the file's length; `expect` fields must match (else CACHE_CORRUPT). */
  static async open(path: string, expect: Partial<EstimateHeader>): Promise<EstimateFileReader> {
    const fh = await open(path, 'r');
    try {
      const head = Buffer.alloc(HEADER_BYTES);
      const { bytesRead } = await fh.read(head, 0, HEADER_BYTES, 0);
      if (bytesRead < HEADER_BYTES || head.toString('latin1', 0, 8) !== MAGIC)
        throw corrupt(path, 'not an estimate cache file');
      const version = head.readUInt32LE(8);
      if (version !== FORMAT_VERSION)
        throw corrupt(path, `format version ${version}, this app reads ${FORMAT_VERSION}`);
      const length = head.readUInt32LE(12);
      if (length > HEADER_BYTES - 20) throw corrupt(path, 'header length out of range');
      const json = head.subarray(20, 20 + length);
      if (crc32(json) !== head.readUInt32LE(16)) throw corrupt(path, 'header checksum mismatch');
      const header = JSON.parse(json.toString('utf8')) as EstimateHeader;
      for (const [k, v] of Object.entries(expect)) {
        if (JSON.stringify(header[k as keyof EstimateHeader]) !== JSON.stringify(v))
          throw corrupt(path, `${k} differs from this job's`);
      }
      if (header.codec !== 'float24' || !(header.chunks > 0)) throw corrupt(path, 'empty or unknown codec');
      const expected = HEADER_BYTES + header.chunks * (RECORD_PREFIX + chunkValues(header) * BYTES_PER_VALUE);
      const { size } = await fh.stat();
      if (size !== expected) throw corrupt(path, `${size} bytes, expected ${expected}`);
      return new EstimateFileReader(fh, path, header);
    } catch (err) {
      await fh.close();
      throw err instanceof XumxError ? err : corrupt(path, (err as Error).message);
    }
  }

  get remaining(): number {
    return this.header.chunks - this.next;
  }

  /**
   * Takes the next chunk without reading it: where it is, for readRecord() on another thread (a re-render's DSP
   * thread reads and checks its own chunks, so the job's thread does not copy or checksum ~13 MB per chunk).
   */
  claimChunk(): CachedRecord {
    if (this.next >= this.header.chunks)
      throw corrupt(this.path, `asked for chunk ${this.next + 1} of ${this.header.chunks}`);
    return this.recordAt(this.next++);
  }

  /** Where chunk `index` is, out of order (a part of the song rendered on its own); does not move claimChunk on. */
  recordAt(index: number): CachedRecord {
    if (!Number.isInteger(index) || index < 0 || index >= this.header.chunks)
      throw corrupt(this.path, `asked for chunk ${index + 1} of ${this.header.chunks}`);
    return { path: this.path, index, at: HEADER_BYTES + index * this.recordBytes, bytes: this.recordBytes };
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Where one chunk's record is (EstimateFileReader.claimChunk). */
export interface CachedRecord {
  path: string;
  index: number;
  /** Byte offset and length of the whole record (prefix and payload). */
  at: number;
  bytes: number;
}

/**
 * Reads one record synchronously (on a DSP thread) into `into` (reused between chunks: no allocation per chunk),
 * checking its length and place: CACHE_CORRUPT when it is short or out of place. Returns its payload and the
 * checksum the payload must have, which the caller checks where it decodes it (DspKernels.decodeFloat24Into).
 */
export function readRecord(where: CachedRecord, into?: Buffer): { payload: Buffer; checksum: number } {
  const record =
    into && into.length >= where.bytes ? into.subarray(0, where.bytes) : Buffer.allocUnsafeSlow(where.bytes);
  let fd: number;
  try {
    fd = openSync(where.path, 'r');
  } catch (err) {
    throw corrupt(where.path, `cannot open it again: ${(err as Error).message}`);
  }
  try {
    checkPlace(record, readSync(fd, record, 0, where.bytes, where.at), where);
  } finally {
    closeSync(fd);
  }
  return { payload: record.subarray(RECORD_PREFIX), checksum: record.readUInt32LE(4) };
}

/** CACHE_CORRUPT for one record, naming the file and the chunk: `reason` e.g. "checksum mismatch". */
export function recordCorrupt({ path, index }: CachedRecord, reason: string): XumxError {
  return corrupt(path, `chunk ${index}: ${reason}`);
}

function checkPlace(record: Buffer, bytesRead: number, { path, index }: CachedRecord): void {
  if (bytesRead !== record.length) throw corrupt(path, `chunk ${index} is truncated`);
  if (record.readUInt32LE(0) !== index) throw corrupt(path, `chunk ${index} is out of place`);
}
