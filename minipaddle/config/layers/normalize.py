"""Facts of the row normalisations ``sum_to_one_norm`` and ``row_l2_norm``: the defaults
(the input's size, no parameters) serve both; nothing to declare beyond the display name."""

from __future__ import annotations

from . import declare

declare("sum_to_one_norm", display="normalisation")
declare("row_l2_norm", display="normalisation")
