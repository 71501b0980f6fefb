"""The book's train_ch7 with from-scratch SGD on the airfoil data, in PyTorch: the yardstick for
bench/engine-vs-pytorch.ts. Prints one JSON line: seconds of training (evaluation included, as in
Lossline's engine), final loss over all 1500 rows, and the number of loss points recorded.
Usage: python3 bench/pytorch_airfoil.py LR BATCH EPOCHS [SEED]"""
import json
import sys
import time

import numpy as np
import torch

lr, batch_size, epochs = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
torch.manual_seed(seed)

data = np.genfromtxt("data/airfoil_self_noise.dat", dtype=np.float32, delimiter="\t")
data = torch.from_numpy((data - data.mean(axis=0)) / data.std(axis=0))
features, labels = data[:1500, :-1], data[:1500, -1]
dataset = torch.utils.data.TensorDataset(features, labels)
loader = torch.utils.data.DataLoader(dataset, batch_size, shuffle=True)

w = torch.normal(mean=0.0, std=0.01, size=(5, 1), requires_grad=True)
b = torch.zeros((1,), requires_grad=True)
net = lambda X: torch.matmul(X, w) + b
loss = lambda y_hat, y: (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def evaluate():
    with torch.no_grad():
        return loss(net(features), labels).mean().item()


points = [evaluate()]
n = 0
started = time.perf_counter()
for _ in range(epochs):
    for X, y in loader:
        l = loss(net(X), y).mean()
        l.backward()
        with torch.no_grad():
            for p in (w, b):
                p -= lr * p.grad
                p.grad.zero_()
        n += X.shape[0]
        if n % 100 == 0:
            points.append(evaluate())
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "finalLoss": points[-1], "points": len(points), "threads": torch.get_num_threads()}))
