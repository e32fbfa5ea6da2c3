/** MLP activation functions as ONNX subgraphs that onnxruntime fuses (Gelu, FastGelu). */
import type { Activation } from '../model-config';
import type { GraphBuilder } from './builder';

export function activation(g: GraphBuilder, act: Activation, x: string, out?: string): string {
  if (act === 'relu') return g.op('Relu', [x], {}, out);
  if (act === 'silu') return g.op('Mul', [x, g.op('Sigmoid', [x])], {}, out);
  if (act === 'gelu') {
    // 0.5 x (1 + erf(x / sqrt 2)); onnxruntime fuses it into Gelu.
    const e = g.op('Erf', [g.op('Div', [x, g.constF([Math.SQRT2], [])])]);
    return g.op('Mul', [g.op('Mul', [x, g.op('Add', [e, g.constF([1], [])])]), g.constF([0.5], [])], {}, out);
  }
  // gelu_new: 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))); onnxruntime fuses it into FastGelu.
  const cube = g.op('Pow', [x, g.constF([3], [])]);
  const inner = g.op('Mul', [g.op('Add', [x, g.op('Mul', [cube, g.constF([0.044715], [])])]), g.constF([Math.sqrt(2 / Math.PI)], [])]);
  const t = g.op('Add', [g.op('Tanh', [inner]), g.constF([1], [])]);
  return g.op('Mul', [g.op('Mul', [x, g.constF([0.5], [])]), t], {}, out);
}
