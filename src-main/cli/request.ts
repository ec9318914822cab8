import type { ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { describeIssues } from '../api/schemas.ts';
import { usageError } from './errors.ts';
import { parseCommandArgs } from './context.ts';

/**
 * argv → an operation's request, through the operation's own zod schema: a command lists no
 * options of its own. Every field of the schema is a flag (camelCase → --kebab-case, or the name
 * in `rename`); booleans are switches, numbers are converted and then checked by the schema (so
 * the CLI and the api refuse the same values with the same rules). An array field is a repeated
 * flag (`--set a=1 --set b=2`), or a comma list where the spec names it in `lists` (`--seeds 1,2,3`).
 */
type Shape = Record<string, z.ZodType>;
type Def = { type: string; innerType?: z.ZodType; element?: z.ZodType; in?: z.ZodType };

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
const defOf = (t: z.ZodType) => (t as unknown as { _zod: { def: Def } })._zod.def;

/** The innermost definition of a field (optional/default wrappers and refinements removed). */
function baseDef(t: z.ZodType): Def {
  let def = defOf(t);
  for (;;) {
    if ((def.type === 'optional' || def.type === 'default' || def.type === 'nullable') && def.innerType) def = defOf(def.innerType);
    else if (def.type === 'pipe' && def.in) def = defOf(def.in);
    else return def;
  }
}
const baseType = (t: z.ZodType): string => baseDef(t).type;
/** The type of an array field's elements. */
const elementType = (t: z.ZodType): string => {
  const el = baseDef(t).element;
  return el ? baseDef(el).type : 'string';
};
/** A flag's text as the schema's type: numbers converted (checked by the schema), the rest as given. */
const asType = (type: string, v: string) => (type === 'number' ? (v.trim() === '' ? NaN : Number(v)) : v);

export interface RequestSpec<S extends z.ZodObject<Shape>> {
  schema: S;
  /** Fields filled from positional arguments, in order (not flags). */
  positionals?: (keyof z.infer<S> & string)[];
  /** A flag name other than the kebab-case field name (e.g. collectionId → --collection). */
  rename?: Partial<Record<keyof z.infer<S> & string, string>>;
  /** Fields the command sets itself (not offered as flags). */
  omit?: (keyof z.infer<S> & string)[];
  /** Array fields given as one comma-separated flag (`--runs a,b`) rather than a repeated one. */
  lists?: (keyof z.infer<S> & string)[];
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
  const isList = (f: string) => spec.lists?.includes(f as never) ?? false;
  for (const f of fields) {
    const type = baseType(shape[f]);
    options[flagOf(f)] = { type: type === 'boolean' ? 'boolean' : 'string', ...(type === 'array' && !isList(f) ? { multiple: true } : {}) };
  }
  const { values, positionals } = parseCommandArgs(argv, options, Boolean(spec.positionals?.length));
  const wanted = spec.positionals ?? [];
  if (positionals.length > wanted.length) throw usageError(`unexpected argument '${positionals[wanted.length]}' (${spec.usage})`);
  const raw: Record<string, unknown> = {};
  wanted.forEach((f, i) => (raw[f] = positionals[i]));
  for (const f of fields) {
    const v = (values as Record<string, string | string[] | boolean | undefined>)[flagOf(f)];
    if (v === undefined) continue;
    const type = baseType(shape[f]);
    if (type === 'array') {
      const items = Array.isArray(v) ? v : String(v).split(',').map((s) => s.trim());
      raw[f] = items.map((item) => asType(elementType(shape[f]), item));
    } else raw[f] = typeof v === 'string' ? asType(type, v) : v;
  }
  const parsed = spec.schema.safeParse(raw);
  if (!parsed.success) throw usageError(describeFlags(parsed.error, flagOf, new Set(wanted), spec.usage));
  const extra: Record<string, string | boolean | undefined> = {};
  for (const k of Object.keys(spec.extra ?? {})) extra[k] = (values as Record<string, string | boolean | undefined>)[k];
  return { request: parsed.data, extra };
}

/**
 * The schema's complaint in the CLI's words: field names become their flags, and the usage line
 * follows. A message that already names its flag (a check written for the command line, such as
 * "--port must be 0..65535") stands alone.
 */
function describeFlags(error: z.ZodError, flagOf: (f: string) => string, positional: Set<string>, usage: string): string {
  const first = error.issues[0];
  if (first?.message.startsWith('--')) return first.message;
  const field = String(first?.path[0] ?? '');
  if (!field) return `${describeIssues(error)} (${usage})`;
  const where = positional.has(field) ? field.toUpperCase() : `--${flagOf(field)}`;
  return `${where}: ${first.message} (${usage})`;
}
