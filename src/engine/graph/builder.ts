/**
 * A small ONNX graph builder: nodes, initializers (inline or external data pointing into a safetensors
 * file), inputs and outputs with symbolic dims. Produces the serialized ModelProto.
 */
import { onnx } from 'onnx-proto';

export type ElemType = 'float' | 'float16' | 'bfloat16' | 'int64' | 'bool';
const ELEM: Record<ElemType, number> = {
  float: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  bfloat16: onnx.TensorProto.DataType.BFLOAT16,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** A dimension: a fixed size or a symbolic name such as 'batch'. */
export type Dim = number | string;
export type AttrValue = number | number[] | string | { floatValue: number } | { tensor: onnx.ITensorProto };

/** Where an initializer's bytes live: a file beside the model, at a byte offset. */
export interface ExternalRef {
  location: string;
  offset: number;
  length: number;
}

export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly initByName = new Map<string, onnx.ITensorProto>();
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private counter = 0;

  private addInit(t: onnx.ITensorProto): void {
    this.initializers.push(t);
    this.initByName.set(t.name!, t);
  }

  /** A fresh internal tensor name. */
  tmp(hint: string): string {
    return `_${hint}_${this.counter++}`;
  }

  input(name: string, type: ElemType, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  output(name: string, type: ElemType, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, type, dims));
  }

  /** Adds a node and returns its first output's name; `out` names it (a hook name), else it is fresh. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, out?: string | string[]): string {
    const outputs = Array.isArray(out) ? out : [out ?? this.tmp(opType)];
    this.nodes.push({
      opType,
      input: inputs,
      output: outputs,
      name: `n${this.nodes.length}_${opType}`,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outputs[0];
  }

  /** An initializer whose bytes stay in an external file (a safetensors file). */
  externalInit(name: string, type: ElemType, dims: number[], ref: ExternalRef): string {
    this.addInit({
      name,
      dataType: ELEM[type],
      dims,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: ref.location },
        { key: 'offset', value: String(ref.offset) },
        { key: 'length', value: String(ref.length) },
      ],
    });
    return name;
  }

  /** An fp32 initializer stored inside the model (raw bytes): for tensors that live only in memory. */
  floatInit(name: string, dims: number[], data: Float32Array): string {
    this.addInit({ name, dataType: ELEM.float, dims, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  constF(values: number[], dims: number[] = [values.length]): string {
    const name = this.tmp('cf');
    this.addInit({ name, dataType: ELEM.float, dims, floatData: values });
    return name;
  }

  constI(values: number[], dims: number[] = [values.length]): string {
    const name = this.tmp('ci');
    this.addInit({ name, dataType: ELEM.int64, dims, int64Data: values });
    return name;
  }

  /** The nodes recorded so far, in the order they were added (a topological order): what autodiff reads. */
  get nodeList(): readonly onnx.INodeProto[] {
    return this.nodes;
  }

  /** The graph inputs declared so far. */
  get inputList(): readonly onnx.IValueInfoProto[] {
    return this.inputs;
  }

  /** An initializer by name (its dims, and its values when stored inline), or undefined. */
  initializer(name: string): onnx.ITensorProto | undefined {
    return this.initByName.get(name);
  }

  /** The serialized model: opset `opset` of the default domain. */
  build(graphName: string, opset: number): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'circuit-lens',
      opsetImport: [{ domain: '', version: opset }],
      graph: {
        name: graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, type: ElemType, dims: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, v: AttrValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return { name, type: T.INT, i: v };
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('floatValue' in v) return { name, type: T.FLOAT, f: v.floatValue };
  return { name, type: T.TENSOR, t: v.tensor };
}
