"""PyTorch side of ``bench/run.py``: a persistent subprocess that times PyTorch on request.

    python3 bench/torch_worker.py      # started by bench/run.py with sys.executable

PyTorch runs here, never in the benchmark's main process: importing torch there would load a
second OpenMP runtime next to NumPy's BLAS and skew the NumPy timings. The worker reads one JSON
command per line on stdin and answers one JSON line on stdout:

    {"case": "version"}                                   -> {"torch": "2.13.0+cpu", "threads": 2}
    {"case": "lenet_step", "steps": 20}                   -> {"seconds": 0.91}
    {"case": "lenet_user_loop", "steps": 20}              -> {"seconds": 0.85}
    {"case": "train_step", "model": "small_vgg", "batch": 32, "steps": 2}
                                                          -> {"seconds": 0.62}
    {"case": "pool", "kind": "max", "n": 8, "c": 64, "h": 64, "w": 64, "k": 32, "stride": 1,
     "padding": 0, "backward": true, "repeats": 1}        -> {"seconds": 0.031, "shape": [...]}
    {"case": "conv", "n": 32, "c": 128, "h": 28, "w": 28, "f": 128, "k": 3, "stride": 1,
     "padding": 1, "dilation": 1, "groups": 4, "transposed": false, "backward": true,
     "repeats": 3}                                        -> {"seconds": 0.031, "shape": [...]}

``seconds`` is the wall time of the whole request (``steps`` training steps), or per call for
"conv" (the mean over ``repeats`` back-to-back calls); every request first runs one untimed
step or call (bench/run.py's PAUSE: the first call after an idle pause runs on a cold core). A "conv" forward runs under
``torch.no_grad()``; with ``backward`` it is the forward plus ``torch.autograd.grad`` of the
input, weight and bias for a fixed random output gradient. "lenet_step" is one LeNet training
step (zero_grad, forward, summed cross entropy, backward, SGD with momentum and weight decay) at
batch 64 on random data of MNIST's shapes; "lenet_user_loop" is the loop a user writes by hand
(forward, summed cross entropy, backward, ``p -= lr * p.grad`` under ``no_grad``). "train_step" is the same for ``resnet_cifar`` or
``small_vgg`` (model_zoo/*.yaml's layers, settings and summed cross entropy, in training mode:
batch statistics and dropout) on random 3x32x32 images. "pool" is ``F.max_pool2d`` /
``F.avg_pool2d`` (``count_include_pad=False``), forward under ``no_grad`` or forward plus the
input's gradient. Models and tensors are built on first use and cached,
so the first request of a case is its warm-up. Everything is float32 on the CPU with
``torch.set_num_threads(2)``.

If torch cannot be imported, every command is answered with ``{"error": "..."}``; a malformed or
failing command gets an error answer too, and the worker keeps serving. It exits at end of input.
"""

from __future__ import annotations

import json
import sys
import time

try:
    import torch
    from torch import nn
    from torch.nn import functional as F
except ImportError as exc:  # pragma: no cover - depends on the environment
    torch = None
    IMPORT_ERROR = f"torch is not importable: {exc}"
else:
    IMPORT_ERROR = ""
    torch.set_num_threads(2)
    torch.manual_seed(0)

BATCH = 64
#: the plain SGD step of the user-loop row (bench/run.py uses the same)
USER_LOOP_LR = 0.0003125
_cache: dict[str, object] = {}


def lenet():
    """minipaddle's model_zoo/lenet.yaml: simple_img_conv_pool is conv -> relu -> max pool."""
    return nn.Sequential(
        nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(20, 50, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(800, 500), nn.ReLU(), nn.Linear(500, 10))


def lenet_step(steps: int) -> dict:
    if "lenet" not in _cache:
        model = lenet()
        # lenet.yaml's settings: Paddle sums gradients over the batch, so the loss is summed too
        optimizer = torch.optim.SGD(model.parameters(), lr=0.0003125, momentum=0.9,
                                    weight_decay=0.032)
        data = [(torch.rand(BATCH, 1, 28, 28), torch.randint(0, 10, (BATCH,)))
                for _ in range(8)]
        _cache["lenet"] = (model, optimizer, data)
    model, optimizer, data = _cache["lenet"]
    start = 0.0
    for i in range(steps + 1):      # step 0 untimed: the first after the pause
        if i == 1:
            start = time.perf_counter()
        images, labels = data[i % len(data)]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels, reduction="sum")
        loss.backward()
        optimizer.step()
    return {"seconds": time.perf_counter() - start}


def lenet_user_loop(steps: int) -> dict:
    if "lenet_user" not in _cache:
        model = lenet()
        data = [(torch.rand(BATCH, 1, 28, 28), torch.randint(0, 10, (BATCH,)))
                for _ in range(8)]
        _cache["lenet_user"] = (model, list(model.parameters()), data)
    model, params, data = _cache["lenet_user"]
    start = 0.0
    for i in range(steps + 1):      # step 0 untimed: the first after the pause
        if i == 1:
            start = time.perf_counter()
        images, labels = data[i % len(data)]
        for p in params:
            p.grad = None
        loss = F.cross_entropy(model(images), labels, reduction="sum")
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= USER_LOOP_LR * p.grad
    return {"seconds": time.perf_counter() - start}


