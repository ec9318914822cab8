/**
 * What a shell needs before it runs any operation, kept apart from the operations so that loading
 * it costs nothing (no TF.js, no database): the workspace opened when none is named, and the hook
 * that says which compute backend TF.js picked.
 */
export { defaultHome } from '../../data/workspace.ts';
export { onBackendResolved } from '../../ml/backend-announce.ts';
