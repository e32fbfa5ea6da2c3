/** `--sae DIR[@HOOK]`: a dictionary folder (or ORG/NAME/SUBFOLDER), and the hook it reads when the files do not say. */
import { fail } from '../engine/errors';
import type { SaeRef } from '../protocol/runner';

/** The text after the last '@' is a hook when it looks like one (no slash): folder names may hold '@' too. */
export function saeArg(value: string, mode: SaeRef['mode']): SaeRef {
  const at = value.lastIndexOf('@');
  const hook = at > 0 ? value.slice(at + 1) : '';
  if (at > 0 && /^[A-Za-z_][\w.]*$/.test(hook)) return { path: value.slice(0, at), hook, mode };
  if (at === value.length - 1) fail('BAD_INPUT', { field: '--sae' }, `${JSON.stringify(value)} names no hook after '@'.`, 'Example: --sae ./sae@blocks.6.hook_resid_post');
  return { path: value, mode };
}

export function saeArgs(values: string[] | undefined, splice: boolean | undefined): SaeRef[] {
  return (values ?? []).map((v) => saeArg(v, splice ? 'splice' : 'observe'));
}
