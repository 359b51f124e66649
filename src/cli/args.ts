/** Minimal argv parser: positionals, `--flag`, `--key value` and `--key=value`. */
export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
}

export class UsageError extends Error {}

export function parseArgs(argv: readonly string[], valued: ReadonlySet<string>): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--') || a === '--') {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (eq > 0) flags.set(key, a.slice(eq + 1));
    else if (valued.has(key)) {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`--${key} needs a value`);
      flags.set(key, v);
    } else flags.set(key, true);
  }
  return { positionals, flags };
}
