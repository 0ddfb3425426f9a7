"""From DSL calls to a ModelConfig: outputs(), inputs(), data sources, and graph resolution."""

from __future__ import annotations

import difflib
import json
from typing import Any, Iterable, Optional, Union

from ..config import DataConfig, LayerConfig, ModelConfig, ParameterConfig, SubModelConfig
from ..config import ConfigError
from .base import LayerOutput, as_list, dsl_function
from .context import ParseContext, current


def data_layers_in_order(outputs: Iterable[LayerOutput],
                         visited: Optional[set[int]] = None) -> list[LayerOutput]:
    """Data layers reachable from ``outputs``, in the post-order of a depth-first walk over
    parents (Paddle's ``outputs()``).  Iterative, so deep networks cannot overflow the stack."""
    visited = set() if visited is None else visited
    found: list[LayerOutput] = []
    for root in outputs:
        stack: list[tuple[LayerOutput, int]] = [(root, 0)]
        while stack:
            node, i = stack.pop()
            if i == 0:
                if id(node) in visited:
                    continue
                visited.add(id(node))
            if i < len(node.parents):
                stack.append((node, i + 1))
                stack.append((node.parents[i], 0))
            elif node.layer_type == "data":
                found.append(node)
    return found


def _layer_list(function: str, layers: Any, args: tuple) -> list[LayerOutput]:
    result = as_list(layers) + list(args)
    for layer in result:
        if not isinstance(layer, LayerOutput):
            raise ConfigError(f"{function}: expected LayerOutputs returned by DSL calls, got "
                              f"{type(layer).__name__} {layer!r}", argument="layers")
    return result


def outputs(layers: Union[LayerOutput, list[LayerOutput]], *args: LayerOutput) -> None:
    """Declare the network's outputs; on the first call (without inputs()) the data layers
    they depend on become the inputs, in depth-first order."""
    layers = _layer_list("outputs", layers, args)
    ctx = current()
    if not ctx.input_layer_names:          # Paddle's HasInputsSet()
        ctx.input_layer_names = [d.name for d in data_layers_in_order(layers)]
    ctx.output_layer_names.extend(layer.name for layer in layers)


def inputs(layers: Union[LayerOutput, list[LayerOutput]], *args: LayerOutput) -> None:
    """Declare the network's input (data) layers explicitly, in data-provider order."""
    ctx = current()
    for layer in _layer_list("inputs", layers, args):
        if layer.layer_type != "data":
            raise ConfigError(f"inputs: {layer.name!r} is a {layer.layer_type!r} layer; "
                              "inputs() takes data layers", layer=layer.name,
                              argument="layers")
        ctx.input_layer_names.append(layer.name)


def _split_pair(value: Any) -> tuple[Any, Any]:
    """Paddle's ``__is_splitable__``: a list or tuple of two is (train, test)."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return value[0], value[1]
    return value, value


def _data_config(file_list: Any, module: str, obj: str, args: Any, for_test: bool,
                 kind: str = "py2", async_load: bool = False) -> DataConfig:
    if isinstance(file_list, (list, tuple)):
        files = ",".join(str(f) for f in file_list)
    else:
        files = str(file_list)
    if args is None:
        load_args = ""
    elif isinstance(args, str):
        load_args = args
    else:
        # Paddle pickled a dict here; JSON text is data, never code (docs/paddle_compat.md).
        load_args = json.dumps(args, sort_keys=True)
    return DataConfig(type=kind, files=files, async_load_data=async_load, for_test=for_test,
                      load_data_module=module, load_data_object=obj, load_data_args=load_args,
                      data_ratio=1, is_main_data=True, usage_ratio=current().usage_ratio)


@dsl_function(named=False)
def define_py_data_sources2(train_list: Any, test_list: Any,
                            module: Union[str, list[str], tuple[str, str]],
                            obj: Union[str, list[str], tuple[str, str]],
                            args: Any = None) -> None:
    """Record PyDataProvider2 sources as Paddle did.  minipaddle's trainer cannot run Python
    data providers (it says so when asked to); the record keeps such configs loadable.
    ``module``, ``obj`` and ``args`` may each be a (train, test) pair."""
    ctx = current()
    modules, objs, arg_list = (_split_pair(v) for v in (module, obj, args))
    if train_list is not None:
        ctx.data_config = _data_config(train_list, modules[0], objs[0], arg_list[0], False)
    if test_list is not None:
        ctx.test_data_config = _data_config(test_list, modules[1], objs[1], arg_list[1], True)


def _py_data_module(module: Any) -> str:
    """config_parser's PyData: a module named a second time in one config is loaded as a
    copy, ``<module>_copy_<k>`` (k: the modules named so far); minipaddle records the name
    and copies no file (docs/paddle_compat.md)."""
    names = current().py_module_names
    if module in names:
        module = f"{module}_copy_{len(names)}"
    names.append(module)
    return module


@dsl_function(named=False)
def define_py_data_sources(train_list: Any, test_list: Any,
                           module: Union[str, list[str], tuple[str, str]],
                           obj: Union[str, list[str], tuple[str, str]],
                           args: Any = None, train_async: bool = False,
                           data_cls: Any = None) -> None:
    """The older form of :func:`define_py_data_sources2`: Paddle's ``PyData`` sources (type
    ``py``), the training one loaded asynchronously when ``train_async``.  Recorded only, as
    the newer form is.  ``data_cls`` may only be Paddle's default, ``PyData`` (or None)."""
    if data_cls is not None and getattr(data_cls, "__name__", None) != "PyData":
        raise ConfigError(f"define_py_data_sources: data_cls={data_cls!r}: minipaddle records "
                          "PyData sources only; leave data_cls out (or use "
                          "define_py_data_sources2)", argument="data_cls")
    if train_list is None and test_list is None:
        raise ConfigError("define_py_data_sources: train_list and test_list are both None; "
                          "give at least one file list", argument="train_list")
    ctx = current()
    modules, objs, arg_list = (_split_pair(v) for v in (module, obj, args))
    if train_list is not None:
        ctx.data_config = _data_config(train_list, _py_data_module(modules[0]), objs[0],
                                       arg_list[0], False, kind="py", async_load=train_async)
    if test_list is not None:
        ctx.test_data_config = _data_config(test_list, _py_data_module(modules[1]), objs[1],
                                            arg_list[1], True, kind="py")


