// Reads what the Models view shows about an ONNX file without building a session: the numeric types of its
// weights and the names and element types of the graph's inputs and outputs. A walk over the protobuf wire format
// that skips every payload (the weights themselves) by its length, so it is cheap even for large networks.

/** onnx.TensorProto.DataType names, by value. */
const DATA_TYPES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  16: 'bfloat16',
  17: 'float8e4m3fn',
  18: 'float8e4m3fnuz',
  19: 'float8e5m2',
  20: 'float8e5m2fnuz',
  21: 'uint4',
  22: 'int4',
  23: 'float4e2m1',
  24: 'float8e8m0',
  25: 'uint2',
  26: 'int2',
};

export const dataTypeName = (t: number) => DATA_TYPES[t] ?? `type ${t}`;

export interface OnnxSummary {
  /** Element count of the initializers (the weights), per data type name. */
  weights: Record<string, number>;
  inputs: { name: string; elemType: string }[];
  outputs: { name: string; elemType: string }[];
}

interface Field {
  no: number;
  /** Set for varint fields. */
  value?: number;
  /** Set for length-delimited fields: [start, end) in the buffer. */
  start?: number;
  end?: number;
}

/** Yields the fields of one message in buf[start, end); throws on data that is not protobuf. */
function* fields(buf: Uint8Array, start: number, end: number): Generator<Field> {
  let at = start;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (at >= end) throw new Error('truncated varint');
      const b = buf[at++];
      v += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return v;
      mul *= 128;
    }
    throw new Error('varint too long');
  };
  while (at < end) {
    const tag = varint();
    const no = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) yield { no, value: varint() };
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const len = varint();
      if (at + len > end) throw new Error('field runs past the end');
      yield { no, start: at, end: at + len };
      at += len;
    } else throw new Error(`unsupported wire type ${wire}`);
    if (at > end) throw new Error('field runs past the end');
  }
}

function sub(buf: Uint8Array, f: Field, no: number): Field | undefined {
  for (const g of fields(buf, f.start!, f.end!)) if (g.no === no && g.start !== undefined) return g;
  return undefined;
}

function valueInfo(buf: Uint8Array, f: Field): { name: string; elemType: string } {
  let name = '';
  let elemType = 'unknown';
  for (const g of fields(buf, f.start!, f.end!)) {
    if (g.no === 1 && g.start !== undefined) name = Buffer.from(buf.subarray(g.start, g.end)).toString('utf8');
    if (g.no === 2 && g.start !== undefined) {
      const tensor = sub(buf, g, 1);
      if (tensor)
        for (const h of fields(buf, tensor.start!, tensor.end!))
          if (h.no === 1 && h.value !== undefined) elemType = dataTypeName(h.value);
    }
  }
  return { name, elemType };
}

/** Throws a plain Error when the bytes are not an ONNX model; callers wrap it with the file's name. */
export function summarizeOnnx(buf: Uint8Array): OnnxSummary {
  const out: OnnxSummary = { weights: {}, inputs: [], outputs: [] };
  let graph: Field | undefined;
  for (const f of fields(buf, 0, buf.byteLength)) if (f.no === 7 && f.start !== undefined) graph = f;
  if (!graph) throw new Error('no graph in the file (not an ONNX model)');
  for (const f of fields(buf, graph.start!, graph.end!)) {
    if (f.start === undefined) continue;
    if (f.no === 5) {
      let type = 0;
      let count = 1;
      for (const g of fields(buf, f.start, f.end!)) {
        if (g.no === 1 && g.value !== undefined)
          count *= g.value; // dims, unpacked
        else if (g.no === 1 && g.start !== undefined) for (const d of packedVarints(buf, g.start, g.end!)) count *= d;
        else if (g.no === 2 && g.value !== undefined) type = g.value;
      }
      const name = dataTypeName(type);
      out.weights[name] = (out.weights[name] ?? 0) + count;
    } else if (f.no === 11) out.inputs.push(valueInfo(buf, f));
    else if (f.no === 12) out.outputs.push(valueInfo(buf, f));
  }
  return out;
}

function* packedVarints(buf: Uint8Array, start: number, end: number): Generator<number> {
  // A packed repeated varint field is a run of bare varints: read them as fields of a fake message would not work.
  let at = start;
  while (at < end) {
    let v = 0;
    let mul = 1;
    let b: number;
    do {
      b = buf[at++];
      v += (b & 0x7f) * mul;
      mul *= 128;
    } while (b & 0x80 && at < end);
    yield v;
  }
}

/**
 * The weights' precision in words: the types holding at least 1 % of the weight elements, most first
 * ("float32", "float16", "int8 + float32"). Integer shape constants alone do not make a network int64.
 */
export function weightPrecision(s: OnnxSummary): string {
  const total = Object.values(s.weights).reduce((a, b) => a + b, 0);
  const major = Object.entries(s.weights)
    .filter(([, n]) => total > 0 && n / total >= 0.01)
    .sort((a, b) => b[1] - a[1]);
  const names = major.map(([t]) => t);
  const numeric = names.filter((t) => t !== 'int64' && t !== 'int32');
  const shown = numeric.length ? numeric : names;
  return shown.length ? shown.join(' + ') : 'unknown';
}
