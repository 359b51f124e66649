"""Reference timings for bench/spectra.ts, run through Debian's python3-numpy (OpenBLAS/LAPACK).

Reads one JSON job per line on stdin, answers one JSON line per job on stdout:
  {"op": "info"}                                        -> numpy version, BLAS/LAPACK libraries in use
  {"op": "gram_eigvalsh", "file", "rows", "cols", "out"} -> float64 Gram on the small side + eigvalsh, eigenvalues
                                                            written to `out` (float64, ascending); seconds
  {"op": "svd", "file", "rows", "cols"}                  -> WeightWatcher's ESD: svd(W.astype(float64), compute_uv=False)
  {"op": "windows_svd", "file", "rows", "cols", "windows": [[r0, c0, r, c], ...], "dtype": "float32"}
                                                         -> FARMS: svdvals of each submatrix (the authors use float32)
  {"op": "safetensors_svd", "file", "names": [...]}     -> the same WeightWatcher ESD for 2-D F32 tensors of a safetensors file, summed
Matrices are raw little-endian float32 row-major files. Timings exclude reading the file.
"""
import json
import sys
import time

import numpy as np


def load(job):
    return np.fromfile(job["file"], dtype="<f4").reshape(job["rows"], job["cols"])


def safetensors_tensor(path, name):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    t = header[name]
    if t["dtype"] != "F32":
        raise ValueError(f"{name}: only F32 tensors, got {t['dtype']}")
    start, end = t["data_offsets"]
    return np.fromfile(path, dtype="<f4", count=(end - start) // 4, offset=8 + n + start).reshape(t["shape"])


def blas_libraries():
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line or "lapack" in line}
        return sorted(libs)
    except OSError:
        return []


def run(job):
    op = job["op"]
    if op == "info":
        return {"numpy": np.__version__, "libraries": blas_libraries()}
    if op == "safetensors_svd":
        total = 0.0
        sv_max = []
        for name in job["names"]:
            w = safetensors_tensor(job["file"], name)
            t0 = time.perf_counter()
            s = np.linalg.svd(w.astype(np.float64), compute_uv=False)
            total += time.perf_counter() - t0
            sv_max.append(float(s[0]))
        return {"seconds": total, "layers": len(job["names"]), "sv_max": sv_max}
    w = load(job)
    if op == "gram_eigvalsh":
        t0 = time.perf_counter()
        x = w.astype(np.float64)
        g = x.T @ x if w.shape[0] >= w.shape[1] else x @ x.T
        t1 = time.perf_counter()
        e = np.linalg.eigvalsh(g)
        t2 = time.perf_counter()
        e.astype("<f8").tofile(job["out"])
        return {"seconds": t2 - t0, "gram_seconds": t1 - t0, "eig_seconds": t2 - t1}
    if op == "svd":
        t0 = time.perf_counter()
        s = np.linalg.svd(w.astype(np.float64), compute_uv=False)
        return {"seconds": time.perf_counter() - t0, "sv_max": float(s[0])}
    if op == "windows_svd":
        dtype = np.float32 if job.get("dtype", "float32") == "float32" else np.float64
        t0 = time.perf_counter()
        for r0, c0, r, c in job["windows"]:
            np.linalg.svd(np.ascontiguousarray(w[r0:r0 + r, c0:c0 + c], dtype=dtype), compute_uv=False)
        return {"seconds": time.perf_counter() - t0, "windows": len(job["windows"])}
    raise ValueError(f"unknown op {op}")


for line in sys.stdin:
    if not line.strip():
        continue
    try:
        print(json.dumps(run(json.loads(line))), flush=True)
    except Exception as e:  # answer every job, so the caller never waits forever
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
