/** Ends an exhaustive switch: the compiler errors when a message type is not handled. */
export function assertNever(x: never, what = 'value'): never {
  throw new Error(`unhandled ${what}: ${JSON.stringify(x)}`);
}
