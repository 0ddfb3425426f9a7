"""auc, precision_recall, pnpair, sum, column_sum and the printer evaluators: their configs
and values against direct loops and hand-computed numbers (Paddle's arithmetic,
paddle/gserver/evaluators/Evaluator.cpp), through the trainer like classification_error."""

from __future__ import annotations

import io

import numpy as np
import pytest

import minipaddle as mp
from minipaddle.config import ConfigError
from minipaddle.train.evaluators import (
    add_records, build_evaluators, counts_of, records_of,
)
from minipaddle.train.evaluators.metrics import AUC_BINS
from minipaddle.train.progress import Progress
from minipaddle.train.trainer import Trainer


def network():
    from minipaddle import (
        SoftmaxActivation, auc_evaluator, classification_cost, classification_error_printer_evaluator,
        column_sum_evaluator, data_layer, fc_layer, maxframe_printer_evaluator,
        maxid_printer_evaluator, outputs, pnpair_evaluator, precision_recall_evaluator,
        sum_evaluator, value_printer_evaluator,
    )
    x = data_layer(name="x", size=4)
    y = data_layer(name="y", size=1)
    q = data_layer(name="q", size=1)
    w = data_layer(name="w", size=1)
    p = fc_layer(input=x, size=3, act=SoftmaxActivation(), name="p")
    auc_evaluator(input=p, label=y, weight=w, name="auc")
    precision_recall_evaluator(input=p, label=y, name="pr")
    precision_recall_evaluator(input=p, label=y, positive_label=2, weight=w, name="pr2")
    pnpair_evaluator(input=p, label=q, query_id=q, weight=w, name="pn")
    sum_evaluator(input=p, weight=w, name="s")
    column_sum_evaluator(input=p, name="cs")
    value_printer_evaluator(input=[w])
    maxid_printer_evaluator(input=p, num_results=2)
    maxframe_printer_evaluator(input=w)
    classification_error_printer_evaluator(input=p, label=y)
    outputs(classification_cost(input=p, label=y))


def config():
    return mp.parse_config(network)


def test_config_fields():
    evs = {e.name: e for e in config().model_config.evaluators}
    assert evs["auc"].type == "last-column-auc" and evs["auc"].input_layers == ["p", "y", "w"]
    assert evs["pr"].type == "precision_recall" and evs["pr"].positive_label is None
    assert evs["pr2"].positive_label == 2 and evs["pr2"].input_layers == ["p", "y", "w"]
    assert evs["pn"].type == "pnpair" and evs["pn"].input_layers == ["p", "q", "q", "w"]
    assert evs["s"].type == "sum" and evs["cs"].type == "last-column-sum"
    assert evs["__value_printer_evaluator_0__"].type == "value_printer"
    assert evs["__maxid_printer_evaluator_0__"].num_results == 2
    assert evs["__maxframe_printer_evaluator_0__"].type == "max_frame_printer"
    printer = evs["__classification_error_printer_evaluator_0__"]
    assert printer.classification_threshold == 0.5


def by_name(evaluators):
    return {e.name: e for e in evaluators}


