// Reads an nnabla parameter file (.h5 as `nnabla.save_parameters` writes it): one dataset per parameter, named by
// its scope path ("fc1_bass/affine/W"), inside groups that h5py creates on the way. Shapes and types are listed
// first, values are read only on request, so a wrong file is rejected before 140 MB are decoded.
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { XumxError, asXumxError } from '../errors.ts';

type H5Module = typeof import('h5wasm');
type H5Group = InstanceType<H5Module['Group']>;
type H5Dataset = InstanceType<H5Module['Dataset']>;

export interface ParameterInfo {
  /** Scope path without the leading slash, e.g. "lstm_bass/lstm/weight_l0". */
  name: string;
  shape: number[];
  /** h5wasm's dtype string: '<f' float32, '<d' float64, '<e' float16, ... */
  dtype: string;
}

export interface ParameterFile {
  readonly path: string;
  readonly parameters: ParameterInfo[];
  /** The values as float32, row-major over `shape`. */
  read(name: string): Float32Array;
  close(): void;
}

/** The 8-byte signature every HDF5 file starts with (when it has no user block, as h5py and nnabla write them). */
export const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

export function hasHdf5Signature(head: Uint8Array): boolean {
  return head.length >= 8 && Buffer.from(head.subarray(0, 8)).equals(HDF5_SIGNATURE);
}

/**
 * The file size an HDF5 file declares in its superblock (base address + "end of file address"), or null when the
 * head is too short or of an unknown superblock version. A file shorter than this was cut off (HDF5 spec,
 * "Superblock": versions 0/1 keep the size of offsets at byte 13 and four addresses from byte 24 (v0) or 28 (v1);
 * versions 2/3 keep it at byte 9 and the addresses from byte 12; the end-of-file address is the third).
 */
export function hdf5DeclaredSize(head: Uint8Array): number | null {
  if (!hasHdf5Signature(head) || head.length < 9) return null;
  const version = head[8];
  let offsetSize: number;
  let start: number;
  if (version === 0 || version === 1) {
    offsetSize = head[13];
    start = version === 0 ? 24 : 28;
  } else if (version === 2 || version === 3) {
    offsetSize = head[9];
    start = 12;
  } else return null;
  if (offsetSize !== 4 && offsetSize !== 8) return null;
  if (head.length < start + 3 * offsetSize) return null;
  const address = (at: number) => {
    let v = 0;
    for (let i = offsetSize - 1; i >= 0; i--) v = v * 256 + head[at + i];
    return v;
  };
  return address(start) + address(start + 2 * offsetSize);
}

/** Bytes to read from the start of a file to know its signature and declared size. */
export const HDF5_HEAD_BYTES = 64;

let h5: Promise<H5Module> | undefined;

/**
 * Loads h5wasm's Node build once. Electron defines `navigator`, which makes emscripten believe it runs in a
 * browser and refuse the host file system, so it is hidden while the module starts (h5wasm README, "Electron").
 */
function loadH5wasm(): Promise<H5Module> {
  h5 ??= (async () => {
    const nav = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    if (nav?.configurable) Object.defineProperty(globalThis, 'navigator', { value: undefined, configurable: true });
    try {
      const mod = (await import('h5wasm/node')) as unknown as H5Module;
      await mod.ready;
      return mod;
    } finally {
      if (nav?.configurable) Object.defineProperty(globalThis, 'navigator', nav);
    }
  })();
  return h5;
}

function readHead(path: string): { head: Buffer; size: number } {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(HDF5_HEAD_BYTES);
    const n = readSync(fd, head, 0, HDF5_HEAD_BYTES, 0);
    return { head: head.subarray(0, n), size: fstatSync(fd).size };
  } catch (err) {
    throw asXumxError(err, path);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function listDatasets(group: H5Group, prefix: string, out: Map<string, H5Dataset>, mod: H5Module): void {
  for (const key of group.keys()) {
    const entity = group.get(key);
    const name = prefix ? `${prefix}/${key}` : key;
    if (entity instanceof mod.Group) listDatasets(entity, name, out, mod);
    else if (entity instanceof mod.Dataset) out.set(name, entity);
  }
}

export async function openParameterFile(path: string): Promise<ParameterFile> {
  const { head, size } = readHead(path);
  if (head.length === 0) throw new XumxError('CONVERT_FAILED', `${path}: the file is empty`, path);
  if (!hasHdf5Signature(head)) {
    throw new XumxError(
      'CONVERT_FAILED',
      `${path}: not an HDF5 file (an nnabla parameter file such as x-umx.h5 was expected)`,
      path,
    );
  }
  // Checked here because the HDF5 library prints its own diagnostics to stderr when it meets a cut-off file.
  const declared = hdf5DeclaredSize(head);
  if (declared !== null && size < declared) {
    throw new XumxError(
      'CONVERT_FAILED',
      `${path}: the file is truncated (${size} of ${declared} bytes); download it again`,
      path,
    );
  }
  const mod = await loadH5wasm();
  let file: InstanceType<H5Module['File']>;
  try {
    file = new mod.File(path, 'r');
  } catch (err) {
    throw new XumxError(
      'CONVERT_FAILED',
      `${path}: the HDF5 file cannot be opened (${(err as Error).message ?? err}); it may be truncated`,
      path,
      { cause: err },
    );
  }
  const datasets = new Map<string, H5Dataset>();
  try {
    listDatasets(file, '', datasets, mod);
  } catch (err) {
    file.close();
    throw new XumxError(
      'CONVERT_FAILED',
      `${path}: the HDF5 structure cannot be read (${(err as Error).message ?? err}); it may be truncated`,
      path,
      { cause: err },
    );
  }
  const parameters = [...datasets].map(([name, d]) => ({ name, shape: [...(d.shape ?? [])], dtype: String(d.dtype) }));
  return {
    path,
    parameters,
    read(name: string): Float32Array {
      const d = datasets.get(name);
      if (!d) throw new XumxError('CONVERT_FAILED', `${path}: parameter ${name} is missing`, path);
      let value: unknown;
      try {
        value = d.value;
      } catch (err) {
        throw new XumxError(
          'CONVERT_FAILED',
          `${path}: parameter ${name} cannot be read (${(err as Error).message ?? err}); the file may be truncated`,
          path,
          { cause: err },
        );
      }
      if (value instanceof Float32Array) return value;
      if (value instanceof Float64Array) return Float32Array.from(value);
      throw new XumxError(
        'CONVERT_FAILED',
        `${path}: parameter ${name} has type ${String(d.dtype)}, expected float32`,
        path,
      );
    },
    close() {
      file.close();
    },
  };
}
