"""LayerOutput, the DSL-function decorator and the argument validation shared by every layer.

Every DSL function is declared with type annotations; :func:`dsl_function` turns the annotations
into one strict pydantic model per function, validates each call against it and reports
failures in our words: the function, the layer's name, the argument, the value, what was
expected, and the file and line of the user's call.  The decorated functions also form the
registry the YAML model-zoo reader looks names up in (:data:`REGISTRY`).
"""

from __future__ import annotations

import functools
import inspect
from typing import Annotated, Any, Callable, Optional, Union

from pydantic import (
    AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, ValidationError,
    create_model,
)

from ..config import ConfigError, LayerConfig, ParameterConfig
from .activations import BaseActivation, activation_by_name
from .calls import _CALL, DATA_SOURCE, _Call, close_match, user_frame
from .context import current

#: name -> DSL function (layers, networks, settings helpers): what a YAML entry may call.
REGISTRY: dict[str, Callable[..., Any]] = {}


class LayerOutput(BaseModel):
    """What every layer function returns: the layer's name, type, sizes and activation.

    ``parents`` is kept for walking the graph but stays out of ``repr``, equality and dumps (on
    a deep residual network those would otherwise cost exponential time).  ``layer_type`` is
    the Python-side type Paddle's helpers returned, which may differ from the emitted
    LayerConfig type: an img_conv_layer called without ``layer_type`` says ``conv`` (``convt``
    when ``trans``) whether it emitted ``exconv`` or ``cudnn_conv``; one called with it says
    that type.  bilinear_interp_layer checks it (its input must be a ``conv``).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    name: str
    layer_type: str
    parents: list["LayerOutput"] = Field(default_factory=list, exclude=True, repr=False)
    size: Optional[int] = None
    num_filters: Optional[int] = None
    height: Optional[int] = None
    width: Optional[int] = None
    activation: Optional[BaseActivation] = None

    _config: Optional[LayerConfig] = PrivateAttr(default=None)
    _parameters: list[ParameterConfig] = PrivateAttr(default_factory=list)
    _seq: int = PrivateAttr(default=0)
    _evaluators: list = PrivateAttr(default_factory=list)

    @property
    def config(self) -> Optional[LayerConfig]:
        """The LayerConfig this call emitted (None for helper-only outputs)."""
        return self._config

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LayerOutput):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    __hash__ = object.__hash__

    # ``a + b``, ``a - b``, ``a * b``, ``-a`` (with layers or numbers) are Paddle's layer_math:
    # dsl/layers/mixed.py installs them here, as Paddle's layer_math module did.


# ---------------------------------------------------------------------------------------------
# Argument types


def _pair(value: Any) -> Any:
    if isinstance(value, (list, tuple)) and len(value) != 2:
        raise ValueError(f"a sequence here must have 2 items (x, y), got {len(value)}")
    return value


def _activation(value: Any) -> Any:
    if isinstance(value, str):
        return activation_by_name(value)
    if isinstance(value, type) and issubclass(value, BaseActivation):
        return value()
    return value


#: Paddle's config stores filter sizes, strides, paddings, channel and filter counts as
#: uint32: larger values are refused at the call rather than overflowing later.
UINT32_MAX = 2 ** 32 - 1
PosInt = Annotated[int, Field(gt=0, le=UINT32_MAX)]
NonNegInt = Annotated[int, Field(ge=0, le=UINT32_MAX)]
#: a layer size (uint64 in Paddle): bounded where the layer is made (make_output)
Size = Annotated[int, Field(gt=0)]
PosIntOrPair = Annotated[Union[PosInt, tuple[PosInt, ...], list[PosInt]], AfterValidator(_pair)]
NonNegIntOrPair = Annotated[Union[NonNegInt, tuple[NonNegInt, ...], list[NonNegInt]],
                            AfterValidator(_pair)]
Activation = Annotated[BaseActivation, BeforeValidator(_activation)]
Layers = Union[LayerOutput, list[LayerOutput], tuple[LayerOutput, ...]]


def build_from_mapping(cls: type, arguments: Any, what: Optional[str] = None) -> Any:
    """``cls(**arguments)`` for a YAML mapping, refusing unknown or missing keys clearly."""
    what = what or cls.__name__
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise ValueError(f"{what} takes a mapping of arguments, got {type(arguments).__name__}")
    params = inspect.signature(cls.__init__).parameters
    known = [p for p in params if p != "self"]
    for key in arguments:
        if key not in known:
            raise ValueError(f"unknown key {key!r} for {what}{close_match(str(key), known)}; "
                             f"known: {', '.join(known) or 'none'}")
    missing = [p.name for p in params.values() if p.name != "self"
               and p.default is inspect.Parameter.empty and p.name not in arguments]
    if missing:
        raise ValueError(f"{what} needs {', '.join(repr(m) for m in missing)}")
    return cls(**arguments)


def as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def split_pair(value: Any, y_value: Any = None) -> tuple[int, int]:
    """An int or (x, y) pair plus an optional ``_y`` override to (x, y); the ``_y`` value wins."""
    if isinstance(value, (list, tuple)):
        x, y = value
    else:
        x = y = value
    if y_value is not None:
        y = y_value
    return x, y


# ---------------------------------------------------------------------------------------------
# Error reporting


def _who(call: Optional[_Call]) -> str:
    if call is None:
        return "config"
    return f"{call.function} {call.layer!r}" if call.layer else call.function


def big_int(n: int) -> str:
    """``n`` with thousands separators, or its size when Python refuses to print it."""
    if abs(n) < 10 ** 60:
        return f"{n:,}"
    return f"an integer of about {int(abs(n).bit_length() * 0.30103) + 1} digits"


def _show(value: Any) -> str:
    if isinstance(value, LayerOutput):
        return f"layer {value.name!r}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** 60:
        return big_int(value)
    if isinstance(value, BaseModel):
        return type(value).__name__
    if isinstance(value, (list, tuple)) and any(isinstance(v, LayerOutput) for v in value):
        text = "[" + ", ".join(_show(v) for v in value) + "]"
        return text if len(text) <= 80 else text[:77] + "..."
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def fail(argument: Optional[str], value: Any, expected: str) -> ConfigError:
    """A ConfigError for the current call: '<function> '<layer>': argument=value: expected'.

    Returned, not raised, so call sites read ``raise fail(...)``.
    """
    call = _CALL.get()
    if argument is None:
        message = f"{_who(call)}: {expected}"
    else:
        message = f"{_who(call)}: {argument}={_show(value)}: {expected}"
    return ConfigError(message, layer=call.layer if call else None, argument=argument)


def _expected(msg: str) -> str:
    if msg.startswith("Input should be "):
        msg = msg[len("Input should be "):]
        if msg.startswith(("greater", "less")):
            msg = "a value " + msg
        return "expected " + msg
    if msg.startswith("Value error, "):
        return msg[len("Value error, "):]
    return msg[0].lower() + msg[1:] if msg else msg


def _translate(function: str, layer: Optional[str], err: ValidationError) -> ConfigError:
    """The most telling pydantic error of a call in our words."""
    errors = err.errors()
    # For a union, pydantic reports one error per member; the member that got furthest (longest
    # location) says most, and plain type mismatches say least.
    by_arg: dict[Any, list] = {}
    for e in errors:
        by_arg.setdefault(e["loc"][0] if e["loc"] else None, []).append(e)
    arg, errs = next(iter(by_arg.items()))
    best = max(errs, key=lambda e: (len(e["loc"]), not e["type"].endswith("_type")))
    value = best.get("input")
    reason = _expected(best["msg"])
    if len(errs) > 1 and all(e["type"].endswith("_type") or e["type"] in ("is_instance_of",)
                             for e in errs):
        kinds = list(dict.fromkeys(_kind(e) for e in errs))
        reason = f"expected {' or '.join(kinds)}, got {type(value).__name__}"
    where = "".join(f"[{p}]" if isinstance(p, int) else "" for p in best["loc"][1:])
    who = f"{function} {layer!r}" if layer else function
    return ConfigError(f"{who}: {arg}{where}={_show(value)}: {reason}", layer=layer,
                       argument=str(arg))


def _kind(e: dict) -> str:
    t = e["type"]
    ctx = e.get("ctx") or {}
    if t == "is_instance_of":
        return "a " + ctx.get("class", "object")
    if t == "model_type":
        return "a " + ctx.get("class_name", "model")
    table = {"int_type": "an int", "float_type": "a number", "string_type": "a string",
             "bool_type": "a bool", "list_type": "a list", "tuple_type": "a list",
             "dict_type": "a mapping", "none_required": "None"}
    return table.get(t, t.replace("_type", ""))


# ---------------------------------------------------------------------------------------------
# The decorator


def dsl_function(prefix: Optional[str] = None, *, named: bool = True, layer: bool = True,
                 old_names: Optional[dict[str, str]] = None,
                 ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a DSL function.

    * ``named``: the function takes ``name``; when it is None an automatic name
      ``__<prefix>_<k>__`` is drawn from a per-prefix counter (prefix defaults to the function's
      ``__name__``), exactly as Paddle's ``wrap_name_default``.
    * arguments are validated against the annotations (strict: no str->int coercion).
    * ``layer``: the call creates a layer called ``name``; a name already in use is refused
      before anything is created.
    * any ConfigError raised inside gets the user's ``file:line``.
    * ``old_names``: argument names of older Paddle versions -> today's, refused naming
      today's.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(fn)
        hints = inspect.get_annotations(fn, eval_str=True)
        fields: dict[str, Any] = {}
        for pname, param in sig.parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(f"DSL function {fn.__name__} may not take *args or **kwargs")
            default = ... if param.default is inspect.Parameter.empty else param.default
            fields[pname] = (hints.get(pname, Any), default)
        args_model = create_model(
            f"{fn.__name__}_arguments",
            __config__=ConfigDict(strict=True, arbitrary_types_allowed=True, extra="forbid"),
            **fields)
        name_prefix = prefix or fn.__name__
        required = [p.name for p in sig.parameters.values()
                    if p.default is inspect.Parameter.empty]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            given = kwargs.get("name")
            call = _Call(fn.__name__, given if isinstance(given, str) else None)
            token = _CALL.set(call)
            try:
                if len(args) > len(required):
                    raise fail(None, None, f"takes at most {len(required)} positional "
                               f"argument(s) ({', '.join(required)}); pass the others by "
                               "keyword (Paddle: 'Must use keyword arguments for "
                               "non-positional args')")
                unknown = [k for k in kwargs if k not in fields]
                if unknown and unknown[0] in (old_names or {}):
                    new = old_names[unknown[0]]
                    raise fail(unknown[0], kwargs[unknown[0]], f"an older Paddle spelling; "
                               f"today {fn.__name__} takes {new}={kwargs[unknown[0]]!r}")
                if unknown:
                    raise fail(None, None, f"unknown argument {unknown[0]!r}"
                               f"{close_match(unknown[0], fields)}; known arguments: "
                               f"{', '.join(fields)}")
                try:
                    arguments = sig.bind(*args, **kwargs).arguments
                except TypeError as err:
                    raise fail(None, None, _bind_message(err)) from None
                if named and "name" in fields and arguments.get("name") is None:
                    arguments["name"] = current().auto_name(name_prefix)
                if isinstance(arguments.get("name"), str):
                    call.layer = arguments["name"]
                    existing = current().layers.get(call.layer) if layer else None
                    if existing is not None:
                        err = fail(None, None, f"duplicate layer name {call.layer!r}: a layer "
                                   f"of type {existing.type!r} already has it; give each "
                                   "layer a unique name")
                        err.argument = "name"
                        raise err
                try:
                    validated = args_model.model_validate(arguments)
                except ValidationError as err:
                    raise _translate(fn.__name__, call.layer, err) from None
                return fn(**{k: getattr(validated, k) for k in fields})
            except ConfigError as err:
                location = None if DATA_SOURCE.get() else user_frame()
                raise (err.located(location) if location else err) from None
            finally:
                _CALL.reset(token)

        REGISTRY[fn.__name__] = wrapper
        return wrapper

    return decorate


class dsl_call:  # noqa: N801 - used like a function: ``with dsl_call("Layer", name):``
    """The context of a DSL call not declared with :func:`dsl_function` (Paddle's raw
    config-parser forms take ``**kwargs``): :func:`fail` names the call, and a ConfigError
    raised inside gets the user's ``file:line``."""

    def __init__(self, function: str, layer: Optional[str] = None):
        self.call = _Call(function, layer)

    def __enter__(self) -> _Call:
        self._token = _CALL.set(self.call)
        return self.call

    def __exit__(self, kind: Any, err: Any, tb: Any) -> bool:
        _CALL.reset(self._token)
        if isinstance(err, ConfigError) and not DATA_SOURCE.get():
            location = user_frame()
            if location:
                err.located(location)
        return False


