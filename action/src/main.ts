// Entry point of the main step (action.yml `main`), bundled into dist/main.js.
import { nodeDeps } from './node-deps.js';
import { runMain } from './run-main.js';

await runMain(nodeDeps());
