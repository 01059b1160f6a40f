import { main } from './main.js';
import { processIo } from './process-io.js';

// The executable: real process I/O around the in-process CLI.
process.exitCode = await main(process.argv.slice(2), processIo());
