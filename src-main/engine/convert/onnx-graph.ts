// A small builder for float32 ONNX inference graphs: named initializers, nodes in topological order, dynamic
// input/output shapes. It serialises with the hand-written schema in onnx-schema.ts; no ONNX library is needed
// at run time, so converting a model inside the app needs nothing but this file and protobufjs.
import { endianness } from 'node:os';
import { AttributeType, DataType, ModelProto } from './onnx-schema.ts';

/** A dimension: a fixed size, or a name for a size chosen at run time (e.g. 'batch'). */
export type Dim = number | string;

export type Attribute = { i: number } | { f: number } | { s: string } | { ints: number[] } | { floats: number[] };

interface TensorMessage {
  name: string;
  dims: number[];
  dataType: number;
  rawData: Uint8Array;
}

interface NodeMessage {
  opType: string;
  name: string;
  input: string[];
  output: string[];
  attribute: object[];
}

function valueInfo(name: string, dims: Dim[]): object {
  return {
    name,
    type: {
      tensorType: {
        elemType: DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attributeMessage(name: string, a: Attribute): object {
  if ('i' in a) return { name, type: AttributeType.INT, i: a.i };
  if ('f' in a) return { name, type: AttributeType.FLOAT, f: a.f };
  if ('s' in a) return { name, type: AttributeType.STRING, s: Buffer.from(a.s, 'utf8') };
  if ('ints' in a) return { name, type: AttributeType.INTS, ints: a.ints };
  return { name, type: AttributeType.FLOATS, floats: a.floats };
}

function bytesOf(view: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

export class OnnxGraphBuilder {
  private readonly nodes: NodeMessage[] = [];
  private readonly initializers: TensorMessage[] = [];
  private readonly inputs: object[] = [];
  private readonly outputs: object[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(private readonly graphName: string) {
    // raw_data is little-endian by the ONNX spec; typed arrays use the host's order.
    if (endianness() !== 'LE') throw new Error('ONNX raw tensor data needs a little-endian host');
  }

  input(name: string, dims: Dim[]): string {
    this.claim(name);
    this.inputs.push(valueInfo(name, dims));
    return name;
  }

  output(name: string, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, dims));
  }

  /** A float32 constant stored in the file. `data` is row-major over `dims`. */
  weight(name: string, dims: number[], data: Float32Array): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (data.length !== count) throw new Error(`initializer ${name}: ${data.length} values for shape [${dims}]`);
    this.claim(name);
    this.initializers.push({ name, dims, dataType: DataType.FLOAT, rawData: bytesOf(data) });
    return name;
  }

  /** An int64 constant (shapes, axes). */
  int64s(name: string, values: number[]): string {
    this.claim(name);
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims: [values.length], dataType: DataType.INT64, rawData: bytesOf(data) });
    return name;
  }

  /** Adds a node and returns the name of its (first) output. Empty input names mean "omitted optional input". */
  node(opType: string, inputs: string[], attrs: Record<string, Attribute> = {}, output?: string): string {
    const out = output ?? `${opType.toLowerCase()}_${this.counter}`;
    this.claim(out);
    this.nodes.push({
      opType,
      name: `${opType}_${this.counter++}`,
      input: inputs,
      output: [out],
      attribute: Object.entries(attrs).map(([k, v]) => attributeMessage(k, v)),
    });
    return out;
  }

  /** Serialises the model: IR version 8, default-domain opset `opset`. */
  toBytes(
    opset: number,
    producer: { name: string; version: string },
    metadata: Record<string, string> = {},
  ): Uint8Array {
    const model = ModelProto.fromObject({
      irVersion: 8,
      producerName: producer.name,
      producerVersion: producer.version,
      opsetImport: [{ domain: '', version: opset }],
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return ModelProto.encode(model).finish();
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`ONNX graph: the name ${name} is used twice`);
    this.names.add(name);
  }
}
