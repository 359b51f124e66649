/**
 * Linear assignment: the shortest augmenting path method of Jonker & Volgenant (1987) in the rectangular form of
 * Crouse, "On implementing 2D rectangular assignment algorithms", IEEE TAES 52(4), 2016 (Algorithm 4: one
 * Dijkstra search per row over reduced costs with dual variables u, v). O(rows² · cols).
 */

export interface Assignment {
  /** colForRow[i] = the column assigned to row i (every row gets one; rows ≤ cols). */
  colForRow: Int32Array;
  /** Σ cost[i][colForRow[i]] of the original matrix. */
  total: number;
}

export class AssignmentError extends Error {}

/**
 * Minimises (or with `maximize` maximises) Σ cost[i, σ(i)] over injective σ: rows → cols.
 * `cost` is row-major rows × cols with rows ≤ cols (pass the transpose otherwise). Entries must be finite.
 */
export function solveAssignment(cost: Float64Array | Float32Array, rows: number, cols: number, maximize = false): Assignment {
  if (rows > cols) throw new AssignmentError(`assignment needs rows ≤ cols, got ${rows}×${cols}`);
  if (cost.length < rows * cols) throw new AssignmentError(`cost matrix has ${cost.length} entries, expected ${rows * cols}`);
  const c = new Float64Array(rows * cols);
  // Shift so every entry is ≥ 0: reduced costs then start non-negative and Dijkstra's invariant holds.
  let min = Infinity;
  for (let k = 0; k < rows * cols; k++) {
    const x = maximize ? -cost[k] : cost[k];
    if (!Number.isFinite(x)) throw new AssignmentError(`cost matrix entry ${k} is not finite (${cost[k]})`);
    c[k] = x;
    if (x < min) min = x;
  }
  if (rows * cols > 0) for (let k = 0; k < rows * cols; k++) c[k] -= min;

  const u = new Float64Array(rows);
  const v = new Float64Array(cols);
  const shortest = new Float64Array(cols);
  const path = new Int32Array(cols);
  const colForRow = new Int32Array(rows).fill(-1);
  const rowForCol = new Int32Array(cols).fill(-1);
  const seenRow = new Uint8Array(rows);
  const seenCol = new Uint8Array(cols);
  const remaining = new Int32Array(cols);
  const visitedRows = new Int32Array(rows);

  for (let cur = 0; cur < rows; cur++) {
    // Dijkstra from row `cur` over reduced costs c[i][j] − u[i] − v[j] until an unassigned column is reached.
    let minVal = 0;
    let nRemaining = cols;
    for (let k = 0; k < cols; k++) remaining[k] = cols - k - 1;
    seenRow.fill(0);
    seenCol.fill(0);
    shortest.fill(Infinity);
    let nVisited = 0;
    let sink = -1;
    let i = cur;
    while (sink === -1) {
      seenRow[i] = 1;
      visitedRows[nVisited++] = i;
      let index = -1;
      let lowest = Infinity;
      const base = i * cols;
      const ui = u[i];
      for (let it = 0; it < nRemaining; it++) {
        const j = remaining[it];
        const r = minVal + c[base + j] - ui - v[j];
        if (r < shortest[j]) {
          path[j] = i;
          shortest[j] = r;
        }
        if (shortest[j] < lowest || (shortest[j] === lowest && rowForCol[j] === -1)) {
          lowest = shortest[j];
          index = it;
        }
      }
      minVal = lowest;
      if (minVal === Infinity || index < 0) throw new AssignmentError('no feasible assignment');
      const j = remaining[index];
      if (rowForCol[j] === -1) sink = j;
      else i = rowForCol[j];
      seenCol[j] = 1;
      remaining[index] = remaining[--nRemaining];
    }
    // Update the duals so reduced costs stay ≥ 0 and are 0 on the matching.
    u[cur] += minVal;
    for (let k = 0; k < nVisited; k++) {
      const r = visitedRows[k];
      if (r !== cur) u[r] += minVal - shortest[colForRow[r]];
    }
    for (let j = 0; j < cols; j++) if (seenCol[j]) v[j] -= minVal - shortest[j];
    // Augment along the path back to `cur`.
    let j = sink;
    for (;;) {
      const r = path[j];
      rowForCol[j] = r;
      const prev = colForRow[r];
      colForRow[r] = j;
      j = prev;
      if (r === cur) break;
    }
  }
  let total = 0;
  for (let r = 0; r < rows; r++) total += cost[r * cols + colForRow[r]];
  return { colForRow, total };
}
