/*
 * WebAssembly kernels of the symmetric eigen-solver: the parts that are not GEMMs (those run in onnxruntime).
 * Same algorithms as the TypeScript reference versions next to them (band-to-tridiagonal.ts, panel-qr.ts,
 * symmetric-eigen.ts tridiagonalEigenvalues), compiled by build.sh with clang --target=wasm32 -msimd128.
 * Freestanding: no libc; every pointer is an offset into the module's imported memory; all arrays row-major float64.
 */
typedef double f64;

static f64 sqrt64(f64 x) { return __builtin_sqrt(x); }
static f64 abs64(f64 x) { return __builtin_fabs(x); }

/* sqrt(x² + y²); rescaled only where squaring would overflow or underflow. */
static f64 hypot64(f64 x, f64 y) {
  f64 s = x * x + y * y;
  if (s < 1e300 && s > 1e-300) return sqrt64(s);
  f64 ax = abs64(x), ay = abs64(y), m = ax > ay ? ax : ay;
  if (m == 0) return 0;
  ax /= m;
  ay /= m;
  return m * sqrt64(ax * ax + ay * ay);
}

/* Reflector H = I − τ v vᵀ, v[0] = 1, H x = β e₁ for x[i·stride], i < len (LAPACK dlarfg). Returns τ. */
static f64 householder(const f64 *x, int len, int stride, f64 *v, f64 *beta_out) {
  f64 alpha = x[0], tail2 = 0;
  for (int i = 1; i < len; i++) {
    f64 t = x[i * stride];
    tail2 += t * t;
  }
  v[0] = 1;
  if (tail2 == 0) {
    for (int i = 1; i < len; i++) v[i] = 0;
    *beta_out = alpha;
    return 0;
  }
  f64 norm = sqrt64(alpha * alpha + tail2);
  f64 beta = alpha >= 0 ? -norm : norm;
  f64 scale = 1 / (alpha - beta);
  for (int i = 1; i < len; i++) v[i] = x[i * stride] * scale;
  *beta_out = beta;
  return (beta - alpha) / beta;
}

/* D ← H D H for the symmetric len×len diagonal block at (st, st) of the band, lower triangle (LAPACK dlarfy). */
static void two_sided(f64 *a, int W1, int o, int st, int len, const f64 *v, f64 tau, f64 *w) {
  for (int k = 0; k < len; k++) w[k] = 0;
  for (int r = 0; r < len; r++) {
    f64 *row = a + (st + r) * W1 + st + o;
    f64 vr = v[r], acc = 0;
    for (int c = 0; c < r; c++) {
      f64 x = row[c];
      acc += x * v[c];
      w[c] += x * vr;
    }
    w[r] += acc + row[r] * vr;
  }
  f64 dot = 0;
  for (int k = 0; k < len; k++) {
    w[k] *= tau;
    dot += w[k] * v[k];
  }
  f64 alpha = -0.5 * tau * dot;
  for (int k = 0; k < len; k++) w[k] += alpha * v[k];
  for (int r = 0; r < len; r++) {
    f64 *row = a + (st + r) * W1 + st + o;
    f64 vr = v[r], wr = w[r];
    for (int c = 0; c <= r; c++) row[c] -= vr * w[c] + wr * v[c];
  }
}

/*
 * Sweeps i0 ≤ i < i1 of the band → tridiagonal bulge chase (LAPACK dsytrd_sb2st task types 1–3), band of n rows and
 * bandwidth b stored lower, row-major with 2b+1 entries a row: element (r, c) at r·2b + c + 2b. work: 3(b+1).
 */
