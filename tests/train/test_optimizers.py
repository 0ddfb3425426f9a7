"""ParameterUpdater against slow references written from spec paddle_v1.md section 8b."""

from __future__ import annotations

import io
import math
import warnings

import numpy as np
import pytest

from minipaddle.config import ConfigError, OptimizationConfig, ParameterConfig
from minipaddle.train.optimizers import ParameterUpdater

METHODS = ["momentum", "sparse_momentum", "torch_momentum", "adagrad", "decayed_adagrad",
           "rmsprop", "adadelta", "adam", "adamax"]
R_METHODS = {"adagrad", "decayed_adagrad", "rmsprop", "adadelta"}
NO_MU = {"adam", "adamax"}


# ---------------------------------------------------------------------------------------------
# The slow reference: plain float64 numpy, formula by formula from 8b.2-8b.5


def ref_lr(schedule, lr0, a, b, args, n, p):
    if schedule == "constant":
        return lr0
    if schedule == "poly":
        return lr0 * (1 + a * n) ** (-b)
    if schedule == "caffe_poly":
        return 0.0 if n > a else lr0 * (1 - n / a) ** b
    if schedule == "exp":
        return lr0 * a ** (n / b)
    if schedule == "discexp":
        return lr0 * a ** math.floor(n / b)
    if schedule == "linear":
        return max(lr0 - a * n, b)
    table = [(int(s.split(":")[0]), float(s.split(":")[1])) for s in args.split(",")]
    key = n if schedule == "manual" else p
    for s, r in table:
        if key <= s:
            return lr0 * r
    return lr0 * table[-1][1]


class RefUpdater:
    """One parameter set, one method; state kept in float64 dicts."""

    def __init__(self, method, params, hp):
        self.method, self.params, self.hp = method, params, hp
        self.state = {p["name"]: {} for p in params}
        self.t = 0                       # batches started (1-based index of the current one)

    def buf(self, name, key, shape):
        return self.state[name].setdefault(key, np.zeros(shape))

    def step(self, ws, gs, lr):
        self.t += 1
        for p in self.params:
            name = p["name"]
            if name not in gs:
                continue
            ws[name] = self.one(p, ws[name], np.array(gs[name], dtype=np.float64), lr)

    def one(self, p, w, g, lr):
        hp, t, method, name = self.hp, self.t, self.method, p["name"]
        thr = p.get("clip", 0.0) if p.get("clip", 0.0) > 0 else hp.get("global_clip", 0.0)
        if thr > 0 and np.max(np.abs(g)) > thr:
            g = np.clip(g, -thr, thr)
        lr_p, mu = p.get("lr_p", 1.0), p.get("mu", 0.0)
        l1 = p.get("l1", 0.0)
        l2 = 0.0 if l1 > 0 else p.get("l2", 0.0)
        lr_eff = lr * lr_p
        rho, eps = hp.get("rho", 0.95), hp.get("eps", 1e-6)
        buf = lambda key: self.buf(name, key, w.shape)  # noqa: E731
        S = self.state[name]
        r = None
        if method in ("adam", "adamax"):
            b1, b2 = hp.get("beta1", 0.9), hp.get("beta2", 0.999)
            gg = g + l2 * w
            buf("m")
            S["m"] = b1 * S["m"] + (1 - b1) * gg
            if method == "adam":
                buf("v")
                S["v"] = b2 * S["v"] + (1 - b2) * gg ** 2
                alpha = lr_eff * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
                w = w - alpha * S["m"] / (np.sqrt(S["v"]) + hp.get("adam_eps", 1e-8))
            else:
                buf("u")
                S["u"] = np.maximum(b2 * S["u"], np.abs(gg))
                ratio = np.zeros_like(w)
                nz = S["u"] != 0
                ratio[nz] = S["m"][nz] / S["u"][nz]
                w = w - lr_eff / (1 - b1 ** t) * ratio
        else:
            if method == "adagrad":
                buf("G"), buf("G_old")
                S["G"] = S["G"] + g ** 2
                r = 1 / np.sqrt(S["G_old"] + S["G"] + eps)
            elif method == "decayed_adagrad":
                buf("E")
                S["E"] = rho * S["E"] + (g ** 2 if t == 1 else (1 - rho) * g ** 2)
                r = 1 / np.sqrt(S["E"] + eps)
            elif method == "rmsprop":
                buf("M"), buf("F")
                S["M"] = rho * S["M"] + (g ** 2 if t == 1 else (1 - rho) * g ** 2)
                S["F"] = rho * S["F"] + (1 - rho) * g
                r = 1 / np.sqrt(S["M"] - S["F"] ** 2 + eps)
            elif method == "adadelta":
                buf("Eg"), buf("Edx")
                S["Eg"] = rho * S["Eg"] + (1 - rho) * g ** 2
                r = np.sqrt((S["Edx"] + eps) / (S["Eg"] + eps))
                S["Edx"] = rho * S["Edx"] + (1 - rho) * (r * g) ** 2
            elif method == "torch_momentum" and t > 1:
                lr_eff = lr_eff * (1 - mu)
            buf("v")
            rate = 1.0 if r is None else r
            S["v"] = mu * S["v"] - lr_eff * rate * (g + l2 * w)
            w = w + S["v"]
        if l1 > 0:
            rate = 1.0 if r is None else r
            c1 = lr * lr_p * l1 * rate
            w = np.sign(w) * np.maximum(np.abs(w) - c1, 0.0)
            if p.get("l2", 0.0) > 0:
                w = w / (1 + lr * lr_p * p["l2"] * rate)
        return w


