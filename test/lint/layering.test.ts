import { describe, expect, it } from 'vitest';
import { cruiseLayers, REPO, show } from './layers.js';

/*
 * The real src/ against .dependency-cruiser.cjs, as `npm run lint` checks it.
 * Expected to FAIL until the restructuring of issue 10 lands: its failure is
 * the to-do list (rule: file → import). The rules themselves are tested on
 * planted violations in layering-rules.test.ts.
 */
describe('src/', () => {
  it('has no import against the layering, no folder cycle and no file cycle', async () => {
    const violations = await cruiseLayers(REPO);
    expect(violations.map(show)).toEqual([]);
  });
});
