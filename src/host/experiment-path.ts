/** The file New Experiment writes. Plain string work, no `vscode`. */

/** A path that ends in exactly one `.circuit.json`: `x`, `x.json`, `x.circuit.json.json` all give `x.circuit.json`. */
export function experimentPath(p: string): string {
  return p.replace(/(\.(circuit|json))+$/i, '') + '.circuit.json';
}
