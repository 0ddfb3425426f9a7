"""Hand-derived field checks of tests/configs/cost_extra_evaluators.py (its golden YAML is
compared by test_goldens.py), a YAML model-zoo style load of the same layers, summary rows,
and a compile (label slots from the declared label inputs)."""

from __future__ import annotations

from pathlib import Path

import pytest

import minipaddle as mp
from minipaddle.config.summary import format_summary

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def model():
    return mp.parse_config(str(HERE / "cost_extra_evaluators.py")).model_config


def fields(message, **expected):
    got = {k: getattr(message, k) for k in expected}
    assert got == expected, message.name


def test_cost_and_norm_fields(model):
    fields(model.layer("__row_l2_norm_layer_0__"), type="row_l2_norm", size=3, active_type="")
    fields(model.layer("unit_sum"), type="sum_to_one_norm", size=3)
    fields(model.layer("__smooth_l1_cost_0__"), type="smooth_l1", size=1, coeff=1.0)
    fields(model.layer("__huber_regression_cost_0__"), type="huber_regression", size=1,
           coeff=2.0, delta=0.5)
    fields(model.layer("__huber_classification_cost_0__"), type="huber_classification",
           delta=None, coeff=1.0)
    fields(model.layer("__sum_cost_0__"), type="sum_cost", size=1, coeff=1.0)
    rank = model.layer("__rank_cost_0__")
    fields(rank, type="rank-cost", size=1, coeff=1.0)
    assert [i.input_layer_name for i in rank.inputs] == ["score", "other", "flag", "weight"]
    fields(model.layer("__multi_binary_label_cross_entropy_0__"),
           type="multi_binary_label_cross_entropy", size=1)
    fields(model.layer("__cross_entropy_with_selfnorm_0__"),
           type="multi_class_cross_entropy_with_selfnorm", size=None,
           softmax_selfnorm_alpha=0.2, coeff=1.0)
    assert not any(p.name.startswith("___") for p in model.parameters)   # costs: none


def test_evaluator_fields(model):
    evs = {e.name: e for e in model.evaluators}
    assert list(evs) == [
        "__auc_evaluator_0__", "__precision_recall_evaluator_0__", "__pnpair_evaluator_0__",
        "__sum_evaluator_0__", "last_column", "__value_printer_evaluator_0__",
        "__maxid_printer_evaluator_0__", "__maxframe_printer_evaluator_0__",
        "__classification_error_printer_evaluator_0__"]
    fields(evs["__auc_evaluator_0__"], type="last-column-auc", input_layers=["prob", "cls"])
    fields(evs["__precision_recall_evaluator_0__"], type="precision_recall", positive_label=1,
           input_layers=["prob", "cls", "weight"])
    fields(evs["__pnpair_evaluator_0__"], type="pnpair",
           input_layers=["score", "flag", "query"])
    fields(evs["last_column"], type="last-column-sum", input_layers=["prob", "weight"])
    fields(evs["__value_printer_evaluator_0__"], input_layers=["score", "other"])
    fields(evs["__maxid_printer_evaluator_0__"], type="max_id_printer", num_results=2)
    fields(evs["__maxframe_printer_evaluator_0__"], type="max_frame_printer", num_results=None)
    fields(evs["__classification_error_printer_evaluator_0__"],
           type="classification_error_printer", classification_threshold=0.5)
    # unset fields stay unset (Paddle wrote only those given)
    assert evs["__auc_evaluator_0__"].positive_label is None
    assert model.sub_models[0].evaluator_names == list(evs)


def test_summary_and_compile(model):
    rows = {line.split()[0]: line.split() for line in format_summary(model).splitlines()
            if line.strip() and not line.startswith(("-", "=", "layer", "total", "Total"))}
    assert rows["__cross_entropy_with_selfnorm_0__"][1:3] == [
        "multi_class_cross_entropy_with_selfnorm", "1"]
    assert rows["__row_l2_norm_layer_0__"][1:3] == ["row_l2_norm", "3"]
    net = mp.compile(model, dtype="float64")
    # cls: the selfnorm cost's and the evaluators' label (3 classes); flag, query: dense
    assert net.label_slots == {"cls": 3}


YAML = """\
schema_version: 1
kind: model
name: extra
layers:
  - data_layer: {name: x, size: 6}
  - data_layer: {name: t, size: 3}
  - data_layer: {name: c, size: 1}
  - fc_layer: {name: p, input: x, size: 3, act: sigmoid}
  - row_l2_norm_layer: {name: n, input: p}
  - smooth_l1_cost: {name: s, input: n, label: t}
  - cross_entropy_with_selfnorm: {name: e, input: p, label: c}
  - auc_evaluator: {input: p, label: c}
outputs: [s, e]
"""


def test_yaml_model_zoo_load(tmp_path):
    def dsl():
        from minipaddle import (
            SigmoidActivation, auc_evaluator, cross_entropy_with_selfnorm, data_layer,
            fc_layer, outputs, row_l2_norm_layer, smooth_l1_cost,
        )
        x = data_layer(name="x", size=6)
        t = data_layer(name="t", size=3)
        c = data_layer(name="c", size=1)
        p = fc_layer(name="p", input=x, size=3, act=SigmoidActivation())
        n = row_l2_norm_layer(name="n", input=p)
        auc_evaluator(input=p, label=c)
        outputs(smooth_l1_cost(name="s", input=n, label=t),
                cross_entropy_with_selfnorm(name="e", input=p, label=c))

    path = tmp_path / "extra.yaml"
    path.write_text(YAML)
    from_yaml = mp.parse_config(str(path)).model_config
    from_dsl = mp.parse_config(dsl).model_config
    assert from_yaml.layers == from_dsl.layers
    assert from_yaml.evaluators == from_dsl.evaluators
