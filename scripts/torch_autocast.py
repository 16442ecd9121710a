#!/usr/bin/python3
"""PyTorch beside `digitnet bench`'s bf16 row (issue 18): 784-300-10 ReLU, Adam 1e-3, batch 128 on MNIST: median epoch seconds in fp32 and under
torch.autocast("cpu", dtype=torch.bfloat16), alternating, one JSON line per mode."""
import json, os, sys, time
sys.path.insert(0, os.environ.get("DIGITNET_PEERS") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../shared/peers"))
import numpy as np, torch
from torch_mlp import load_mnist, DEFAULT_DIR

torch.set_num_threads(int(os.environ.get("THREADS", "1")))
xtr, ytr, xte, yte = load_mnist(DEFAULT_DIR)
xtr, ytr, xte, yte = map(torch.from_numpy, (xtr, ytr, xte, yte))

def run(bf16, epochs=3):
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(784, 300), torch.nn.ReLU(), torch.nn.Linear(300, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    lossf = torch.nn.CrossEntropyLoss()
    secs = []
    g = torch.Generator().manual_seed(1)
    for _ in range(epochs):
        perm = torch.randperm(len(xtr), generator=g)
        t0 = time.perf_counter()
        for i in range(0, len(xtr), 128):
            idx = perm[i:i + 128]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = lossf(net(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        secs.append(time.perf_counter() - t0)
    with torch.no_grad():
        acc = (net(xte).argmax(1) == yte).float().mean().item()
    return float(np.median(secs)), acc

for rnd in range(2):
    for bf16 in (False, True):
        s, acc = run(bf16)
        print(json.dumps({"mode": "autocast-bf16" if bf16 else "fp32", "round": rnd, "median_epoch_s": round(s, 3), "test_accuracy": acc}), flush=True)
