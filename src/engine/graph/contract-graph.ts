/**
 * A graph for one product a · bᵀ of two row-major matrices (a [m, k], b [n, k] -> [m, n]), for arithmetic
 * an analysis would otherwise do in JavaScript at a fraction of onnxruntime's GEMM speed (edge scores:
 * every destination's gradient against every source's activation difference).
 */
import { GraphBuilder } from './builder';

export const CONTRACT_A = 'a';
export const CONTRACT_B = 'b';
export const CONTRACT_OUT = 'product';

export function buildContractGraph(): Uint8Array {
  const g = new GraphBuilder();
  g.op('Gemm', [g.input(CONTRACT_A, 'float', ['m', 'k']), g.input(CONTRACT_B, 'float', ['n', 'k'])], { transB: 1 }, CONTRACT_OUT);
  g.output(CONTRACT_OUT, 'float', ['m', 'n']);
  return g.build('contract', 17);
}
