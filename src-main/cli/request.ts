import type { ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { describeIssues } from '../api/schemas.ts';
import { usageError } from './errors.ts';
import { parseCommandArgs } from './context.ts';

/**
 * argv → an operation's request, through the operation's own zod schema: a command lists no
 * options of its own. Every field of the schema is a flag (camelCase → --kebab-case, or the name
 * in `rename`); booleans are switches, numbers are converted and then checked by the schema (so
 * the CLI and the api refuse the same values with the same rules).
 */
type Shape = Record<string, z.ZodType>;

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

/** The innermost type name of a field (optional/default wrappers removed). */
function baseType(t: z.ZodType): string {
  let def = (t as unknown as { _zod: { def: { type: string; innerType?: z.ZodType } } })._zod.def;
  while ((def.type === 'optional' || def.type === 'default' || def.type === 'nullable') && def.innerType)
    def = (def.innerType as unknown as { _zod: { def: { type: string; innerType?: z.ZodType } } })._zod.def;
  return def.type;
}

export interface RequestSpec<S extends z.ZodObject<Shape>> {
  schema: S;
  /** Fields filled from positional arguments, in order (not flags). */
  positionals?: (keyof z.infer<S> & string)[];
  /** A flag name other than the kebab-case field name (e.g. collectionId → --collection). */
  rename?: Partial<Record<keyof z.infer<S> & string, string>>;
  /** Fields the command sets itself (not offered as flags). */
  omit?: (keyof z.infer<S> & string)[];
  /** Extra flags of the command that are not request fields (e.g. --resume). */
  extra?: NonNullable<ParseArgsConfig['options']>;
  usage: string;
}

export function parseRequest<S extends z.ZodObject<Shape>>(
  argv: string[],
  spec: RequestSpec<S>,
): { request: z.infer<S>; extra: Record<string, string | boolean | undefined> } {
  const shape = spec.schema.shape as Shape;
  const flagOf = (field: string) => spec.rename?.[field as keyof typeof spec.rename] ?? kebab(field);
  const fields = Object.keys(shape).filter((f) => !spec.positionals?.includes(f as never) && !spec.omit?.includes(f as never));
  const options: NonNullable<ParseArgsConfig['options']> = { ...spec.extra };
  for (const f of fields) options[flagOf(f)] = { type: baseType(shape[f]) === 'boolean' ? 'boolean' : 'string' };
  const { values, positionals } = parseCommandArgs(argv, options, Boolean(spec.positionals?.length));
  const wanted = spec.positionals ?? [];
  if (positionals.length > wanted.length) throw usageError(`unexpected argument '${positionals[wanted.length]}' (${spec.usage})`);
  const raw: Record<string, unknown> = {};
  wanted.forEach((f, i) => (raw[f] = positionals[i]));
  for (const f of fields) {
    const v = (values as Record<string, string | boolean | undefined>)[flagOf(f)];
    if (v === undefined) continue;
    raw[f] = baseType(shape[f]) === 'number' && typeof v === 'string' ? (v.trim() === '' ? NaN : Number(v)) : v;
  }
  const parsed = spec.schema.safeParse(raw);
  if (!parsed.success) throw usageError(`${describeFlags(parsed.error, flagOf, new Set(wanted))} (${spec.usage})`);
  const extra: Record<string, string | boolean | undefined> = {};
  for (const k of Object.keys(spec.extra ?? {})) extra[k] = (values as Record<string, string | boolean | undefined>)[k];
  return { request: parsed.data, extra };
}

/** The schema's complaint in the CLI's words: field names become their flags. */
function describeFlags(error: z.ZodError, flagOf: (f: string) => string, positional: Set<string>): string {
  const first = error.issues[0];
  const field = String(first?.path[0] ?? '');
  if (!field) return describeIssues(error);
  const where = positional.has(field) ? field.toUpperCase() : `--${flagOf(field)}`;
  return `${where}: ${first.message}`;
}