class BasicBlock(nn.Module):
    """model_zoo/resnet_cifar.yaml's block: conv 3x3 (no bias) -> BN -> ReLU -> conv 3x3 -> BN,
    plus the identity or a projection (1x1 conv stride 2 + BN), then ReLU."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.shortcut = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return F.relu(self.body(x) + self.shortcut(x))


def resnet_cifar():
    layers = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for cout in (16, 32, 64):
        for block in range(3):
            layers.append(BasicBlock(cin, cout, 2 if block == 0 and cout != 16 else 1))
            cin = cout
    layers += [nn.AvgPool2d(8), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


def small_vgg():
    """Paddle's small_vgg helper (model_zoo/small_vgg.yaml): conv groups with bias, batch norm,
    ReLU and dropout, a max pool per group and one more, dropout, fc 512 + dropout + batch norm
    + ReLU, fc 10."""
    layers, cin = [], 3
    for cout, drops in ((64, (0.3, 0)), (128, (0.4, 0)), (256, (0.4, 0.4, 0)),
                        (512, (0.4, 0.4, 0))):
        for drop in drops:
            layers += [nn.Conv2d(cin, cout, 3, 1, 1), nn.BatchNorm2d(cout), nn.ReLU()]
            if drop:
                layers.append(nn.Dropout(drop))
            cin = cout
        layers.append(nn.MaxPool2d(2, 2))
    layers += [nn.MaxPool2d(2, 2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(512, 512),
               nn.Dropout(0.5), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, 10)]
    return nn.Sequential(*layers)


#: model -> (builder, learning rate, L2 per summed-gradient step), as in model_zoo/*.yaml
MODELS = {"resnet_cifar": (resnet_cifar, 0.00078125, 0.0128),
          "small_vgg": (small_vgg, 0.00078125, 0.064)}


def train_step(model: str, batch: int, steps: int) -> dict:
    key = f"{model}/{batch}"
    if key not in _cache:
        build, lr, decay = MODELS[model]
        net = build().train()
        optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=decay)
        data = [(torch.rand(batch, 3, 32, 32), torch.randint(0, 10, (batch,)))
                for _ in range(2)]
        _cache[key] = (net, optimizer, data)
    net, optimizer, data = _cache[key]
    start = 0.0
    for i in range(steps + 1):      # step 0 untimed: the first after the pause
        if i == 1:
            start = time.perf_counter()
        images, labels = data[i % len(data)]
        optimizer.zero_grad()
        loss = F.cross_entropy(net(images), labels, reduction="sum")
        loss.backward()
        optimizer.step()
    return {"seconds": time.perf_counter() - start}


def pool(kind: str, n: int, c: int, h: int, w: int, k: int, stride: int = 1, padding: int = 0,
         backward: bool = False, repeats: int = 1) -> dict:
    key = json.dumps(["pool", n, c, h, w])
    if key not in _cache:
        _cache[key] = (torch.randn(n, c, h, w, requires_grad=True), {})
    x, grads = _cache[key]
    if kind == "max":
        fn = lambda v: F.max_pool2d(v, k, stride, padding)  # noqa: E731
    else:
        fn = lambda v: F.avg_pool2d(v, k, stride, padding, count_include_pad=False)  # noqa
    start = 0.0
    for i in range(repeats + 1):    # call 0 untimed: the first after the pause
        if i == 1:
            start = time.perf_counter()
        if backward:
            y = fn(x)
            dy = grads.setdefault(tuple(y.shape), torch.randn(y.shape))
            torch.autograd.grad(y, [x], dy)
        else:
            with torch.no_grad():
                y = fn(x)
    return {"seconds": (time.perf_counter() - start) / repeats, "shape": list(y.shape)}


def conv(n: int, c: int, h: int, w: int, f: int, k: int, stride: int = 1, padding: int = 0,
         dilation: int = 1, groups: int = 1, transposed: bool = False, backward: bool = False,
         repeats: int = 1) -> dict:
    key = json.dumps([n, c, h, w, f, k, stride, padding, dilation, groups, transposed])
    if key not in _cache:
        cls = nn.ConvTranspose2d if transposed else nn.Conv2d
        layer = cls(c, f, k, stride=stride, padding=padding, dilation=dilation, groups=groups)
        x = torch.randn(n, c, h, w, requires_grad=True)
        with torch.no_grad():
            shape = layer(x).shape
        _cache[key] = (layer, x, torch.randn(shape))
    layer, x, dy = _cache[key]
    inputs = [x, layer.weight, layer.bias]
    start = 0.0
    for i in range(repeats + 1):    # call 0 untimed: the first after the pause
        if i == 1:
            start = time.perf_counter()
        if backward:
            y = layer(x)
            torch.autograd.grad(y, inputs, dy)
        else:
            with torch.no_grad():
                y = layer(x)
    return {"seconds": (time.perf_counter() - start) / repeats, "shape": list(y.shape)}


def answer(command: dict) -> dict:
    if torch is None:
        return {"error": IMPORT_ERROR}
    case = command.pop("case", None)
    if case == "version":
        return {"torch": torch.__version__, "threads": torch.get_num_threads()}
    if case == "lenet_step":
        return lenet_step(**command)
    if case == "lenet_user_loop":
        return lenet_user_loop(**command)
    if case == "train_step":
        return train_step(**command)
    if case == "pool":
        return pool(**command)
    if case == "conv":
        return conv(**command)
    return {"error": f"unknown case {case!r}"}


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            reply = answer(json.loads(line))
        except Exception as exc:  # answer and keep serving: the caller decides what fails
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
