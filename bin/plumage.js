#!/usr/bin/env node
// Entry point of the `plumage` CLI. The sources are TypeScript run through tsx, so the CLI works
// straight from a checkout (`npx plumage …`) without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src-main/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
