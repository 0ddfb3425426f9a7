"""SSD detection: priorbox, multibox_loss, detection_output (kernels/detection.py).

The priors are a constant of the geometry: every sample's row holds the same
``(P * 8)`` numbers (Paddle's layer had one row for the batch).  The multibox loss gives every
sample the batch's loss and takes no gradient into the priors or the label.  The detection
output is dense: per image ``keep_top_k`` rows of 7, the unused ones ``[image, -1, 0, ...]``.
"""

from __future__ import annotations

import numpy as np

from ...config import ConfigError
from ...kernels import detection as K
from ..backend import to_host
from ..registry import register
from .base import RuntimeLayer


@register("priorbox")
class PriorBoxLayer(RuntimeLayer):
    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        feature, image = self.input_shapes
        if len(feature) != 3 or len(image) != 3:
            raise ConfigError(f"layer {config.name!r}: priorbox needs an image feature map "
                              f"and an image data layer with height and width; got shapes "
                              f"{feature} and {image}")
        conf = config.inputs[0].priorbox_conf
        self.priors = K.prior_boxes(feature[1:], image[1:], conf.min_size, conf.max_size,
                                    conf.aspect_ratio, conf.variance, dtype=np.float64)
        if self.priors.size != config.size:
            raise ConfigError(f"layer {config.name!r}: its {self.priors.size} prior values "
                              f"differ from its size {config.size}")
        self._cache: dict = {}

    def forward(self, xs, params, p):
        dtype = xs[0].dtype
        key = (dtype.str, id(p.xp))
        if key not in self._cache:
            self._cache[key] = p.xp.asarray(self.priors.reshape(1, -1).astype(dtype))
        return p.xp.broadcast_to(self._cache[key], (xs[0].shape[0], self.priors.size)).copy()

    def backward(self, xs, z, dz, params, grads, p):
        return [None, None]


class _Boxes(RuntimeLayer):
    """The loc and conf inputs of a multibox_loss or detection_output layer."""

    #: index of the first loc input
    first_loc = 1

    def _setup(self, conf) -> None:
        k, self.num_classes = conf.input_num, conf.num_classes
        first = self.first_loc
        self.loc_shapes = [self._chw(s, conf) for s in self.input_shapes[first:first + k]]
        self.conf_shapes = [self._chw(s, conf) for s in
                            self.input_shapes[first + k:first + 2 * k]]
        priors = self.input_shapes[0][0] // 8
        locs = sum(c * h * w for c, h, w in self.loc_shapes)
        confs = sum(c * h * w for c, h, w in self.conf_shapes)
        if locs != priors * 4 or confs != priors * self.num_classes:
            raise ConfigError(
                f"layer {self.name!r}: the priorbox input {self.input_names[0]!r} holds "
                f"{priors} priors, which need {priors * 4} location values and "
                f"{priors * self.num_classes} confidence values ({self.num_classes} classes) "
                f"per sample; the inputs give {locs} and {confs}")
        self.num_priors = priors

    @staticmethod
    def _chw(shape, conf):
        if len(shape) == 3:
            return shape
        h, w = conf.get("height"), conf.get("width")
        return (shape[0] // (h * w), h, w)

    def _gather(self, xs, p):
        n, k, first = xs[0].shape[0], len(self.loc_shapes), self.first_loc
        locs = [x.reshape((n,) + s) for x, s in zip(xs[first:first + k], self.loc_shapes)]
        confs = [x.reshape((n,) + s) for x, s in
                 zip(xs[first + k:first + 2 * k], self.conf_shapes)]
        loc = K.gather_nhwc(locs, p.xp).reshape(n, self.num_priors, 4)
        conf = K.gather_nhwc(confs, p.xp).reshape(n, self.num_priors, self.num_classes)
        return loc, conf

    def _priors(self, xs):
        return to_host(xs[0][0]).astype(np.float64).reshape(-1, 8)


@register("multibox_loss")
class MultiBoxLossLayer(_Boxes):
    is_cost = True
    first_loc = 2

    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        self.conf = config.inputs[0].multibox_loss_conf
        self._setup(self.conf)

    def forward(self, xs, params, p):
        loc, conf = self._gather(xs, p)
        c = self.conf
        gts = K.ground_truth_rows(to_host(xs[1]))
        self._check_labels(gts)
        loss, state = K.multibox_loss_forward(
            loc, conf, self._priors(xs), gts, c.num_classes, c.overlap_threshold,
            c.neg_pos_ratio, c.neg_overlap, c.background_id, xp=p.xp)
        self.cache = {"state": state, "loc": loc.shape, "conf": conf.shape}
        return p.xp.zeros((loc.shape[0], 1), dtype=loc.dtype) + loss

    def _check_labels(self, gts) -> None:
        """Ground-truth rows fed with a class outside [0, num_classes) or an empty box would
        index past the scores or take log(0): named here, before any arithmetic."""
        for n, rows in enumerate(gts):
            bad = ((rows[:, 0] != np.floor(rows[:, 0])) | (rows[:, 0] >= self.num_classes)
                   | (rows[:, 3] <= rows[:, 1]) | (rows[:, 4] <= rows[:, 2]))
            if bad.any():
                row = rows[np.flatnonzero(bad)[0]]
                raise ValueError(
                    f"layer {self.name!r}: sample {n} of label {self.input_names[1]!r} has the "
                    f"ground-truth row {[float(v) for v in row]}; expected [label, xmin, ymin, "
                    f"xmax, ymax, difficult] with an integer label in [0, {self.num_classes}) "
                    "and xmin < xmax, ymin < ymax (a negative label marks padding)")

    def backward(self, xs, z, dz, params, grads, p):
        # Paddle's layer ignores its output gradient (every row reports the batch's loss and
        # the gradient is that of the loss once); we scale by the mean output gradient, which
        # is 1 when backward() seeds the costs with ones
        scale = float(to_host(dz).mean())
        dloc, dconf = K.multibox_loss_backward(self.cache["state"], self.cache["loc"],
                                               self.cache["conf"], xs[2].dtype, scale,
                                               xp=p.xp)
        n = dz.shape[0]
        locs = K.scatter_nhwc(dloc.reshape(n, -1), self.loc_shapes)
        confs = K.scatter_nhwc(dconf.reshape(n, -1), self.conf_shapes)
        first = self.first_loc
        grads_in = [g.reshape(x.shape) for g, x in zip(locs + confs, xs[first:])]
        return [None, None] + grads_in


@register("detection_output")
class DetectionOutputLayer(_Boxes):
    first_loc = 1

    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        self.conf = config.inputs[0].detection_output_conf
        self._setup(self.conf)

    def forward(self, xs, params, p):
        loc, conf = self._gather(xs, p)
        c = self.conf
        rows = K.detection_output(to_host(loc), to_host(conf), self._priors(xs),
                                  c.num_classes, c.background_id, c.confidence_threshold,
                                  c.nms_top_k, c.nms_threshold, c.keep_top_k)
        n = loc.shape[0]
        out = np.zeros((n, c.keep_top_k, 7), dtype=np.float64)
        out[:, :, 0] = np.arange(n)[:, None]
        out[:, :, 1] = -1
        for i, r in enumerate(rows):
            out[i, :len(r)] = r
        return p.xp.asarray(out.reshape(n, -1).astype(loc.dtype))

    def backward(self, xs, z, dz, params, grads, p):
        return [None] * len(xs)
