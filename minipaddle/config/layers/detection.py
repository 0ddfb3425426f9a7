"""SSD detection: priorbox, multibox_loss and detection_output (no parameters, flat
outputs: the priors ``(size,)``, the loss ``(1,)``, the detections ``(keep_top_k * 7,)``)."""

from __future__ import annotations

from . import declare, flat_shape

# the priorbox layer's config carries no height/width; its rows are 8 numbers per prior
declare("priorbox", output_shape=flat_shape, display="detection")
declare("multibox_loss", output_shape=flat_shape, display="detection")
declare("detection_output", output_shape=flat_shape, display="detection")
