/**
 * Tells interested code (the CLI prints it) which backend the process resolved, the moment it is
 * resolved. A module of its own so that listening does not load TF.js: commands that end before
 * computing anything (bad arguments, an unknown run) neither load it nor print a backend line.
 */
type Listener = (line: string) => void;
const listeners: Listener[] = [];
let announced: string | null = null;

/** Calls `f` with e.g. `node — tfjs-node 4.22.0, libtensorflow 2.21.0` once the backend is known. */
export function onBackendResolved(f: Listener): void {
  listeners.push(f);
  if (announced) f(announced);
}

export function announceBackend(line: string): void {
  if (announced === line) return;
  announced = line;
  for (const f of listeners) f(line);
}
