"""``paddle.data_type``: the input types of data layers (PyDataProvider2's ``InputType``).

``dense_vector(784)`` is a slot of 784 floats, ``integer_value(10)`` an integer in [0, 10) and a
data layer of size 10 (the value range, as in Paddle).  The sparse types are fed as dense rows
(minipaddle has no sparse matrices); the sequence types exist so that programs can name them,
and a data layer of one fails with a clear "not implemented" error.
"""

from __future__ import annotations

from ._names import missing_attribute


class SequenceType:
    NO_SEQUENCE = 0
    SEQUENCE = 1
    SUB_SEQUENCE = 2


class DataType:
    Dense = 0
    SparseNonValue = 1
    SparseValue = 2
    Index = 3


_TYPE_NAMES = {DataType.Dense: "dense_vector", DataType.SparseNonValue: "sparse_binary_vector",
               DataType.SparseValue: "sparse_float_vector", DataType.Index: "integer_value"}
_SEQ_SUFFIX = {SequenceType.NO_SEQUENCE: "", SequenceType.SEQUENCE: "_sequence",
               SequenceType.SUB_SEQUENCE: "_sub_sequence"}


class InputType:
    """One data slot: ``dim`` values (the value range for integers), a sequence level and a
    data type.  Pickles as Paddle's (slots ``dim``, ``seq_type``, ``type``)."""

    __slots__ = ("dim", "seq_type", "type")

    def __init__(self, dim: int, seq_type: int, tp: int):
        if isinstance(dim, bool) or not isinstance(dim, int) or dim <= 0:
            raise ValueError(f"an input type needs a positive integer dimension, got {dim!r}")
        self.dim = dim
        self.seq_type = seq_type
        self.type = tp

    @property
    def name(self) -> str:
        """The constructor that makes this type, e.g. ``dense_vector``."""
        return _TYPE_NAMES.get(self.type, "input") + _SEQ_SUFFIX.get(self.seq_type, "")

    def __repr__(self) -> str:
        return f"{self.name}({self.dim})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, InputType):
            return NotImplemented
        return (self.dim, self.seq_type, self.type) == (other.dim, other.seq_type, other.type)

    def __hash__(self) -> int:
        return hash((self.dim, self.seq_type, self.type))

    def __getstate__(self) -> tuple:
        return (None, {"dim": self.dim, "seq_type": self.seq_type, "type": self.type})

    def __setstate__(self, state: tuple) -> None:
        slots = state[1] if isinstance(state, tuple) else state
        for key in self.__slots__:
            setattr(self, key, slots[key])


def dense_vector(dim: int, seq_type: int = SequenceType.NO_SEQUENCE) -> InputType:
    return InputType(dim, seq_type, DataType.Dense)


def dense_vector_sequence(dim: int) -> InputType:
    return dense_vector(dim, SequenceType.SEQUENCE)


def dense_vector_sub_sequence(dim: int) -> InputType:
    return dense_vector(dim, SequenceType.SUB_SEQUENCE)


def integer_value(value_range: int, seq_type: int = SequenceType.NO_SEQUENCE) -> InputType:
    return InputType(value_range, seq_type, DataType.Index)


def integer_value_sequence(value_range: int) -> InputType:
    return integer_value(value_range, SequenceType.SEQUENCE)


def integer_value_sub_sequence(value_range: int) -> InputType:
    return integer_value(value_range, SequenceType.SUB_SEQUENCE)


def sparse_binary_vector(dim: int, seq_type: int = SequenceType.NO_SEQUENCE) -> InputType:
    return InputType(dim, seq_type, DataType.SparseNonValue)


def sparse_binary_vector_sequence(dim: int) -> InputType:
    return sparse_binary_vector(dim, SequenceType.SEQUENCE)


def sparse_binary_vector_sub_sequence(dim: int) -> InputType:
    return sparse_binary_vector(dim, SequenceType.SUB_SEQUENCE)


def sparse_float_vector(dim: int, seq_type: int = SequenceType.NO_SEQUENCE) -> InputType:
    return InputType(dim, seq_type, DataType.SparseValue)


def sparse_float_vector_sequence(dim: int) -> InputType:
    return sparse_float_vector(dim, SequenceType.SEQUENCE)


def sparse_float_vector_sub_sequence(dim: int) -> InputType:
    return sparse_float_vector(dim, SequenceType.SUB_SEQUENCE)


dense_array = dense_vector
sparse_non_value_slot = sparse_binary_vector
sparse_value_slot = sparse_float_vector

__all__ = [
    "InputType", "dense_array", "dense_vector", "dense_vector_sequence",
    "dense_vector_sub_sequence", "integer_value", "integer_value_sequence",
    "integer_value_sub_sequence", "sparse_binary_vector", "sparse_binary_vector_sequence",
    "sparse_binary_vector_sub_sequence", "sparse_float_vector", "sparse_float_vector_sequence",
    "sparse_float_vector_sub_sequence", "sparse_non_value_slot", "sparse_value_slot",
]

__getattr__ = missing_attribute(__name__, __all__)
