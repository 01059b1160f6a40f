import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The migrations are plain .sql files imported as text, as esbuild's text loader does in the build.
  plugins: [
    {
      name: 'sql-text',
      enforce: 'pre',
      transform: (code, id) =>
        id.endsWith('.sql')
          ? { code: `export default ${JSON.stringify(code)};`, map: null }
          : undefined,
    },
  ],
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