# ---------------------------------------------------------------------------------------------
# helpers


def make_opt(method="momentum", **kw):
    base = dict(learning_rate=0.05, learning_method=method, algorithm="sgd", batch_size=8,
                learning_rate_schedule="constant")
    base.update(kw)
    return OptimizationConfig(**base)


def make_params(specs):
    out = []
    for s in specs:
        size = int(np.prod(s["shape"]))
        kw = dict(name=s["name"], size=size)
        for src, dst in [("lr_p", "learning_rate"), ("mu", "momentum"), ("l2", "decay_rate"),
                         ("l1", "decay_rate_l1"), ("clip", "gradient_clipping_threshold"),
                         ("static", "is_static")]:
            if src in s:
                kw[dst] = s[src]
        out.append(ParameterConfig(**kw))
    return out


def build(method, specs, dtype=np.float64, **opt_kw):
    opt = make_opt(method, **opt_kw)
    params = make_params(specs)
    shapes = {s["name"]: s["shape"] for s in specs}
    return ParameterUpdater(opt, params, shapes, dtype=dtype)


def initial_values(specs, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return {s["name"]: rng.normal(size=s["shape"]).astype(dtype) for s in specs}


def grad_stream(specs, steps, seed=1, scale=1.0):
    rng = np.random.default_rng(seed)
    return [{s["name"]: scale * rng.normal(size=s["shape"]) for s in specs if not s.get("static")}
            for _ in range(steps)]


def run(upd, values, grads_seq, batch_sizes, finish_pass_every=None):
    for i, (g, bs) in enumerate(zip(grads_seq, batch_sizes)):
        upd.start_batch(bs)
        upd.update(values, {k: np.asarray(v, dtype=upd.dtype) for k, v in g.items()})
        upd.finish_batch()
        if finish_pass_every and (i + 1) % finish_pass_every == 0:
            upd.finish_pass()


def specs_for(method):
    mu = 0.0 if method in NO_MU else 0.9
    return [
        dict(name="a", shape=(3, 4), lr_p=1.0, mu=mu, l2=0.01),
        dict(name="b", shape=(5,), lr_p=0.5, mu=mu * 0.5, clip=0.8),
        dict(name="c", shape=(2, 2, 3), lr_p=2.0, l2=0.05, l1=0.01),
        dict(name="s", shape=(4,), static=True),
    ]


HP = dict(rho=0.9, eps=1e-6, beta1=0.8, beta2=0.99, adam_eps=1e-8)
OPT_HP = dict(ada_rou=0.9, ada_epsilon=1e-6, adam_beta1=0.8, adam_beta2=0.99,
              adam_epsilon=1e-8)
SCHED = dict(learning_rate_schedule="poly", learning_rate_decay_a=0.01,
             learning_rate_decay_b=0.5)


# ---------------------------------------------------------------------------------------------
# every method against the reference


@pytest.mark.parametrize("method", METHODS)
def test_method_matches_reference(method):
    specs = specs_for(method)
    upd = build(method, specs, **OPT_HP, **SCHED)
    ref = RefUpdater(method, [s for s in specs if not s.get("static")], HP)
    values = initial_values(specs)
    ref_values = {k: v.copy() for k, v in values.items()}
    static_before = values["s"].copy()
    grads = grad_stream(specs, 7)
    del grads[3]["b"]                     # "b" gets no gradient in batch 4: skipped
    batch_sizes = [8, 8, 5, 8, 3, 8, 8]
    n = 0
    for g, bs in zip(grads, batch_sizes):
        n += bs
        upd.start_batch(bs)
        lr = ref_lr("poly", 0.05, 0.01, 0.5, "", n, 0)
        assert upd.learning_rate == pytest.approx(lr, rel=1e-15)
        before_b = values["b"].copy()
        upd.update(values, g)
        upd.finish_batch()
        ref.step(ref_values, g, lr)
        if "b" not in g:
            np.testing.assert_array_equal(values["b"], before_b)
        for name in "abc":
            np.testing.assert_allclose(values[name], ref_values[name], rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(values["s"], static_before)
    state = upd.state_dict()
    for name in "abc":
        for key, arr in ref.state[name].items():
            np.testing.assert_allclose(state[f"{name}/{key}"], arr, rtol=1e-12, atol=1e-14)
    assert not any(k.startswith("s/") for k in state)
    assert int(state["n"]) == sum(batch_sizes) and int(state["t"]) == len(batch_sizes)


@pytest.mark.parametrize("method", ["momentum", "rmsprop", "adadelta", "adam", "adamax"])
def test_float32_keeps_dtype(method):
    specs = specs_for(method)
    upd = build(method, specs, dtype=np.float32, average_window=0.5, **OPT_HP, **SCHED)
    values = initial_values(specs, dtype=np.float32)
    ref_values = {k: v.astype(np.float64) for k, v in values.items()}
    ref = RefUpdater(method, [s for s in specs if not s.get("static")], HP)
    grads = grad_stream(specs, 4)
    arrays = {k: v for k, v in values.items()}
    n = 0
    for g in grads:
        n += 8
        upd.start_batch(8)
        upd.update(values, {k: v.astype(np.float32) for k, v in g.items()})
        upd.finish_batch()
        ref.step(ref_values, {k: v.astype(np.float32) for k, v in g.items()},
                 ref_lr("poly", 0.05, 0.01, 0.5, "", n, 0))
    for name in "abc":
        assert values[name].dtype == np.float32
        assert values[name] is arrays[name]          # updated in place
        np.testing.assert_allclose(values[name], ref_values[name], rtol=2e-5, atol=2e-6)
    assert all(v.dtype == np.float32 for k, v in upd.state_dict().items() if "/" in k
               and not k.startswith("average/"))
    avg = upd.averaged_values(values)
    assert all(v.dtype == np.float32 for v in avg.values())


def test_float64_grads_into_float32_params():
    specs = [dict(name="w", shape=(3,))]
    upd = build("momentum", specs, dtype=np.float32)
    w = {"w": np.ones(3, np.float32)}
    upd.start_batch(1)
    upd.update(w, {"w": np.array([1.0, 2.0, 3.0])})
    assert w["w"].dtype == np.float32
    np.testing.assert_allclose(w["w"], 1 - 0.05 * np.array([1.0, 2.0, 3.0]), rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# first-batch special cases (hand-computed)


def one_param(method, w0, g, lr=0.01, mu=0.0, **opt_kw):
    upd = build(method, [dict(name="w", shape=(len(w0),), mu=mu)], learning_rate=lr, **opt_kw)
    w = {"w": np.array(w0, dtype=np.float64)}
    for gi in g:
        upd.start_batch(4)
        upd.update(w, {"w": np.array(gi, dtype=np.float64)})
        upd.finish_batch()
    return upd, w["w"]


def test_adam_first_step_hand_computed():
    upd, w = one_param("adam", [1.0], [[0.5]])
    m, v = 0.1 * 0.5, 0.001 * 0.25
    alpha = 0.01 * math.sqrt(1 - 0.999) / (1 - 0.9)
    assert w[0] == pytest.approx(1.0 - alpha * m / (math.sqrt(v) + 1e-8), rel=1e-14)
    # eps outside the sqrt of the UNcorrected v: not textbook Adam with eps=1e-8
    textbook = 1.0 - 0.01 * (m / 0.1) / (math.sqrt(v / 0.001) + 1e-8)
    assert w[0] != textbook


def test_adam_second_step_bias_correction_t2():
    upd, w = one_param("adam", [0.0], [[0.5], [-0.25]])
    m1, v1 = 0.1 * 0.5, 0.001 * 0.25
    w1 = -0.01 * math.sqrt(0.001) / 0.1 * m1 / (math.sqrt(v1) + 1e-8)
    m2, v2 = 0.9 * m1 + 0.1 * -0.25, 0.999 * v1 + 0.001 * 0.0625
    w2 = w1 - 0.01 * math.sqrt(1 - 0.999 ** 2) / (1 - 0.9 ** 2) * m2 / (math.sqrt(v2) + 1e-8)
    assert w[0] == pytest.approx(w2, rel=1e-13)


def test_rmsprop_first_batch_m_is_g_squared():
    upd, w = one_param("rmsprop", [1.0, 1.0], [[2.0, -0.5]], lr=0.1)
    st = upd.state_dict()
    np.testing.assert_allclose(st["w/M"], [4.0, 0.25], rtol=1e-15)        # no (1 - rho)
    np.testing.assert_allclose(st["w/F"], [0.1, -0.025], rtol=1e-15)      # F has the (1 - rho)
    g = np.array([2.0, -0.5])
    expect = 1.0 - 0.1 * g / np.sqrt(g ** 2 * (1 - 0.05 ** 2) + 1e-6)
    np.testing.assert_allclose(w, expect, rtol=1e-14)
    assert np.all(np.abs(1.0 - w) == pytest.approx(0.1, rel=2e-3))       # about lr * sign(g)


def test_rmsprop_second_batch_uses_one_minus_rho():
    upd, _ = one_param("rmsprop", [1.0], [[2.0], [1.0]], lr=0.1)
    st = upd.state_dict()
    assert float(st["w/M"][0]) == pytest.approx(0.95 * 4.0 + 0.05 * 1.0, rel=1e-15)
    assert float(st["w/F"][0]) == pytest.approx(0.95 * 0.1 + 0.05 * 1.0, rel=1e-15)


def test_decayed_adagrad_first_batch_e_is_g_squared():
    upd, w = one_param("decayed_adagrad", [1.0], [[3.0]], lr=0.1)
    assert float(upd.state_dict()["w/E"][0]) == 9.0
    assert w[0] == pytest.approx(1.0 - 0.1 * 3.0 / math.sqrt(9.0 + 1e-6), rel=1e-14)
    upd, _ = one_param("decayed_adagrad", [1.0], [[3.0], [1.0]], lr=0.1)
    assert float(upd.state_dict()["w/E"][0]) == pytest.approx(0.95 * 9 + 0.05 * 1, rel=1e-15)


def test_adadelta_first_step_and_lr_multiplies():
    upd, w = one_param("adadelta", [1.0], [[2.0]], lr=0.5)
    eg = 0.05 * 4.0
    r = math.sqrt(1e-6 / (eg + 1e-6))
    assert w[0] == pytest.approx(1.0 - 0.5 * r * 2.0, rel=1e-14)
    st = upd.state_dict()
    assert float(st["w/Eg"][0]) == pytest.approx(eg, rel=1e-15)
    assert float(st["w/Edx"][0]) == pytest.approx(0.05 * (r * 2.0) ** 2, rel=1e-14)


def test_adagrad_no_first_batch_special_case():
    upd, w = one_param("adagrad", [1.0], [[2.0], [1.0]], lr=0.1)
    w1 = 1.0 - 0.1 * 2.0 / math.sqrt(4.0 + 1e-6)
    w2 = w1 - 0.1 * 1.0 / math.sqrt(5.0 + 1e-6)
    assert w[0] == pytest.approx(w2, rel=1e-14)


def test_torch_momentum_factor_from_second_batch():
    upd, w = one_param("torch_momentum", [0.0], [[1.0], [1.0]], lr=0.1, mu=0.5)
    v1 = -0.1
    v2 = 0.5 * v1 - 0.1 * 0.5 * 1.0
    assert w[0] == pytest.approx(v1 + v2, rel=1e-15)


def test_plain_sgd_with_coupled_l2():
    upd = build("momentum", [dict(name="w", shape=(2,), l2=0.1)], learning_rate=0.5)
    w = {"w": np.array([1.0, -2.0])}
    upd.start_batch(3)
    upd.update(w, {"w": np.array([0.2, 0.4])})
    np.testing.assert_allclose(w["w"], [1.0 - 0.5 * (0.2 + 0.1), -2.0 - 0.5 * (0.4 - 0.2)],
                               rtol=1e-15)


# ---------------------------------------------------------------------------------------------
# schedules

N_SEQ = [32, 64, 74]                     # batches 32, 32 and a short last batch of 10


@pytest.mark.parametrize("schedule,a,b,args,expected", [
    ("constant", 0, 0, "", [0.1, 0.1, 0.1]),
    ("poly", 0.01, 0.5, "", [0.1 * 1.32 ** -0.5, 0.1 * 1.64 ** -0.5, 0.1 * 1.74 ** -0.5]),
    ("poly", 0.0, 0.0, "", [0.1, 0.1, 0.1]),
    ("caffe_poly", 70, 2, "", [0.1 * (1 - 32 / 70) ** 2, 0.1 * (1 - 64 / 70) ** 2, 0.0]),
    ("exp", 0.5, 64, "", [0.1 * 0.5 ** 0.5, 0.1 * 0.5, 0.1 * 0.5 ** (74 / 64)]),
    ("discexp", 0.5, 64, "", [0.1, 0.05, 0.05]),
    ("linear", 0.001, 0.05, "", [0.068, 0.05, 0.05]),
    ("manual", 0, 0, "32:1.0,64:0.5,70:0.25", [0.1, 0.05, 0.025]),
    ("manual", 0, 0, "31:1.0,100:0.5", [0.05, 0.05, 0.05]),
])
def test_schedule_values(schedule, a, b, args, expected):
    upd = build("momentum", [dict(name="w", shape=(1,))], learning_rate=0.1,
                learning_rate_schedule=schedule, learning_rate_decay_a=a,
                learning_rate_decay_b=b, learning_rate_args=args)
    w = {"w": np.zeros(1)}
    got = []
    for bs in (32, 32, 10):
        upd.start_batch(bs)
        got.append(upd.learning_rate)
        upd.update(w, {"w": np.zeros(1)})
        upd.finish_batch()
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert got == pytest.approx([ref_lr(schedule, 0.1, a, b, args, n, 0) for n in N_SEQ],
                                rel=1e-12, abs=1e-15)


def test_manual_past_last_boundary_keeps_last_rate():
    upd = build("momentum", [dict(name="w", shape=(1,))], learning_rate=0.1,
                learning_rate_schedule="manual", learning_rate_args="10:1.0,20:0.5")
    seen = []
    for _ in range(5):
        upd.start_batch(10)
        seen.append(upd.learning_rate)
        upd.finish_batch()
    assert seen == pytest.approx([0.1, 0.05, 0.05, 0.05, 0.05])


def test_pass_manual_across_passes():
    upd = build("momentum", [dict(name="w", shape=(1,))], learning_rate=0.1,
                learning_rate_schedule="pass_manual", learning_rate_args="0:1.0,1:0.5,3:0.1")
    w = {"w": np.zeros(1)}
    per_pass = []
    for _ in range(5):
        upd.start_pass()
        rates = []
        for _ in range(2):
            upd.start_batch(7)
            rates.append(upd.learning_rate)
            upd.update(w, {"w": np.zeros(1)})
            upd.finish_batch()
        upd.finish_pass()
        assert rates[0] == rates[1]
        per_pass.append(rates[0])
    assert per_pass == pytest.approx([0.1, 0.05, 0.01, 0.01, 0.01])


def test_learning_rate_before_first_batch_and_first_batch_sees_batch_size():
    upd = build("momentum", [dict(name="w", shape=(1,))], learning_rate=0.1,
                learning_rate_schedule="linear", learning_rate_decay_a=0.001,
                learning_rate_decay_b=0.0)
    assert upd.learning_rate == pytest.approx(0.1)
    upd.start_batch(50)
    assert upd.learning_rate == pytest.approx(0.1 - 0.05)     # n = 50, not 0


@pytest.mark.parametrize("method", ["adagrad", "adam", "adamax"])
def test_methods_paddle_kept_constant_follow_the_schedule(method):
    kw = dict(learning_rate_schedule="discexp", learning_rate_decay_a=0.5,
              learning_rate_decay_b=8)
    specs = [dict(name="w", shape=(3,))]
    upd = build(method, specs, **kw)
    ref = RefUpdater(method, specs, dict(rho=0.95, eps=1e-6, beta1=0.9, beta2=0.999))
    w = {"w": np.ones(3)}
    rw = {"w": np.ones(3)}
    n = 0
    for g in grad_stream(specs, 4):
        n += 8
        upd.start_batch(8)
        upd.update(w, g)
        upd.finish_batch()
        ref.step(rw, g, 0.05 * 0.5 ** (n // 8))
    assert upd.learning_rate == pytest.approx(0.05 / 16)
    np.testing.assert_allclose(w["w"], rw["w"], rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# clipping


def test_per_parameter_threshold_beats_global():
    specs = [dict(name="own", shape=(2,), clip=2.0), dict(name="glob", shape=(2,))]
    upd = build("momentum", specs, learning_rate=1.0, gradient_clipping_threshold=0.5)
    w = {"own": np.zeros(2), "glob": np.zeros(2)}
    upd.start_batch(1)
    upd.update(w, {"own": np.array([1.5, -0.2]), "glob": np.array([1.5, -0.2])})
    np.testing.assert_allclose(w["own"], [-1.5, 0.2])            # 1.5 <= 2: not clipped
    np.testing.assert_allclose(w["glob"], [-0.5, 0.2])           # global 0.5 clips


def test_no_clip_when_max_equals_threshold():
    upd = build("momentum", [dict(name="w", shape=(2,), clip=1.0)], learning_rate=1.0)
    w = {"w": np.zeros(2)}
    upd.start_batch(1)
    upd.update(w, {"w": np.array([1.0, -1.0])})
    np.testing.assert_allclose(w["w"], [-1.0, 1.0])


def test_clipped_gradient_feeds_accumulators_and_grads_untouched():
    upd = build("adagrad", [dict(name="w", shape=(3,), clip=0.5)], learning_rate=0.1)
    w = {"w": np.zeros(3)}
    g = np.array([2.0, -0.3, -4.0])
    g_copy = g.copy()
    upd.start_batch(1)
    upd.update(w, {"w": g})
    np.testing.assert_array_equal(g, g_copy)                      # caller's array untouched
    clipped = np.array([0.5, -0.3, -0.5])
    np.testing.assert_allclose(upd.state_dict()["w/G"], clipped ** 2)
    np.testing.assert_allclose(w["w"], -0.1 * clipped / np.sqrt(clipped ** 2 + 1e-6))


def test_l2_term_is_not_clipped():
    upd = build("momentum", [dict(name="w", shape=(2,), clip=0.05, l2=1.0)], learning_rate=0.1)
    w = {"w": np.array([10.0, -10.0])}
    upd.start_batch(1)
    upd.update(w, {"w": np.array([0.1, 0.01])})
    # g -> [0.05, 0.01] (max 0.1 > 0.05), then + lambda2 * w, unclipped
    np.testing.assert_allclose(w["w"], [10.0 - 0.1 * (0.05 + 10.0), -10.0 - 0.1 * (0.01 - 10.0)])


@pytest.mark.parametrize("method", ["rmsprop", "adam"])
def test_global_clipping_against_reference(method):
    specs = [dict(name="w", shape=(6,), lr_p=0.7)]
    upd = build(method, specs, gradient_clipping_threshold=0.6, **OPT_HP)
    ref = RefUpdater(method, specs, dict(HP, global_clip=0.6))
    w, rw = {"w": np.zeros(6)}, {"w": np.zeros(6)}
    for g in grad_stream(specs, 5):
        upd.start_batch(2)
        upd.update(w, g)
        upd.finish_batch()
        ref.step(rw, g, 0.05)
    np.testing.assert_allclose(w["w"], rw["w"], rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# L1 / L2 regularizer


def test_l1_then_l2_hand_computed_momentum():
    specs = [dict(name="w", shape=(3,), l1=0.1, l2=0.5, lr_p=2.0)]
    upd = build("momentum", specs, learning_rate=0.05)
    w = {"w": np.array([1.0, -0.001, -0.5])}
    upd.start_batch(4)
    upd.update(w, {"w": np.array([0.0, 0.0, 0.2])})
    inner = np.array([1.0, -0.001, -0.5]) - 0.1 * np.array([0.0, 0.0, 0.2])  # no L2 in step
    c1 = 0.05 * 2.0 * 0.1
    shrunk = np.sign(inner) * np.maximum(np.abs(inner) - c1, 0) / (1 + 0.05 * 2.0 * 0.5)
    np.testing.assert_allclose(w["w"], shrunk, rtol=1e-15)
    assert w["w"][1] == 0.0


@pytest.mark.parametrize("method", ["momentum", "adagrad", "decayed_adagrad", "rmsprop",
                                    "adadelta", "adam", "adamax"])
@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_l1_with_and_without_r_buffer(method, l2):
    specs = [dict(name="w", shape=(8,), l1=0.05, l2=l2, lr_p=1.5)]
    upd = build(method, specs, learning_rate=0.2, **OPT_HP)
    ref = RefUpdater(method, specs, HP)
    w = initial_values(specs, seed=3)
    rw = {k: v.copy() for k, v in w.items()}
    for g in grad_stream(specs, 4, seed=5, scale=0.1):
        upd.start_batch(2)
        upd.update(w, g)
        upd.finish_batch()
        ref.step(rw, g, 0.2)
    np.testing.assert_allclose(w["w"], rw["w"], rtol=1e-12, atol=1e-15)


def test_r_buffer_scales_l1_threshold():
    # adagrad, g = 0 after a first step: r = 1/sqrt(G + eps) multiplies c1
    specs = [dict(name="w", shape=(1,), l1=0.1)]
    upd = build("adagrad", specs, learning_rate=0.1)
    w = {"w": np.array([5.0])}
    upd.start_batch(1)
    upd.update(w, {"w": np.array([2.0])})
    r = 1 / math.sqrt(4.0 + 1e-6)
    expect = 5.0 - 0.1 * r * 2.0 - 0.1 * 0.1 * r
    assert w["w"][0] == pytest.approx(expect, rel=1e-15)


# ---------------------------------------------------------------------------------------------
# Adamax zero step


def test_adamax_zero_step_where_u_is_zero():
    specs = [dict(name="w", shape=(2, 3))]
    upd = build("adamax", specs, learning_rate=0.1)
    w = {"w": np.ones((2, 3))}
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            g = rng.normal(size=(2, 3))
            g[:, 1] = 0.0                                   # a dead unit
            upd.start_batch(2)
            upd.update(w, {"w": g})
            upd.finish_batch()
    assert np.all(np.isfinite(w["w"]))
    np.testing.assert_array_equal(w["w"][:, 1], 1.0)
    assert np.all(w["w"][:, [0, 2]] != 1.0)


def test_adamax_first_step_hand_computed():
    upd, w = one_param("adamax", [1.0, 1.0], [[0.5, -2.0]], lr=0.1)
    # m = 0.1 g, u = |g|, step = lr/(1 - 0.9) * m/u = 0.1 * sign(g)
    np.testing.assert_allclose(w, [0.9, 1.1], rtol=1e-14)


# ---------------------------------------------------------------------------------------------
# ModelAverage


def avg_run(specs, grads, batch_sizes, pass_lengths, **opt_kw):
    upd = build("momentum", specs, learning_rate=0.1, **opt_kw)
    w = initial_values(specs)
    history, averages = [], []
    ends = set(np.cumsum(pass_lengths))
    for i, (g, bs) in enumerate(zip(grads, batch_sizes)):
        upd.start_batch(bs)
        upd.update(w, g)
        upd.finish_batch()
        history.append({k: v.copy() for k, v in w.items()})
        averages.append(upd.averaged_values(w))
        if i + 1 in ends:
            upd.finish_pass()
    return upd, history, averages


def mean_of(history, idx, name):
    return np.mean([history[i - 1][name] for i in idx], axis=0)


def test_model_average_short_run_and_roll_with_max_window():
    specs = [dict(name="w", shape=(4,)), dict(name="s", shape=(2,), static=True)]
    grads = grad_stream(specs, 7)
    upd, hist, avgs = avg_run(specs, grads, [4] * 7, [7], average_window=1.0,
                              max_average_window=3)
    expect = {1: [1], 2: [1, 2], 3: [1, 2, 3], 4: [1, 2, 3, 4], 5: [1, 2, 3, 4, 5],
              6: [4, 5, 6], 7: [4, 5, 6, 7]}
    for batch, idx in expect.items():
        np.testing.assert_allclose(avgs[batch - 1]["w"], mean_of(hist, idx, "w"), rtol=1e-13)
        np.testing.assert_array_equal(avgs[batch - 1]["s"], hist[batch - 1]["s"])  # copied


def test_model_average_window_follows_pass_length_when_max_unset():
    specs = [dict(name="w", shape=(3,))]
    grads = grad_stream(specs, 10)
    upd, hist, avgs = avg_run(specs, grads, [4] * 10, [4, 4, 2], average_window=1.0)
    expect = {4: range(1, 5), 5: range(1, 6), 6: range(1, 7), 8: range(1, 9),
              9: range(6, 10), 10: range(6, 11)}
    for batch, idx in expect.items():
        np.testing.assert_allclose(avgs[batch - 1]["w"], mean_of(hist, idx, "w"), rtol=1e-13)
    st = upd.state_dict()
    # after the third pass (2 batches) the window is that pass's length
    assert int(st["average/max_window"]) == 2 and int(st["average/min_window"]) == 4


def test_model_average_product_truncates():
    # passes of 2, 10, 5 batches: window 2 in pass 2 (rolls at 3, 5, 7, 9, 11); after it
    # minWindow 2, maxWindow 10.  At batch 15 numAccumulates = 4 and numUpdates * 0.3 = 4.5:
    # Paddle's int64 conversion gives 4, so the window rolls (a real-valued 4.5 would not).
    specs = [dict(name="w", shape=(2,))]
    grads = grad_stream(specs, 17)
    upd, hist, avgs = avg_run(specs, grads, [1] * 17, [2, 10, 5], average_window=0.3)
    np.testing.assert_allclose(avgs[14]["w"], mean_of(hist, range(12, 16), "w"), rtol=1e-13)
    np.testing.assert_allclose(avgs[15]["w"], mean_of(hist, range(12, 17), "w"), rtol=1e-13)
    ref = RefAverage(0.3, None)
    for i in range(17):
        ref.start_batch()
        ref.accumulate(hist[i])
        ref.finish_batch()
        if i + 1 in (2, 12):
            ref.finish_pass()
        np.testing.assert_allclose(avgs[i]["w"], ref.average()["w"], rtol=1e-13)
    assert ref.rolls == [3, 5, 7, 9, 11, 15]


class RefAverage:
    """8b.6 counters, straight from the spec."""

    def __init__(self, aw, max_window):
        self.aw, self.max_set = aw, max_window is not None
        mx = max_window if self.max_set else 2 ** 63 - 1
        self.min_w, self.max_w = min(10000, mx), mx
        self.nu = self.prev = self.acc = self.old = 0
        self.S1 = self.S2 = self.S3 = None
        self.rolls = []

    def too_long(self):
        return self.acc >= self.min_w and self.acc >= min(self.max_w, int(self.nu * self.aw))

    def start_batch(self):
        self.nu += 1
        self.acc += 1

    def accumulate(self, w):
        if self.S1 is None:
            self.S1 = {k: np.zeros_like(v) for k, v in w.items()}
            self.S2 = {k: np.zeros_like(v) for k, v in w.items()}
            self.S3 = {k: np.zeros_like(v) for k, v in w.items()}
        for k in w:
            self.S1[k] = self.S1[k] + w[k]
        if self.too_long():
            self.rolls.append(self.nu)
            for k in w:
                self.S3[k] = self.S1[k] + self.S2[k]
                self.S1[k] = np.zeros_like(w[k])
                self.S2[k] = np.zeros_like(w[k])

    def finish_batch(self):
        if self.too_long():
            self.old, self.acc = self.acc, 0

    def finish_pass(self):
        if not self.max_set:
            self.max_w = self.nu - self.prev
            self.prev = self.nu
        self.min_w = min(self.min_w, self.nu)

    def average(self):
        c = self.acc + self.old
        return {k: (self.S1[k] + self.S2[k] + self.S3[k]) / c for k in self.S1}


def test_model_average_long_irregular_run_against_reference():
    specs = [dict(name="w", shape=(3,))]
    grads = grad_stream(specs, 40)
    lengths = [3, 9, 5, 14, 9]
    upd, hist, avgs = avg_run(specs, grads, [2] * 40, lengths, average_window=0.45)
    ref = RefAverage(0.45, None)
    ends = set(np.cumsum(lengths))
    for i in range(40):
        ref.start_batch()
        ref.accumulate(hist[i])
        ref.finish_batch()
        if i + 1 in ends:
            ref.finish_pass()
        np.testing.assert_allclose(avgs[i]["w"], ref.average()["w"], rtol=1e-13)
    assert len(ref.rolls) >= 4


def test_model_average_off_returns_none_and_before_any_batch_copies():
    specs = [dict(name="w", shape=(2,))]
    assert build("momentum", specs).averaged_values({"w": np.zeros(2)}) is None
    upd = build("momentum", specs, average_window=0.5)
    w = {"w": np.array([1.0, 2.0])}
    avg = upd.averaged_values(w)
    np.testing.assert_array_equal(avg["w"], w["w"])
    assert avg["w"] is not w["w"]


def test_average_spill_keeps_the_average(monkeypatch):
    specs = [dict(name="w", shape=(3,))]
    grads = grad_stream(specs, 7)
    _, _, plain = avg_run(specs, grads, [2] * 7, [7], average_window=1.0)
    monkeypatch.setattr(ParameterUpdater, "AVERAGE_SPILL", 2)
    upd, _, spilled = avg_run(specs, grads, [2] * 7, [7], average_window=1.0)
    st = upd.state_dict()
    assert np.any(st["w/SUM2"] != 0) and np.any(st["w/SUM1"] != 0)   # 7th batch after spill 6
    for a, b in zip(plain, spilled):
        np.testing.assert_allclose(a["w"], b["w"], rtol=1e-13)


def test_adagrad_spill_is_a_no_op(monkeypatch):
    specs = [dict(name="w", shape=(4,))]
    grads = grad_stream(specs, 5)

    def go():
        upd = build("adagrad", specs, learning_rate=0.1)
        w = {"w": np.ones(4)}
        run(upd, w, grads, [1] * 5)
        return upd, w["w"]

    _, plain = go()
    monkeypatch.setattr(ParameterUpdater, "ADAGRAD_SPILL", 2)
    upd, spilled = go()
    np.testing.assert_allclose(spilled, plain, rtol=1e-13)
    st = upd.state_dict()
    np.testing.assert_allclose(st["w/G_old"], sum(g["w"] ** 2 for g in grads[:4]), rtol=1e-13)
    np.testing.assert_allclose(st["w/G"], grads[4]["w"] ** 2, rtol=1e-15)


# ---------------------------------------------------------------------------------------------
# state_dict round trip


def roundtrip_case(method):
    specs = [dict(name="a", shape=(3, 4), mu=0.0 if method in NO_MU else 0.7, l2=0.01, clip=1.0),
             dict(name="b", shape=(5,), l1=0.02, l2=0.03, lr_p=0.5)]
    opt = dict(average_window=0.5, max_average_window=3, learning_rate_schedule="manual",
               learning_rate_args="20:1.0,40:0.5,60:0.3", **OPT_HP)
    return specs, opt


@pytest.mark.parametrize("method", METHODS)
def test_state_dict_resume_is_bit_identical(method):
    specs, opt = roundtrip_case(method)
    grads = grad_stream(specs, 10, seed=9)
    sizes = [8, 8, 3, 8, 8, 8, 5, 8, 8, 8]
    upd = build(method, specs, dtype=np.float32, **opt)
    w = initial_values(specs, dtype=np.float32)
    run(upd, w, grads[:5], sizes[:5], finish_pass_every=4)
    buf = io.BytesIO()
    np.savez(buf, **upd.state_dict())
    saved_w = {k: v.copy() for k, v in w.items()}
    run(upd, w, grads[5:], sizes[5:], finish_pass_every=4)

    buf.seek(0)
    with np.load(buf, allow_pickle=False) as f:
        loaded = {k: f[k] for k in f.files}
    fresh = build(method, specs, dtype=np.float32, **opt)
    fresh.load_state_dict(loaded)
    w2 = saved_w
    run(fresh, w2, grads[5:], sizes[5:], finish_pass_every=4)
    for k in w:
        assert w[k].tobytes() == w2[k].tobytes()
    s1, s2 = upd.state_dict(), fresh.state_dict()
    assert s1.keys() == s2.keys()
    for k in s1:
        assert s1[k].dtype == s2[k].dtype and s1[k].tobytes() == s2[k].tobytes(), k
    assert fresh.learning_rate == upd.learning_rate
    a1, a2 = upd.averaged_values(w), fresh.averaged_values(w2)
    for k in a1:
        assert a1[k].tobytes() == a2[k].tobytes()


def test_state_dict_only_arrays_and_scalars_are_0d():
    specs, opt = roundtrip_case("adam")
    upd = build("adam", specs, **opt)
    st = upd.state_dict()
    assert all(isinstance(v, np.ndarray) for v in st.values())
    for k in ("n", "t", "pass", "lr", "average/num_accumulates"):
        assert st[k].shape == ()
    assert st["a/m"] is not upd.state_dict()["a/m"]            # copies


def test_load_state_dict_mismatch_lists_keys():
    specs, opt = roundtrip_case("momentum")
    upd = build("momentum", specs, **opt)
    st = upd.state_dict()
    del st["a/v"]
    st["zzz/extra"] = np.zeros(1)
    st["b/v"] = np.zeros(7)
    with pytest.raises(ConfigError) as e:
        upd.load_state_dict(st)
    msg = str(e.value)
    assert "a/v" in msg and "zzz/extra" in msg and "b/v" in msg and "(5,)" in msg
    adam_state = build("adam", roundtrip_case("adam")[0], **opt).state_dict()
    with pytest.raises(ConfigError, match="a/m"):
        upd.load_state_dict(adam_state)


# ---------------------------------------------------------------------------------------------
# parameters and inputs


def test_static_and_missing_and_unknown():
    specs = [dict(name="w", shape=(2,)), dict(name="u", shape=(2,)),
             dict(name="s", shape=(3,), static=True)]
    upd = build("momentum", specs)
    assert upd.parameter_names == ["w", "u"]
    w = {"w": np.ones(2), "u": np.ones(2), "s": np.ones(3)}
    upd.start_batch(1)
    upd.update(w, {"w": np.ones(2), "s": np.ones(3)})        # a static grad is ignored
    np.testing.assert_array_equal(w["u"], 1.0)
    np.testing.assert_array_equal(w["s"], 1.0)
    np.testing.assert_array_equal(upd.state_dict()["u/v"], 0.0)
    with pytest.raises(ValueError, match="nope"):
        upd.update(w, {"nope": np.ones(2)})
    with pytest.raises(ValueError, match="shape"):
        upd.update(w, {"w": np.ones(3)})


def test_shape_checks_at_construction():
    opt = make_opt()
    with pytest.raises(ConfigError, match="no shape given for parameters: w"):
        ParameterUpdater(opt, [ParameterConfig(name="w", size=4)], {})
    with pytest.raises(ConfigError, match="size 4, shape"):
        ParameterUpdater(opt, [ParameterConfig(name="w", size=4)], {"w": (5,)})


# ---------------------------------------------------------------------------------------------
# refusals


@pytest.mark.parametrize("opt_kw,param_kw,match", [
    (dict(algorithm="owlqn"), {}, "owlqn"),
    (dict(learning_method="lbfgs"), {}, "learning_method"),
    ({}, dict(decay_rate_l1=0.1, momentum=0.9), "momentum"),
    (dict(learning_method="adam"), dict(momentum=0.9), "remove the momentum"),
    (dict(learning_method="adamax"), dict(momentum=0.5), "remove the momentum"),
    (dict(learning_rate_schedule="manual", learning_rate_args="100:1.0,200"),
     {}, "learning_rate_args"),
    (dict(learning_rate_schedule="manual", learning_rate_args="a:1.0"), {}, "learning_rate_args"),
    (dict(learning_rate_schedule="manual", learning_rate_args="100:x"), {}, "learning_rate_args"),
    (dict(learning_rate_schedule="manual", learning_rate_args="100:1,50:0.5"),
     {}, "learning_rate_args"),
    (dict(learning_rate_schedule="manual", learning_rate_args="100:1,"), {},
     "learning_rate_args"),
    (dict(learning_rate_schedule="manual"), {}, "learning_rate_args"),
    (dict(learning_rate_schedule="pass_manual", learning_rate_args=""), {}, "learning_rate_args"),
    (dict(learning_rate_schedule="exp"), {}, "learning_rate_decay_a"),
    (dict(learning_rate_schedule="exp", learning_rate_decay_a=0.5), {}, "learning_rate_decay_b"),
    (dict(learning_rate_schedule="exp", learning_rate_decay_b=100), {},
     "learning_rate_decay_a"),
    (dict(learning_rate_schedule="discexp"), {}, "learning_rate_decay_b"),
    (dict(learning_rate_schedule="caffe_poly"), {}, "learning_rate_decay_a"),
    (dict(learning_rate_schedule="cosine"), {}, "learning_rate_schedule"),
    ({}, dict(num_batches_regularization=5), "num_batches_regularization"),
    ({}, dict(sparse_update=True), "sparse_update"),
    ({}, dict(sparse_remote_update=True), "sparse_remote_update"),
    (dict(learning_rate=None), {}, "learning_rate"),
])
def test_refusals(opt_kw, param_kw, match):
    opt = make_opt(**{k: v for k, v in opt_kw.items() if k != "learning_method"},
                   **({"method": opt_kw["learning_method"]} if "learning_method" in opt_kw
                      else {}))
    with pytest.raises(ConfigError, match=match):
        ParameterUpdater(opt, [ParameterConfig(name="w", size=2, **param_kw)], {"w": (2,)})


def test_adam_momentum_on_static_parameter_is_fine():
    opt = make_opt("adam")
    upd = ParameterUpdater(opt, [ParameterConfig(name="w", size=2),
                                 ParameterConfig(name="s", size=2, momentum=0.9,
                                                 is_static=True)],
                           {"w": (2,), "s": (2,)})
    assert upd.parameter_names == ["w"]