void chase_sweeps(f64 *a, int n, int b, int i0, int i1, f64 *work) {
  int W1 = 2 * b, o = 2 * b;
  f64 *vc = work, *vn = work + (b + 1), *w = work + 2 * (b + 1);
  for (int i = i0; i < i1 && i < n - 2; i++) {
    int st = i + 1, ed = i + b < n - 1 ? i + b : n - 1;
    if (ed - st + 1 < 2) continue;
    f64 beta;
    f64 tau = householder(a + st * W1 + i + o, ed - st + 1, W1, vc, &beta);
    if (tau == 0) continue;
    a[st * W1 + i + o] = beta;
    for (int r = st + 1; r <= ed; r++) a[r * W1 + i + o] = 0;
    two_sided(a, W1, o, st, ed - st + 1, vc, tau, w);
    for (;;) {
      int j1 = ed + 1, j2 = ed + b < n - 1 ? ed + b : n - 1;
      int lm = j2 - j1 + 1, ln = ed - st + 1;
      if (lm <= 0) break;
      for (int r = j1; r <= j2; r++) {
        f64 *row = a + r * W1 + st + o;
        f64 s = 0;
        for (int c = 0; c < ln; c++) s += row[c] * vc[c];
        s *= tau;
        for (int c = 0; c < ln; c++) row[c] -= s * vc[c];
      }
      f64 gb;
      f64 gt = householder(a + j1 * W1 + st + o, lm, W1, vn, &gb);
      a[j1 * W1 + st + o] = gb;
      for (int r = j1 + 1; r <= j2; r++) a[r * W1 + st + o] = 0;
      if (gt == 0) break;
      for (int c = 0; c < ln; c++) w[c] = 0;
      for (int r = 0; r < lm; r++) {
        f64 *row = a + (j1 + r) * W1 + st + o;
        f64 vr = vn[r];
        for (int c = 1; c < ln; c++) w[c] += vr * row[c];
      }
      for (int r = 0; r < lm; r++) {
        f64 *row = a + (j1 + r) * W1 + st + o;
        f64 f = gt * vn[r];
        for (int c = 1; c < ln; c++) row[c] -= f * w[c];
      }
      two_sided(a, W1, o, j1, lm, vn, gt, w);
      f64 *t = vc;
      vc = vn;
      vn = t;
      tau = gt;
      st = j1;
      ed = j2;
    }
  }
}

/*
 * Householder QR of the m×b panel p (row-major, overwritten with R in its upper trapezoid): Q = I − V T Vᵀ,
 * k = min(m, b) reflectors (LAPACK dgeqr2 + dlarft from VᵀV). V: m×k unit lower trapezoidal, T: k×k upper.
 * work: m·b + k + k². Returns k.
 */
int panel_qr(f64 *p, int m, int b, f64 *V, f64 *T, f64 *work) {
  int k = m < b ? m : b;
  f64 *col = work, *taus = work + m * b, *g = taus + k;
  for (int i = 0; i < m; i++)
    for (int j = 0; j < b; j++) col[j * m + i] = p[i * b + j];
  for (int j = 0; j < k; j++) {
    f64 *cj = col + j * m;
    f64 alpha = cj[j], tail2 = 0;
    for (int i = j + 1; i < m; i++) tail2 += cj[i] * cj[i];
    f64 tau = 0;
    if (tail2 != 0) {
      f64 norm = sqrt64(alpha * alpha + tail2);
      f64 beta = alpha >= 0 ? -norm : norm;
      tau = (beta - alpha) / beta;
      f64 scale = 1 / (alpha - beta);
      for (int i = j + 1; i < m; i++) cj[i] *= scale;
      cj[j] = beta;
    }
    taus[j] = tau;
    if (tau == 0) continue;
    for (int c = j + 1; c < b; c++) {
      f64 *cc = col + c * m;
      f64 s = cc[j];
      for (int i = j + 1; i < m; i++) s += cj[i] * cc[i];
      s *= tau;
      cc[j] -= s;
      for (int i = j + 1; i < m; i++) cc[i] -= s * cj[i];
    }
  }
  for (int i = 0; i < m; i++) {
    for (int j = 0; j < b; j++) {
      f64 x = col[j * m + i];
      p[i * b + j] = j >= i ? x : 0;
      if (j < k) V[i * k + j] = j < i ? x : (j == i ? 1 : 0);
    }
  }
  for (int r = 0; r < k; r++) {
    for (int c = r + 1; c < k; c++) {
      const f64 *vr = col + r * m, *vc = col + c * m;
      f64 s = vr[c];
      for (int i = c + 1; i < m; i++) s += vr[i] * vc[i];
      g[r * k + c] = s;
    }
  }
  for (int i = 0; i < k * k; i++) T[i] = 0;
  for (int j = 0; j < k; j++) {
    f64 tau = taus[j];
    T[j * k + j] = tau;
    if (tau == 0) continue;
    for (int r = 0; r < j; r++) {
      f64 s = 0;
      for (int c = r; c < j; c++) s += T[r * k + c] * g[c * k + j];
      T[r * k + j] = -tau * s;
    }
  }
  return k;
}

