"""Facts of Paddle's ``detection_map`` evaluator: its label is the dense ground truth (rows of
6 numbers), not an integer label slot."""

from . import declare_evaluator

declare_evaluator("detection_map")
