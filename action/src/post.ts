// Entry point of the post step (action.yml `post`), bundled into dist/post.js.
import { nodeDeps } from './node-deps.js';
import { runPost } from './run-post.js';

await runPost(nodeDeps());
