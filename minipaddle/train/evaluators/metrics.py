"""Paddle's metric evaluators beyond classification_error, with its arithmetic
(``paddle/gserver/evaluators/Evaluator.cpp``): ``last-column-auc`` (binned AUC),
``precision_recall``, ``pnpair``, ``sum`` and ``last-column-sum``."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...config import ConfigError, EvaluatorConfig
from . import Evaluator, register_evaluator


def _rows(value: Any) -> np.ndarray:
    a = np.asarray(value)
    return a.reshape(a.shape[0], -1)


def _column(value: Any) -> np.ndarray:
    return np.asarray(value).reshape(-1)


def _inputs(config: EvaluatorConfig, least: int, most: int, what: str) -> list[str]:
    n = len(config.input_layers)
    if not least <= n <= most:
        raise ConfigError(f"evaluator {config.name!r} ({config.type}): {n} input layers, "
                          f"expected {what}")
    return list(config.input_layers)


class _Metric(Evaluator):
    """Named after its config (Paddle printed ``<config name>=<value>``); reads every input
    layer from the fetched outputs."""

    def __init__(self, config: EvaluatorConfig, inputs: list[str]):
        self.config = config
        self.name = config.name
        self.inputs = inputs


#: Paddle's AucEvaluator::kBinNum_ (2^24 - 1): a prediction p falls in bin int(p * kBinNum)
AUC_BINS = (1 << 24) - 1


@register_evaluator("last-column-auc")
class Auc(_Metric):
    """Paddle's binned AUC of the last column against labels (0 negative, anything else
    positive), weighted by an optional weight input.  Records: (bin, positive weight,
    negative weight) per sample."""

    def __init__(self, config: EvaluatorConfig):
        names = _inputs(config, 2, 3, "output, label and an optional weight")
        super().__init__(config, names)
        self.output, self.label = names[:2]
        self.weight = names[2] if len(names) > 2 else None
        self.reset()

    def reset(self) -> None:
        self.records = np.zeros((0, 3))

    def add(self, outputs, labels) -> None:
        # Paddle: real value (float32) times the bin count, truncated to uint32
        score = _rows(outputs[self.output])[:, -1].astype(np.float32)
        if score.size and (score.min() < 0 or score.max() > 1):
            bad = score[(score < 0) | (score > 1)][0]
            raise ValueError(f"evaluator {self.name!r} (auc): prediction {float(bad)} of "
                             f"{self.output!r} is outside [0, 1]")
        bins = np.trunc(score * np.float32(AUC_BINS)).astype(np.float64)
        label = _column(outputs[self.label])
        w = (_column(outputs[self.weight]).astype(np.float64) if self.weight
             else np.ones(len(bins)))
        positive = label != 0
        self.add_records(np.stack([bins, np.where(positive, w, 0.0),
                                   np.where(positive, 0.0, w)], axis=1))

    def value(self) -> float:
        return auc_of_bins(self.records)


def auc_of_bins(records: np.ndarray) -> float:
    """Paddle's calcAuc over (bin, positive, negative) rows: walking the bins from the
    highest, the trapezoids between successive (negatives, positives) totals, divided by
    both totals (0 when either is 0)."""
    if not len(records):
        return 0.0
    bins, inverse = np.unique(records[:, 0], return_inverse=True)
    pos = np.bincount(inverse, weights=records[:, 1], minlength=len(bins))[::-1]
    neg = np.bincount(inverse, weights=records[:, 2], minlength=len(bins))[::-1]
    tot_pos = np.cumsum(pos)
    prev_pos = np.concatenate([[0.0], tot_pos[:-1]])
    area = float(np.sum(np.abs(neg) * (tot_pos + prev_pos) / 2.0))
    total_pos, total_neg = float(tot_pos[-1]), float(np.sum(neg))
    if total_pos > 0.0 and total_neg > 0.0:
        return area / total_pos / total_neg
    return 0.0


def _precision(tp: Any, fp: Any) -> Any:
    tp, fp = np.asarray(tp, dtype=float), np.asarray(fp, dtype=float)
    den = tp + fp
    return np.where((tp > 0) | (fp > 0), tp / np.where(den == 0, 1, den), 1.0)


def _f1(precision: float, recall: float) -> float:
    if precision > 0.0 or recall > 0.0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


@register_evaluator("precision_recall")
class PrecisionRecall(_Metric):
    """Per class TP/TN/FP/FN of the arg-max prediction against integer labels (weighted);
    reports Paddle's printed numbers: for ``positive_label`` its precision, recall and F1,
    else the macro averages (precision, recall, F1 of the two) and the micro precision."""

    def __init__(self, config: EvaluatorConfig, model: Any = None):
        names = _inputs(config, 2, 3, "output, label and an optional weight")
        super().__init__(config, names)
        self.output, self.label = names[:2]
        self.weight = names[2] if len(names) > 2 else None
        if model is None:
            raise ConfigError(f"evaluator {config.name!r}: precision_recall needs the model "
                              "(the number of classes)")
        self.classes = int(model.layer(self.output).size or 0)
        self.positive = config.get("positive_label")
        if self.positive != -1 and not 0 <= self.positive < self.classes:
            raise ConfigError(f"evaluator {config.name!r}: positive_label {self.positive} is "
                              f"outside [0, {self.classes})")
        self.fields = ("tp", "tn", "fp", "fn")
        self.reset()

    def reset(self) -> None:
        for f in self.fields:
            setattr(self, f, np.zeros(self.classes))

    def add(self, outputs, labels) -> None:
        scores = _rows(outputs[self.output])
        label = _column(outputs[self.label]).astype(np.int64)
        w = (_column(outputs[self.weight]).astype(np.float64) if self.weight
             else np.ones(len(label)))
        pred = scores.argmax(axis=1)
        right = pred == label
        np.add.at(self.tp, pred[right], w[right])
        np.add.at(self.fp, pred[~right], w[~right])
        np.add.at(self.fn, label[~right], w[~right])
        # every class not involved in a sample counts it as a true negative
        self.tn += w.sum()
        np.add.at(self.tn, pred, -w)
        np.add.at(self.tn, label[~right], -w[~right])

    def values(self) -> dict[str, float]:
        precision = _precision(self.tp, self.fp)
        recall = _precision(self.tp, self.fn)
        if self.positive != -1:
            p, r = float(precision[self.positive]), float(recall[self.positive])
            return {f"{self.name}.precision": p, f"{self.name}.recall": r,
                    f"{self.name}.F1-score": _f1(p, r)}
        macro_p, macro_r = float(precision.mean()), float(recall.mean())
        micro_p = float(_precision(self.tp.sum(), self.fp.sum()))
        return {f"{self.name}.macro-average-precision": macro_p,
                f"{self.name}.macro-average-recall": macro_r,
                f"{self.name}.macro-average-F1-score": _f1(macro_p, macro_r),
                f"{self.name}.micro-average-precision": micro_p}

    def value(self) -> float:
        """The F1 score (of ``positive_label``, else of the macro averages)."""
        return [v for k, v in self.values().items() if k.endswith("F1-score")][0]


@register_evaluator("pnpair")
class Pnpair(_Metric):
    """Positive/negative pair ratio: over pairs of samples of the same query (query ids
    from the third input) whose labels differ, a pair is positive when the last output
    column orders them as the labels do, negative when reversed (a tie counts as neither);
    the pair weight is the mean of the two sample weights.  Records: (output, label, query,
    weight) per sample."""

    def __init__(self, config: EvaluatorConfig):
        names = _inputs(config, 3, 4, "output, label, query id and an optional weight")
        super().__init__(config, names)
        self.output, self.label, self.query = names[:3]
        self.weight = names[3] if len(names) > 3 else None
        self.reset()

    def reset(self) -> None:
        self.records = np.zeros((0, 4))

    def add(self, outputs, labels) -> None:
        out = _rows(outputs[self.output])[:, -1].astype(np.float64)
        label = _column(outputs[self.label]).astype(np.int64).astype(np.float64)
        query = _column(outputs[self.query]).astype(np.int64).astype(np.float64)
        w = (_column(outputs[self.weight]).astype(np.float64) if self.weight
             else np.ones(len(out)))
        self.add_records(np.stack([out, label, query, w], axis=1))

    def pairs(self) -> tuple[float, float, float]:
        """(positive, negative, special) pair weights over the records."""
        rec = self.records[np.argsort(self.records[:, 2], kind="stable")]
        pos = neg = special = 0.0
        starts = np.flatnonzero(np.diff(rec[:, 2], prepend=np.nan) != 0) if len(rec) else []
        for start, end in zip(starts, list(starts[1:]) + [len(rec)]):
            o, lab, w = rec[start:end, 0], rec[start:end, 1], rec[start:end, 3]
            upper = np.triu(np.ones((len(o), len(o)), dtype=bool), k=1)
            differ = upper & (lab[:, None] != lab[None, :])
            pw = (w[:, None] + w[None, :]) / 2.0
            agree = np.sign(o[:, None] - o[None, :]) * np.sign(lab[:, None] - lab[None, :])
            pos += float(pw[differ & (agree > 0)].sum())
            neg += float(pw[differ & (agree < 0)].sum())
            special += float(pw[differ & (agree == 0)].sum())
        return pos, neg, special

    def value(self) -> float:
        pos, neg, _ = self.pairs()
        return pos / (neg if neg > 0 else 1.0)


class _Sum(_Metric):
    def __init__(self, config: EvaluatorConfig):
        names = _inputs(config, 1, 2, "an input and an optional weight")
        super().__init__(config, names)
        self.input = names[0]
        self.weight = names[1] if len(names) > 1 else None
        self.fields = ("total", "count")
        self.reset()

    def reset(self) -> None:
        self.total, self.count = 0.0, 0.0

    def add(self, outputs, labels) -> None:
        values = _rows(outputs[self.input]).astype(np.float64)
        w = _column(outputs[self.weight]).astype(np.float64) if self.weight else None
        picked = self.picked(values)
        self.total += float((picked * w[:, None]).sum() if w is not None else picked.sum())
        self.count += float(w.sum()) if w is not None else float(len(values))

    def value(self) -> float:
        return self.total / self.count if self.count else 0.0


@register_evaluator("sum")
class Sum(_Sum):
    """The sum of the input's values (an id input: of its ids), weighted, per sample (per
    unit of weight)."""

    def picked(self, values: np.ndarray) -> np.ndarray:
        return values


@register_evaluator("last-column-sum")
class ColumnSum(_Sum):
    """The sum of the input's last column, weighted, per sample (per unit of weight)."""

    def picked(self, values: np.ndarray) -> np.ndarray:
        return values[:, -1:]
