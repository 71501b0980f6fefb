"""The book's convnets in PyTorch: the yardstick for bench/throughput.ts and bench/quality.ts.

Never a dependency of the service. Debian's python3-torch (1.13, oneDNN) runs it:
  /usr/bin/python3 bench/pytorch_convnets.py throughput --model lenet --batch 256 --size 28 --steps 20
  /usr/bin/python3 bench/pytorch_convnets.py train --epochs 5 --batch 256 --lr 0.001
  python3 bench/pytorch_convnets.py throughput --model resnet18 --batch 32 --size 96 --device cuda
Each prints JSON lines on stdout.
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum):
    """The book's batch_norm (d2l 8.5), momentum as in the book's formula."""
    if not torch.is_grad_enabled():
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
    else:
        if len(X.shape) == 2:
            mean = X.mean(dim=0)
            var = ((X - mean) ** 2).mean(dim=0)
        else:
            mean = X.mean(dim=(0, 2, 3), keepdim=True)
            var = ((X - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
        X_hat = (X - mean) / torch.sqrt(var + eps)
        moving_mean = momentum * moving_mean + (1.0 - momentum) * mean
        moving_var = momentum * moving_var + (1.0 - momentum) * var
    Y = gamma * X_hat + beta
    return Y, moving_mean.data, moving_var.data


class BatchNorm(nn.Module):
    def __init__(self, num_features, num_dims):
        super().__init__()
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        self.moving_mean = torch.zeros(shape)
        self.moving_var = torch.ones(shape)

    def forward(self, X):
        if self.moving_mean.device != X.device:  # as the book does: the statistics are no parameters, .to() leaves them
            self.moving_mean = self.moving_mean.to(X.device)
            self.moving_var = self.moving_var.to(X.device)
        Y, self.moving_mean, self.moving_var = batch_norm(
            X, self.gamma, self.beta, self.moving_mean, self.moving_var, eps=1e-5, momentum=0.9)
        return Y


def bn(kind, channels, dims):
    if kind == "scratch":
        return BatchNorm(channels, dims)
    if kind == "builtin":
        return nn.BatchNorm2d(channels, momentum=0.1, eps=1e-5) if dims == 4 else nn.BatchNorm1d(channels, momentum=0.1, eps=1e-5)
    return nn.Identity()


def lenet(batch_norm_kind, size):
    flat = ((size - 4) // 2 - 4) // 2
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5), bn(batch_norm_kind, 6, 4), nn.Sigmoid(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, kernel_size=5), bn(batch_norm_kind, 16, 4), nn.Sigmoid(), nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(16 * flat * flat, 120), bn(batch_norm_kind, 120, 2), nn.Sigmoid(),
        nn.Linear(120, 84), bn(batch_norm_kind, 84, 2), nn.Sigmoid(),
        nn.Linear(84, 10))


class Residual(nn.Module):
    def __init__(self, input_channels, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1, stride=strides)
        self.conv2 = nn.Conv2d(num_channels, num_channels, kernel_size=3, padding=1)
        self.conv3 = nn.Conv2d(input_channels, num_channels, kernel_size=1, stride=strides) if use_1x1conv else None
        self.bn1 = nn.BatchNorm2d(num_channels)
        self.bn2 = nn.BatchNorm2d(num_channels)

    def forward(self, X):
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3:
            X = self.conv3(X)
        return F.relu(Y + X)


def resnet18():
    def block(input_channels, num_channels, num_residuals, first_block=False):
        layers = []
        for i in range(num_residuals):
            if i == 0 and not first_block:
                layers.append(Residual(input_channels, num_channels, use_1x1conv=True, strides=2))
            else:
                layers.append(Residual(num_channels, num_channels))
        return layers
    b1 = nn.Sequential(nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3), nn.BatchNorm2d(64), nn.ReLU(),
                       nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    return nn.Sequential(b1, nn.Sequential(*block(64, 64, 2, first_block=True)), nn.Sequential(*block(64, 128, 2)),
                         nn.Sequential(*block(128, 256, 2)), nn.Sequential(*block(256, 512, 2)),
                         nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(512, 10))


def conv_block(input_channels, num_channels):
    return nn.Sequential(nn.BatchNorm2d(input_channels), nn.ReLU(), nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1))


class DenseBlock(nn.Module):
    def __init__(self, num_convs, input_channels, num_channels):
        super().__init__()
        self.net = nn.Sequential(*[conv_block(num_channels * i + input_channels, num_channels) for i in range(num_convs)])

    def forward(self, X):
        for blk in self.net:
            X = torch.cat((X, blk(X)), dim=1)
        return X


def transition_block(input_channels, num_channels):
    return nn.Sequential(nn.BatchNorm2d(input_channels), nn.ReLU(), nn.Conv2d(input_channels, num_channels, kernel_size=1),
                         nn.AvgPool2d(kernel_size=2, stride=2))


def densenet():
    b1 = nn.Sequential(nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3), nn.BatchNorm2d(64), nn.ReLU(),
                       nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    num_channels, growth_rate = 64, 32
    blks = []
    for i, num_convs in enumerate([4, 4, 4, 4]):
        blks.append(DenseBlock(num_convs, num_channels, growth_rate))
        num_channels += num_convs * growth_rate
        if i != 3:
            blks.append(transition_block(num_channels, num_channels // 2))
            num_channels = num_channels // 2
    return nn.Sequential(b1, *blks, nn.BatchNorm2d(num_channels), nn.ReLU(), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
                         nn.Linear(num_channels, 10))


def build(model, batch_norm_kind, size):
    if model == "lenet":
        return lenet(batch_norm_kind, size)
    return resnet18() if model == "resnet18" else densenet()


def throughput(args):
    torch.manual_seed(0)
    device = torch.device(args.device)
    net = build(args.model, args.batch_norm, args.size).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.001)
    X = torch.rand(args.batch, 1, args.size, args.size).to(device)
    y = torch.randint(0, 10, (args.batch,)).to(device)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss = loss_fn(net(X), y)
        loss.backward()
        optimizer.step()
        return loss.item()  # waits for the step, as ours waits for its loss (on CUDA too)

    for _ in range(args.warmup):
        step()
    started = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = time.perf_counter() - started
    print(json.dumps({"model": args.model, "batch": args.batch, "size": args.size, "threads": torch.get_num_threads(),
                      "device": args.device, "samplesPerSecond": args.batch * args.steps / seconds}))


def read_idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def train(args):
    d = args.data_dir
    X = torch.tensor(read_idx(os.path.join(d, "train-images-idx3-ubyte.gz"), 16).reshape(-1, 1, 28, 28), dtype=torch.float32) / 255
    y = torch.tensor(read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz"), 8), dtype=torch.long)
    Xt = torch.tensor(read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz"), 16).reshape(-1, 1, 28, 28), dtype=torch.float32) / 255
    yt = torch.tensor(read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz"), 8), dtype=torch.long)
    torch.manual_seed(args.seed)
    net = build(args.model, args.batch_norm, 28)
    optimizer = torch.optim.Adam(net.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    started = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        net.train()
        order = torch.randperm(len(X))
        total_loss, correct, epoch_started = 0.0, 0, time.perf_counter()
        for start in range(0, len(X), args.batch):
            index = order[start:start + args.batch]
            optimizer.zero_grad()
            logits = net(X[index])
            loss = loss_fn(logits, y[index])
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(index)
            correct += (logits.argmax(1) == y[index]).sum().item()
        seconds = time.perf_counter() - epoch_started
        net.eval()
        with torch.no_grad():
            test_correct = sum((net(Xt[i:i + 256]).argmax(1) == yt[i:i + 256]).sum().item() for i in range(0, len(Xt), 256))
        print(json.dumps({"epoch": epoch, "loss": total_loss / len(X), "trainAccuracy": correct / len(X),
                          "testAccuracy": test_correct / len(Xt), "seconds": seconds}), flush=True)
    print(json.dumps({"wallSeconds": time.perf_counter() - started}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["throughput", "train"])
    parser.add_argument("--model", default="lenet", choices=["lenet", "resnet18", "densenet"])
    parser.add_argument("--batch-norm", default="scratch", choices=["none", "builtin", "scratch"])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--device", default="cpu", help="throughput mode: cpu, or cuda on a GPU machine (bench/gpu-check.sh)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    throughput(args) if args.mode == "throughput" else train(args)


if __name__ == "__main__":
    main()
