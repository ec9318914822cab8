"""GFLOP/s of single products in PyTorch (the reference's BLAS), for the same shape list as
bench/experiments/matmul-shapes.ts: [[n, k, m, transposeA, transposeB], ...], the product being
[n,k]·[k,m] with a transposed operand stored transposed (read as a .t() view).
   ../cache/V/bin/python bench/experiments/matmul_shapes_torch.py SHAPES.json --threads 2 [--reps 5]"""
import argparse, json, statistics, time, resource
import torch

ap = argparse.ArgumentParser()
ap.add_argument("shapes")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--reps", type=int, default=5)
args = ap.parse_args()
torch.set_num_threads(args.threads)


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


for n, k, m, ta, tb in json.load(open(args.shapes)):
    a = torch.rand((k, n) if ta else (n, k))
    b = torch.rand((m, k) if tb else (k, m))
    A = a.t() if ta else a
    Bm = b.t() if tb else b
    torch.mm(A, Bm)
    walls, cpus = [], []
    for _ in range(args.reps):
        c0, t0 = cpu(), time.perf_counter()
        torch.mm(A, Bm)
        walls.append((time.perf_counter() - t0) * 1e3)
        cpus.append((cpu() - c0) * 1e3)
    w = statistics.median(walls)
    print(json.dumps({"bench": "matmul_shape", "backend": f"torch{args.threads}",
                      "shape": f"[{n},{k}]{'(T)' if ta else ''}·[{k},{m}]{'(T)' if tb else ''}",
                      "ms": round(w, 2), "cpu_ms": round(statistics.median(cpus), 2),
                      "gflops": round(2 * n * k * m / 1e6 / w, 1)}))
