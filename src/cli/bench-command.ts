export async function benchCommand(_argv: string[]): Promise<void> { throw new Error("todo"); }
