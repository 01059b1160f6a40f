// The Workers entry (wrangler.toml's `main`): everything is in src/workers/.
export { workerHandler as default } from './workers/handler.js';
