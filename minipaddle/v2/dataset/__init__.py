"""``paddle.dataset``: mnist, cifar, uci_housing and flowers, read from Paddle's own cache
directory (``~/.cache/paddle/dataset``, or ``$MINIPADDLE_DATA_HOME``) with Paddle's file names
and md5 sums; see :mod:`.common` for downloads (opt-in) and the fallbacks."""

from __future__ import annotations

from .._names import missing_attribute
from . import cifar, common, flowers, mnist, uci_housing

__all__ = ["mnist", "cifar", "uci_housing", "flowers", "common"]

__getattr__ = missing_attribute(__name__, __all__, paddle_names=(
    "imikolov", "imdb", "movielens", "conll05", "sentiment", "wmt14", "wmt16", "mq2007",
    "voc2012"))