def test_values_against_direct_loops():
    model = config().model_config
    lines: list[str] = []
    evs = by_name(build_evaluators(model.evaluators, [], log=lines.append, model=model))
    rng = np.random.default_rng(0)
    batches = []
    for n in (5, 4):
        probs = rng.dirichlet(np.ones(3), size=n)
        probs[0] = probs[1]                    # a tie, for the AUC bins and pnpair
        batches.append({"p": probs, "y": rng.integers(0, 3, size=n),
                        "q": rng.integers(0, 2, size=(n, 1)).astype(float),
                        "w": rng.uniform(0.5, 2.0, size=(n, 1))})
    for out in batches:
        for ev in evs.values():
            ev.add(out, out)
    p = np.concatenate([b["p"] for b in batches])
    y = np.concatenate([b["y"] for b in batches])
    q = np.concatenate([b["q"] for b in batches])[:, 0]
    w = np.concatenate([b["w"] for b in batches])[:, 0]

    # AUC: over (positive, negative) sample pairs, 1 when the positive's bin is higher,
    # 1/2 in the same bin (what the trapezoids over the bins add up to)
    bins = [int(np.float32(v) * np.float32(AUC_BINS)) for v in p[:, -1].astype(np.float32)]
    num = den = 0.0
    for i in range(len(y)):
        for j in range(len(y)):
            if y[i] != 0 and y[j] == 0:
                den += w[i] * w[j]
                num += w[i] * w[j] * (1.0 if bins[i] > bins[j] else
                                      0.5 if bins[i] == bins[j] else 0.0)
    assert evs["auc"].value() == pytest.approx(num / den)

    # precision / recall per class from the arg-max
    pred = p.argmax(axis=1)
    tp = np.array([np.sum((pred == c) & (y == c)) for c in range(3)], dtype=float)
    fp = np.array([np.sum((pred == c) & (y != c)) for c in range(3)], dtype=float)
    fn = np.array([np.sum((pred != c) & (y == c)) for c in range(3)], dtype=float)
    prec = [tp[c] / (tp[c] + fp[c]) if tp[c] + fp[c] else 1.0 for c in range(3)]
    rec = [tp[c] / (tp[c] + fn[c]) if tp[c] + fn[c] else 1.0 for c in range(3)]
    mp_, mr = sum(prec) / 3, sum(rec) / 3
    got = evs["pr"].values()
    assert got["pr.macro-average-precision"] == pytest.approx(mp_)
    assert got["pr.macro-average-recall"] == pytest.approx(mr)
    assert got["pr.macro-average-F1-score"] == pytest.approx(2 * mp_ * mr / (mp_ + mr))
    assert got["pr.micro-average-precision"] == pytest.approx(np.mean(pred == y))
    wtp = np.sum(w * ((pred == 2) & (y == 2)))
    wfp, wfn = np.sum(w * ((pred == 2) & (y != 2))), np.sum(w * ((pred != 2) & (y == 2)))
    got2 = evs["pr2"].values()
    p2 = wtp / (wtp + wfp) if wtp + wfp else 1.0
    r2 = wtp / (wtp + wfn) if wtp + wfn else 1.0
    assert got2["pr2.precision"] == pytest.approx(p2) and got2["pr2.recall"] == pytest.approx(r2)
    assert evs["pr2"].value() == pytest.approx(2 * p2 * r2 / (p2 + r2) if p2 + r2 else 0.0)
    # true negatives: every sample counts once for each class it is neither predicted nor
    assert evs["pr"].tn.sum() == pytest.approx(sum(3 - len({pred[i], y[i]}) for i in range(len(y))))

    # pnpair: label = query here, so pairs within a query never differ in label: no pairs
    assert evs["pn"].pairs() == (0.0, 0.0, 0.0) and evs["pn"].value() == 0.0

    # sums: weighted sum of every value (each row sums to 1) per unit of weight; the last
    # column per sample
    assert evs["s"].value() == pytest.approx(np.sum(w) / np.sum(w))
    assert evs["cs"].value() == pytest.approx(p[:, -1].mean())

    # printers printed through the log, once per batch each
    assert sum(line.startswith("layer=w value matrix:") for line in lines) == 2
    assert sum(line.startswith("layer=p row max id vector:") for line in lines) == 2
    first = next(line for line in lines if line.startswith("layer=p row max id"))
    top = np.argsort(-batches[0]["p"][0], kind="stable")[:2]
    assert first.splitlines()[1] == "".join(f"{i} : {batches[0]['p'][0][i]:g}, " for i in top)
    errors = next(line for line in lines if line.startswith("Printer="))
    assert errors.splitlines()[1:] == [
        f"{float(v):g}" for v in batches[0]["p"].argmax(axis=1) != batches[0]["y"]]
    frames = next(line for line in lines if "sequence max frames" in line)
    assert frames.splitlines()[1] == f"0 : {batches[0]['w'][0, 0]:g}, total 1 frames"


def test_pnpair_against_a_direct_loop():
    model = config().model_config
    ev = by_name(build_evaluators(model.evaluators, [], model=model))["pn"]
    out = np.array([[0, 0, .9], [0, 0, .2], [0, 0, .5], [0, 0, .5], [0, 0, .1], [0, 0, .7]])
    label = np.array([[2.], [0.], [1.], [0.], [1.], [0.]])
    query = np.array([[7.], [7.], [7.], [7.], [3.], [3.]])
    w = np.array([[1.], [2.], [1.], [1.], [4.], [1.]])
    # inputs are [p, label q, query q, w]: feed label and query under their own names
    ev.label, ev.query = "lab", "qid"
    ev.add({"p": out, "lab": label, "qid": query, "w": w}, {})
    pos = neg = special = 0.0
    for i in range(6):
        for j in range(i + 1, 6):
            if query[i] != query[j] or label[i] == label[j]:
                continue
            pw = (w[i, 0] + w[j, 0]) / 2
            s = np.sign(out[i, 2] - out[j, 2]) * np.sign(label[i, 0] - label[j, 0])
            pos, neg, special = pos + pw * (s > 0), neg + pw * (s < 0), special + pw * (s == 0)
    assert ev.pairs() == pytest.approx((pos, neg, special))
    # by hand: query 7 has positive pairs (0,1) 1.5, (0,2) 1, (0,3) 1, (1,2) 1.5, the tie
    # (2,3) 1; query 3 the reversed pair (4,5) 2.5
    assert (pos, neg, special) == (5.0, 2.5, 1.0)
    assert ev.value() == pytest.approx(2.0)


