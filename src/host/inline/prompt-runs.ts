/** The last result of each prompt of each spec document: spec uri -> prompt name -> value. */
import type * as vscode from 'vscode';

export class PromptRuns<T> {
  private readonly bySpec = new Map<string, Map<string, T>>();

  set(specUri: vscode.Uri, promptName: string, value: T): void {
    const key = specUri.toString();
    let prompts = this.bySpec.get(key);
    if (!prompts) this.bySpec.set(key, (prompts = new Map()));
    prompts.set(promptName, value);
  }

  /** The prompts of a spec with a result, by name. */
  of(specUri: vscode.Uri): ReadonlyMap<string, T> | undefined {
    return this.bySpec.get(specUri.toString());
  }
}
