"""Paddle's v2 API (0.11) on minipaddle: ``import minipaddle.v2 as paddle``.

A thin layer over the floors below: v2 layers are the DSL's ``LayerOutput`` objects, v2
optimizers are ``settings()``, ``trainer.SGD`` drives the Trainer's loop, ``parameters`` speaks
Paddle's tar format.  ``minipaddle run PROGRAM.py`` runs a program written for
``import paddle.v2 as paddle`` unchanged.  docs/v2.md describes every module and each place
where minipaddle differs from Paddle.
"""

from __future__ import annotations

from . import (
    activation, attr, config_base, data_type, dataset, evaluator, event, image, inference,
    layer, minibatch, networks, optimizer, parameters, plot, pooling, reader, topology, trainer,
)
from ._flags import init
from ._names import missing_attribute
from .inference import infer
from .minibatch import batch

__all__ = ["optimizer", "layer", "activation", "parameters", "init", "trainer", "event",
           "data_type", "topology", "networks", "evaluator", "dataset", "reader", "plot",
           "attr", "pooling", "inference", "minibatch", "image", "infer", "batch",
           "config_base"]

__getattr__ = missing_attribute(__name__, __all__, paddle_names=(
    "op", "master", "data_feeder", "default_startup_program", "default_main_program"))
