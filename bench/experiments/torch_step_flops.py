"""Multiply-adds of the matrix products in one PyTorch reference training step
(../shared/ref/torch_joint.py's train_step), by torch.profiler's with_flops, grouped by op and
input shapes; the counterpart of bench/experiments/matmul-audit.ts. Not part of `npm run bench`:
   ../cache/V/bin/python bench/experiments/torch_step_flops.py --variant 4 --batch 32 [--threads 2]"""
import argparse, collections, json, os, sys, time
import torch
from torch.profiler import profile, ProfilerActivity

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "ref"))
import torch_joint as tj  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--variant", type=int, default=4)
ap.add_argument("--batch", type=int, default=32)
ap.add_argument("--threads", type=int, default=2)
a = ap.parse_args()
torch.set_num_threads(a.threads)
K, D, Hd, E, V, C, T, HW = 1536, 1024, 1024, 512, 5000, 200, 20, 8
gen = torch.Generator().manual_seed(0)
p, groups = tj.make_params(a.variant, K, D, Hd, E, V, C, gen=gen)
A, labels, caps = tj.random_batch(a.batch, K, HW, HW, V, T, C, gen)
step = lambda: tj.train_step(a.variant, p, groups, A, labels, caps, T, 0.1)
step()
t0 = time.perf_counter()
step()
wall = (time.perf_counter() - t0) * 1e3
with profile(activities=[ProfilerActivity.CPU], record_shapes=True, with_flops=True) as prof:
    step()
rows = collections.defaultdict(lambda: [0, 0.0, 0.0])
for e in prof.events():
    if e.flops:
        r = rows[(e.name, str(e.input_shapes))]
        r[0] += 1
        r[1] += e.flops / 2e9
        r[2] += e.cpu_time_total / 1e3
total = sum(r[1] for r in rows.values())
print(json.dumps({"bench": "torch_step_flops", "variant": a.variant, "batch": a.batch, "threads": a.threads,
                  "step_wall_ms": round(wall), "gmac": round(total, 2)}))
for (name, shapes), (n, g, ms) in sorted(rows.items(), key=lambda kv: -kv[1][1])[:25]:
    print(json.dumps({"op": name, "shapes": shapes, "calls": n, "gmac": round(g, 3), "ms": round(ms, 1)}))
