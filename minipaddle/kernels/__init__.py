"""Floor 0: how a layer computes. Pure functions on arrays, written against an array module
(``xp``: NumPy by default, CuPy later) so CPU and GPU share the maths. No config objects, no
state, no threads: scheduling (batch chunks, worker threads, reused buffers) belongs to the
runtime's backend. Imports numpy only.

Conventions: images are NCHW; every per-axis argument is a ``(h, w)`` pair (y first);
backward functions take the forward's inputs (and output where useful) plus the output
gradient and return input gradients; nothing is modified in place unless a function says so.
"""