def test_auc_by_hand_and_records_add_up():
    model = config().model_config
    make = lambda: by_name(build_evaluators(model.evaluators, [], model=model))["auc"]  # noqa
    a, b, whole = make(), make(), make()
    # positives at 0.9 and 0.4, negatives at 0.4 and 0.1 (weights 1): pairs 1, 1, 1/2, 1
    p = np.zeros((4, 3))
    p[:, 2] = [0.9, 0.4, 0.4, 0.1]
    out = {"p": p, "y": np.array([1, 2, 0, 0]), "w": np.ones((4, 1))}
    whole.add(out, out)
    assert whole.value() == pytest.approx(3.5 / 4)
    half = lambda s: {k: v[s] for k, v in out.items()}  # noqa: E731
    a.add(half(slice(0, 2)), {})
    b.add(half(slice(2, 4)), {})
    add_records([a], [records_of([a]), records_of([b])], reset=True)
    assert a.value() == pytest.approx(3.5 / 4)
    with pytest.raises(ValueError, match="prediction 1.5 of 'p' is outside"):
        bad = dict(out, p=np.full((4, 3), 1.5))
        whole.add(bad, bad)


def test_trainer_logs_the_metrics_and_prints_through_its_log():
    stream = io.StringIO()
    trainer = Trainer(config(), None, seed=1, log=Progress(stream=stream, log_period=1))
    rng = np.random.default_rng(3)
    feeds = [{"x": rng.normal(size=(6, 4)), "y": rng.integers(0, 3, size=6),
              "q": rng.integers(0, 3, size=(6, 1)).astype(float),
              "w": rng.uniform(0.5, 1.5, size=(6, 1))} for _ in range(3)]
    end = trainer.train_one_pass(feeds)
    assert {"cost", "classification_error", "auc", "pn", "s", "cs", "pr2.F1-score",
            "pr.macro-average-precision"} <= set(end.metrics)
    # the pass's AUC and sums are those of one evaluator fed every batch
    model = trainer.config.model_config
    # (the parameters moved during the pass: compare with the test pass instead)
    test = trainer.evaluate(feeds, averaged=False)
    evs = by_name(build_evaluators(model.evaluators, [], model=model))
    for feed in feeds:
        out = trainer.net.forward(feed, fetch=["p", "y", "q", "w"])
        for ev in evs.values():
            ev.add(out, feed)
    assert test["auc"] == pytest.approx(evs["auc"].value())
    assert test["pn"] == pytest.approx(evs["pn"].value())
    assert test["s"] == pytest.approx(evs["s"].value())
    text = stream.getvalue()
    assert "layer=p row max id vector:" in text and "Printer=" in text
    assert "auc " in text


def test_clear_errors():
    model = config().model_config
    bad = model.model_copy(deep=True)
    pr = next(e for e in bad.evaluators if e.name == "pr2")
    pr.positive_label = 5
    with pytest.raises(ConfigError, match="positive_label 5 is outside"):
        build_evaluators(bad.evaluators, [], model=bad)

    def net():
        from minipaddle import data_layer, precision_recall_evaluator
        precision_recall_evaluator(input=data_layer(name="a", size=3),
                                   label=data_layer(name="b", size=1), positive_label=3)

    with pytest.raises(ConfigError, match=r"positive_label=3: must be a class of the input"):
        mp.parse_config(net)

    def weighted():
        from minipaddle import auc_evaluator, data_layer
        auc_evaluator(input=data_layer(name="a", size=2), label=data_layer(name="b", size=1),
                      weight=data_layer(name="c", size=2))

    with pytest.raises(ConfigError, match="weight=layer 'c': must have size 1"):
        mp.parse_config(weighted)
    assert counts_of([]) == []
