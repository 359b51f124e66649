/** Our linear assignment solver against brute force and against scipy.optimize.linear_sum_assignment. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { AssignmentError, solveAssignment } from '../../src/core/transforms/match/lap';
import { Rng } from '../../src/core/transforms/match/rng';
import { FIXTURES } from '../helpers/fixtures';

/** Best total over every injective map rows → cols, by enumeration. */
function bruteForce(c: Float64Array, rows: number, cols: number, maximize: boolean): number {
  let best = maximize ? -Infinity : Infinity;
  const used = new Uint8Array(cols);
  const rec = (i: number, acc: number) => {
    if (i === rows) {
      best = maximize ? Math.max(best, acc) : Math.min(best, acc);
      return;
    }
    for (let j = 0; j < cols; j++) {
      if (used[j]) continue;
      used[j] = 1;
      rec(i + 1, acc + c[i * cols + j]);
      used[j] = 0;
    }
  };
  rec(0, 0);
  return best;
}

function assertInjective(cols: Int32Array, n: number) {
  const seen = new Set<number>();
  for (const j of cols) {
    assert.ok(j >= 0 && j < n, `column ${j} in range`);
    assert.ok(!seen.has(j), `column ${j} used twice`);
    seen.add(j);
  }
}

describe('linear assignment (Jonker–Volgenant shortest augmenting path)', () => {
  it('matches brute force on 400 small random matrices, square and rectangular, min and max, with ties', () => {
    const rng = new Rng(7);
    for (let t = 0; t < 400; t++) {
      const rows = 1 + rng.int(6);
      const cols = rows + rng.int(3);
      const ties = t % 3 === 0;
      const c = new Float64Array(rows * cols);
      for (let k = 0; k < c.length; k++) c[k] = ties ? rng.int(4) - 2 : rng.normal() * 10;
      const maximize = t % 2 === 1;
      const got = solveAssignment(c, rows, cols, maximize);
      assertInjective(got.colForRow, cols);
      let sum = 0;
      for (let i = 0; i < rows; i++) sum += c[i * cols + got.colForRow[i]];
      assert.ok(Math.abs(sum - got.total) < 1e-9);
      const best = bruteForce(c, rows, cols, maximize);
      assert.ok(Math.abs(got.total - best) < 1e-9, `case ${t} ${rows}×${cols}: ${got.total} vs brute force ${best}`);
    }
  });

  it('agrees with scipy.optimize.linear_sum_assignment (committed oracle): same optimum, same assignment without ties', () => {
    const ref = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'pairs/oracle/lap-scipy.json'), 'utf8')) as {
      cases: { rows: number; cols: number; maximize: boolean; ties: boolean; cost: number[]; col_for_row: number[]; total: number }[];
    };
    assert.ok(ref.cases.length >= 20);
    for (const k of ref.cases) {
      const got = solveAssignment(Float64Array.from(k.cost), k.rows, k.cols, k.maximize);
      assertInjective(got.colForRow, k.cols);
      assert.ok(Math.abs(got.total - k.total) <= 1e-9 * Math.max(1, Math.abs(k.total)), `${k.rows}×${k.cols}: ${got.total} vs ${k.total}`);
      if (!k.ties) assert.deepEqual([...got.colForRow], k.col_for_row, `${k.rows}×${k.cols} assignment`);
    }
  });

  it('recovers a planted permutation of a 500×500 similarity matrix', () => {
    const n = 500;
    const rng = new Rng(3);
    const perm = rng.permutation(n);
    const c = new Float64Array(n * n);
    for (let k = 0; k < c.length; k++) c[k] = rng.normal() * 0.1;
    for (let i = 0; i < n; i++) c[i * n + perm[i]] += 5;
    const got = solveAssignment(c, n, n, true);
    assert.deepEqual([...got.colForRow], [...perm]);
  });

  it('refuses non-finite costs and rows > cols with a typed error', () => {
    assert.throws(() => solveAssignment(Float64Array.of(1, NaN, 2, 3), 2, 2), AssignmentError);
    assert.throws(() => solveAssignment(new Float64Array(6), 3, 2), AssignmentError);
  });

  it('handles the empty problem', () => {
    assert.equal(solveAssignment(new Float64Array(0), 0, 0).colForRow.length, 0);
  });
});
