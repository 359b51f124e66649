/**
 * scipy.optimize.fmin (Nelder–Mead) as in SciPy 1.10 scipy/optimize/_optimize.py _minimize_neldermead:
 * same initial simplex (5 % step, 0.00025 for a zero coordinate), same reflection/expansion/contraction/shrink
 * order, same termination test and the same function-call budget (200·N calls and iterations).
 */

export interface NelderMeadOptions {
  /** Absolute tolerance on the simplex spread (scipy xtol / xatol). Default 1e-4. */
  xtol?: number;
  /** Absolute tolerance on the function-value spread (scipy ftol / fatol). Default 1e-4. */
  ftol?: number;
  maxiter?: number;
  maxfun?: number;
}

export interface NelderMeadResult {
  x: number[];
  fun: number;
  iterations: number;
  fcalls: number;
  /** 0 converged, 1 function-call limit, 2 iteration limit (scipy warnflag). */
  warnflag: 0 | 1 | 2;
}

class MaxFunctionCalls extends Error {}

/** numpy argsort order for the small simplex: stable, NaN last. */
function order(values: number[]): number[] {
  const idx = values.map((_, i) => i);
  return idx.sort((a, b) => {
    const va = values[a];
    const vb = values[b];
    if (Number.isNaN(va)) return Number.isNaN(vb) ? 0 : 1;
    if (Number.isNaN(vb)) return -1;
    return va < vb ? -1 : va > vb ? 1 : 0;
  });
}

/** Minimises f from x0 exactly as scipy.optimize.fmin(f, x0, xtol, ftol) does (non-adaptive coefficients rho=1, chi=2, psi=0.5, sigma=0.5). */
export function fminNelderMead(f: (x: number[]) => number, x0: readonly number[], options: NelderMeadOptions = {}): NelderMeadResult {
  const xatol = options.xtol ?? 1e-4;
  const fatol = options.ftol ?? 1e-4;
  const N = x0.length;
  const rho = 1;
  const chi = 2;
  const psi = 0.5;
  const sigma = 0.5;
  const nonzdelt = 0.05;
  const zdelt = 0.00025;

  let maxiter = options.maxiter;
  let maxfun = options.maxfun;
  if (maxiter === undefined && maxfun === undefined) {
    maxiter = N * 200;
    maxfun = N * 200;
  } else if (maxiter === undefined) {
    maxiter = maxfun === Infinity ? N * 200 : Infinity;
  } else if (maxfun === undefined) {
    maxfun = maxiter === Infinity ? N * 200 : Infinity;
  }
  const maxIter = maxiter as number;
  const maxFun = maxfun as number;

  let fcalls = 0;
  const func = (x: number[]): number => {
    if (fcalls >= maxFun) throw new MaxFunctionCalls();
    fcalls++;
    return f(x.slice());
  };

  let sim: number[][] = [x0.slice()];
  for (let k = 0; k < N; k++) {
    const y = x0.slice();
    y[k] = y[k] !== 0 ? (1 + nonzdelt) * y[k] : zdelt;
    sim.push(y);
  }
  let fsim: number[] = new Array<number>(N + 1).fill(Infinity);
  for (let k = 0; k <= N; k++) fsim[k] = func(sim[k]);
  const resort = (): void => {
    const ind = order(fsim);
    sim = ind.map((i) => sim[i]);
    fsim = ind.map((i) => fsim[i]);
  };
  resort();

  const comb = (a: number, u: number[], b: number, v: number[]): number[] => u.map((ui, i) => a * ui - b * v[i]);
  let iterations = 1;
  while (fcalls < maxFun && iterations < maxIter) {
    try {
      let xspread = 0;
      let fspread = 0;
      for (let j = 1; j <= N; j++) {
        for (let i = 0; i < N; i++) xspread = Math.max(xspread, Math.abs(sim[j][i] - sim[0][i]));
        fspread = Math.max(fspread, Math.abs(fsim[0] - fsim[j]));
      }
      if (xspread <= xatol && fspread <= fatol) break;

      const xbar = new Array<number>(N).fill(0);
      for (let j = 0; j < N; j++) for (let i = 0; i < N; i++) xbar[i] += sim[j][i];
      for (let i = 0; i < N; i++) xbar[i] /= N;
      const worst = sim[N];
      const xr = comb(1 + rho, xbar, rho, worst);
      const fxr = func(xr);
      let doshrink = false;
      if (fxr < fsim[0]) {
        const xe = comb(1 + rho * chi, xbar, rho * chi, worst);
        const fxe = func(xe);
        if (fxe < fxr) {
          sim[N] = xe;
          fsim[N] = fxe;
        } else {
          sim[N] = xr;
          fsim[N] = fxr;
        }
      } else if (fxr < fsim[N - 1]) {
        sim[N] = xr;
        fsim[N] = fxr;
      } else {
        if (fxr < fsim[N]) {
          const xc = comb(1 + psi * rho, xbar, psi * rho, worst);
          const fxc = func(xc);
          if (fxc <= fxr) {
            sim[N] = xc;
            fsim[N] = fxc;
          } else doshrink = true;
        } else {
          const xcc = xbar.map((xb, i) => (1 - psi) * xb + psi * worst[i]);
          const fxcc = func(xcc);
          if (fxcc < fsim[N]) {
            sim[N] = xcc;
            fsim[N] = fxcc;
          } else doshrink = true;
        }
        if (doshrink) {
          for (let j = 1; j <= N; j++) {
            sim[j] = sim[j].map((v, i) => sim[0][i] + sigma * (v - sim[0][i]));
            fsim[j] = func(sim[j]);
          }
        }
      }
      iterations++;
    } catch (err) {
      if (err instanceof MaxFunctionCalls) break;
      throw err;
    }
    resort();
  }

  const fun = Math.min(...fsim); // np.min: NaN if any value is NaN
  const warnflag: 0 | 1 | 2 = fcalls >= maxFun ? 1 : iterations >= maxIter ? 2 : 0;
  return { x: sim[0].slice(), fun, iterations, fcalls, warnflag };
}