def _bind_message(err: TypeError) -> str:
    text = str(err)
    if text.startswith("missing a required argument: "):
        return f"missing required argument {text.split(': ', 1)[1]}"
    return text


def make_output(config: LayerConfig, parents: list[LayerOutput], layer_type: str,
                activation: Optional[BaseActivation] = None, num_filters: Optional[int] = None,
                parameters: Optional[list[ParameterConfig]] = None,
                size_argument: Optional[str] = "size",
                output: Optional[LayerOutput] = None) -> LayerOutput:
    """Register an emitted LayerConfig in the current context and wrap it in a LayerOutput
    (``output``: fill in this one, made before its config, as a ``with mixed_layer()``).

    height/width are read back from the emitted config, as Paddle's helpers did.
    """
    ctx = current()
    for parent in parents:
        if parent.layer_type == "mixed" and parent.config is None:
            raise fail("input", parent, "this mixed layer is not written yet: it is written "
                       "when its with-block closes (or given input=); use it after that")
    if config.size is not None and config.size > 2 ** 63 - 1:
        reason = (f"layer {config.name!r} would have {big_int(config.size)} values per "
                  "sample, more than a config can describe (2**63 - 1)")
        raise (fail(size_argument, config.size, reason) if size_argument
               else fail(None, None, reason))
    if config.device is None:
        config.device = ctx.param_defaults["device"]        # default_device(...)
    for param in ctx.fresh_parameters:                      # Paddle: a layer's device
        if config.device is not None and param.device is None:  # is its parameters' too
            param.device = config.device
    ctx.fresh_parameters.clear()
    fields = dict(name=config.name, layer_type=layer_type, parents=list(parents),
                  size=config.size, num_filters=num_filters,
                  height=config.height or None, width=config.width or None,
                  activation=activation)
    if output is None:
        out = LayerOutput(**fields)
    else:
        out = output
        for key, value in fields.items():
            setattr(out, key, value)
    out._config = config
    out._parameters = list(parameters or [])
    out._seq = ctx.seq()
    ctx.add_layer(config, out)
    return out
