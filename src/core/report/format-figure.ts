/** A figure of the transform reports (distances, norms, losses): 4 decimals, or 4 significant digits when tiny or large. */
export function formatFigure(x: number): string {
  return Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(3) : x.toFixed(4);
}