/*
 * Implicit QL with Wilkinson shifts on the symmetric tridiagonal (d, e) (EISPACK tql1), for the eigenvalues
 * l0 ≤ l < l1; e has n entries, e[n−1] = 0, e[i] couples d[i] and d[i+1]. Unsorted. Returns −1 − l when QL fails to
 * converge at l within 60 iterations, else 0. Splits where |e| ≤ ε(|d_m| + |d_m+1|) or |e| ≤ floor (ε‖T‖, EISPACK's
 * test, which keeps zero-diagonal Golub–Kahan matrices from stalling).
 */
int tql_range(f64 *d, f64 *e, int n, int l0, int l1, f64 floor) {
  const f64 eps = 2.220446049250313e-16;
  for (int l = l0; l < l1; l++) {
    int iter = 0;
    for (;;) {
      int m = l;
      for (; m < n - 1; m++) {
        f64 dd = abs64(d[m]) + abs64(d[m + 1]);
        if (abs64(e[m]) <= eps * dd || abs64(e[m]) <= floor) break;
      }
      if (m == l) break;
      if (++iter > 60) return -1 - l;
      f64 g = (d[l + 1] - d[l]) / (2 * e[l]);
      f64 r = hypot64(g, 1);
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? abs64(r) : -abs64(r)));
      f64 s = 1, c = 1, p = 0;
      int i = m - 1;
      int underflow = 0;
      for (; i >= l; i--) {
        f64 f = s * e[i];
        f64 bb = c * e[i];
        r = hypot64(f, g);
        e[i + 1] = r;
        if (r == 0) {
          d[i + 1] -= p;
          e[m] = 0;
          underflow = 1;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2 * c * bb;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - bb;
      }
      if (underflow) continue;
      d[l] -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
  return 0;
}

/*
 * Householder bidiagonalisation B = Uᵀ A V of the m×n matrix a (row-major, m ≥ n, overwritten; LAPACK dgebd2):
 * diagonal d (n), super-diagonal e (n − 1). work: 2·max(m, n).
 */
void bidiagonalize(f64 *a, int m, int n, f64 *d, f64 *e, f64 *work) {
  int mx = m > n ? m : n;
  f64 *v = work, *w = work + mx;
  for (int k = 0; k < n; k++) {
    /* Left reflector: zero A[k+1.., k]. */
    f64 beta;
    f64 tau = householder(a + k * n + k, m - k, n, v, &beta);
    d[k] = beta;
    a[k * n + k] = beta;
    if (tau != 0) {
      for (int j = k + 1; j < n; j++) w[j] = 0;
      for (int i = k; i < m; i++) {
        f64 vi = v[i - k];
        const f64 *row = a + i * n;
        for (int j = k + 1; j < n; j++) w[j] += vi * row[j];
      }
      for (int i = k; i < m; i++) {
        f64 f = tau * v[i - k];
        f64 *row = a + i * n;
        for (int j = k + 1; j < n; j++) row[j] -= f * w[j];
      }
    }
    if (k < n - 1) {
      /* Right reflector: zero A[k, k+2..]. */
      f64 tr = householder(a + k * n + k + 1, n - k - 1, 1, v, &beta);
      e[k] = beta;
      a[k * n + k + 1] = beta;
      if (tr != 0) {
        for (int i = k + 1; i < m; i++) {
          f64 *row = a + i * n + k + 1;
          f64 z = 0;
          for (int j = 0; j < n - k - 1; j++) z += row[j] * v[j];
          z *= tr;
          for (int j = 0; j < n - k - 1; j++) row[j] -= z * v[j];
        }
      }
    }
  }
}