def build_model_config(layers: list[LayerConfig], parameters: list[ParameterConfig],
                       input_names: list[str], output_names: list[str],
                       evaluators: list) -> ModelConfig:
    layer_names = [layer.name for layer in layers]
    root = SubModelConfig(name="root", layer_names=layer_names,
                          input_layer_names=list(input_names),
                          output_layer_names=list(output_names),
                          evaluator_names=[e.name for e in evaluators],
                          is_recurrent_layer_group=False)
    return ModelConfig(type="nn", layers=list(layers), parameters=list(parameters),
                       input_layer_names=list(input_names),
                       output_layer_names=list(output_names), evaluators=list(evaluators),
                       sub_models=[root])


def model_config_of(ctx: ParseContext) -> ModelConfig:
    """Every layer and parameter the context created, in creation order (as Paddle did,
    unused layers included)."""
    check_declared_names(ctx)
    return build_model_config(list(ctx.layers.values()), list(ctx.parameters.values()),
                              ctx.input_layer_names, ctx.output_layer_names, ctx.evaluators)


def check_declared_names(ctx: ParseContext) -> None:
    """Paddle's end-of-parse checks of the names given to ``Inputs``/``Outputs`` (which may
    come before the layers): each is a layer, and each input a data layer."""
    for kind, name, where in ctx.declared_names:
        layer = ctx.layers.get(name)
        if layer is None:
            close = difflib.get_close_matches(name, list(ctx.layers), n=1)
            raise ConfigError(f"{kind}: no layer is named {name!r}"
                              f"{f' (did you mean {close[0]!r}?)' if close else ''}",
                              layer=name, where=where)
        if kind == "Inputs" and layer.type != "data":
            raise ConfigError(f"Inputs: {name!r} is a {layer.type!r} layer; inputs are data "
                              "layers", layer=name, where=where)


def resolve(outputs: Union[LayerOutput, list[LayerOutput]]) -> ModelConfig:
    """The ModelConfig of the layers ``outputs`` depend on, in creation order; inputs are the
    data layers in depth-first order, as ``outputs()`` declares them."""
    roots = as_list(outputs)
    for root in roots:
        if not isinstance(root, LayerOutput):
            raise ConfigError(f"cannot resolve {type(root).__name__!r}: expected LayerOutputs "
                              "returned by DSL calls")
    seen: dict[int, LayerOutput] = {}
    stack = list(roots)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen[id(node)] = node
        stack.extend(node.parents)
    ordered = sorted(seen.values(), key=lambda n: n._seq)
    names: dict[str, LayerOutput] = {}
    for node in ordered:
        if node.name in names and names[node.name] is not node:
            raise ConfigError(f"two different layers are both named {node.name!r}; layer "
                              "names must be unique within a network")
        names[node.name] = node
    params: dict[str, ParameterConfig] = {}
    evaluators = []
    for node in ordered:
        for p in node._parameters:
            params.setdefault(p.name, p)
        evaluators.extend(node._evaluators)
    inputs_ = [d.name for d in data_layers_in_order(roots)]
    return build_model_config([n.config for n in ordered if n.config is not None],
                              list(params.values()), inputs_, [r.name for r in roots],
                              evaluators)
