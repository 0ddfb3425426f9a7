"""SSD detection as Paddle v1 shipped it: prior boxes, matching, the multibox loss, the
detection output (decode, per-class NMS, keep_top_k) and the detection mAP arithmetic
(Paddle's PriorBox.cpp, MultiBoxLossLayer.cpp, DetectionOutputLayer.cpp, DetectionUtil.cpp,
DetectionMAPEvaluator.cpp; the facts are listed in docs/layers.md, "Detection").

Boxes are ``[xmin, ymin, xmax, ymax]`` in image-normalised coordinates.  A prior row is
``[xmin, ymin, xmax, ymax, var0, var1, var2, var3]``; a ground-truth row is
``[label, xmin, ymin, xmax, ymax, difficult]``; a detection row is
``[image, label, score, xmin, ymin, xmax, ymax]``.

The dense arithmetic (the NCHW -> NHWC gathering, softmax, losses and their gradients) takes
the array module ``xp``; matching, hard-negative mining, NMS and mAP are sequential decisions
made on host NumPy arrays, as Paddle made them on the CPU (its GPU layers copied the data to
the host for them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

__all__ = [
    "prior_boxes", "aspect_ratios", "priors_per_location", "gather_nhwc", "scatter_nhwc",
    "jaccard", "iou_matrix", "match_boxes", "encode_boxes", "decode_boxes",
    "max_positive_scores", "ground_truth_rows", "MultiBoxState", "multibox_loss_forward",
    "multibox_loss_backward", "nms", "detection_output", "DetectionMAP", "average_precision",
]

#: Paddle stores an overlap only above this value (DetectionUtil.cpp, matchBBox)
OVERLAP_EPS = 1e-6


# ------------------------------------------------------------------------------- prior boxes

def aspect_ratios(aspect_ratio: Sequence[float]) -> list[float]:
    """Paddle's list: the given ratios, then their reciprocals ("flip"), then 1."""
    given = [float(np.float32(a)) for a in aspect_ratio]
    return given + [float(np.float32(1) / np.float32(a)) for a in given] + [1.0]


def priors_per_location(aspect_ratio: Sequence[float], max_size: Sequence[int]) -> int:
    """2 * len(aspect_ratio) + 1, plus one when a max size is given (the DSL's count)."""
    return 2 * len(aspect_ratio) + 1 + len(max_size)


def prior_boxes(layer_hw: tuple[int, int], image_hw: tuple[int, int],
                min_size: Sequence[int], max_size: Sequence[int],
                aspect_ratio: Sequence[float], variance: Sequence[float],
                dtype: Any = np.float32) -> np.ndarray:
    """The priors of one feature map, ``(H * W * priors_per_location, 8)``.

    Order: rows of the feature map, then columns, then per location, for each min size, its
    square and the squares of side ``int(sqrt(min_size * max_size))`` for each max size
    (truncated to an integer, as Paddle's ``int`` box width does), then one box per aspect
    ratio other than 1 (``min * sqrt(ar)`` wide, ``min / sqrt(ar)`` high, ``min`` the last min
    size) in :func:`aspect_ratios` order.  The DSL admits one min size and at most one max
    size, the only case whose box count matches the layer's size.  Centres are
    ``(w + 0.5) * image_w / layer_w``; coordinates are divided by the image size and clipped
    to [0, 1]; the variances are copied into every row.
    """
    lh, lw = layer_hw
    ih, iw = image_hw
    step_w, step_h = iw / lw, ih / lh
    ratios = [a for a in aspect_ratios(aspect_ratio) if abs(a - 1.0) >= 1e-6]
    sizes: list[tuple[float, float]] = []
    smallest = 0
    for lo in min_size:
        smallest = int(lo)
        sizes.append((smallest, smallest))
        for hi in max_size:
            side = int(math.sqrt(smallest * int(hi)))
            sizes.append((side, side))
    for a in ratios:
        sizes.append((smallest * math.sqrt(a), smallest / math.sqrt(a)))
    wh = np.asarray(sizes, dtype=np.float64)                       # (K, 2)
    cx = (np.arange(lw, dtype=np.float64) + 0.5) * step_w
    cy = (np.arange(lh, dtype=np.float64) + 0.5) * step_h
    cy, cx = np.meshgrid(cy, cx, indexing="ij")                     # (H, W)
    cx, cy = cx[:, :, None], cy[:, :, None]
    half_w, half_h = wh[:, 0] / 2.0, wh[:, 1] / 2.0
    box = np.stack([(cx - half_w) / iw, (cy - half_h) / ih,
                    (cx + half_w) / iw, (cy + half_h) / ih], axis=-1).reshape(-1, 4)
    box = np.clip(box, 0.0, 1.0)
    var = np.broadcast_to(np.asarray(variance, dtype=np.float64), box.shape)
    return np.concatenate([box, var], axis=1).astype(dtype)


# -------------------------------------------------------------------- NCHW <-> NHWC gathering

def gather_nhwc(inputs: Sequence[Any], xp: Any = np) -> Any:
    """Each ``(N, C, H, W)`` input transposed to NHWC and flattened, concatenated per sample:
    ``(N, sum C*H*W)`` (Paddle's appendWithPermute over the loc or conf inputs)."""
    n = inputs[0].shape[0]
    return xp.concatenate([x.transpose(0, 2, 3, 1).reshape(n, -1) for x in inputs], axis=1)


def scatter_nhwc(grad: Any, shapes: Sequence[tuple[int, int, int]]) -> list:
    """The inverse of :func:`gather_nhwc`: ``(N, total)`` back to one ``(N, C, H, W)`` array
    per input shape ``(C, H, W)``."""
    n = grad.shape[0]
    out, offset = [], 0
    for c, h, w in shapes:
        part = grad[:, offset:offset + c * h * w].reshape(n, h, w, c)
        out.append(part.transpose(0, 3, 1, 2))
        offset += c * h * w
    return out


# ------------------------------------------------------------------------- overlap, matching

def jaccard(a: Sequence[float], b: Sequence[float]) -> float:
    """Paddle's jaccardOverlap of two boxes: 0 when they are apart, else the intersection
    over the union (touching boxes give 0 through a zero-width intersection)."""
    if b[0] > a[2] or b[2] < a[0] or b[1] > a[3] or b[3] < a[1]:
        return 0.0
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    inter = iw * ih
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area_a + area_b - inter)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:func:`jaccard` of every row of ``a`` ``(P, 4)`` with every row of ``b`` ``(G, 4)``."""
    a = np.asarray(a, dtype=np.float64)[:, None, :]
    b = np.asarray(b, dtype=np.float64)[None, :, :]
    apart = ((b[..., 0] > a[..., 2]) | (b[..., 2] < a[..., 0])
             | (b[..., 1] > a[..., 3]) | (b[..., 3] < a[..., 1]))
    iw = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    ih = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    inter = iw * ih
    union = ((a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
             + (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1]) - inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(apart, 0.0, inter / np.where(apart, 1.0, union))
    return iou


def match_boxes(priors: np.ndarray, gts: np.ndarray,
                overlap_threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Paddle's matchBBox: ``(match (P,) int, overlap (P,))``, ``match[i]`` the ground-truth
    index of prior ``i`` or -1.

    Overlaps above 1e-6 are kept.  Bipartite step: while unmatched ground truths remain, the
    largest kept overlap between an unmatched prior and an unmatched ground truth (the first in
    prior-then-ground-truth order on ties) is matched.  Then each prior still unmatched takes
    its best kept ground truth when that overlap is >= ``overlap_threshold``.  ``overlap[i]``
    is the matched overlap, or for an unmatched prior its largest kept overlap (0 if none).
    """
    iou = iou_matrix(priors[:, :4], gts[:, :4])
    kept = iou > OVERLAP_EPS
    num_p, num_g = iou.shape
    match = np.full(num_p, -1, dtype=np.int64)
    overlap = np.where(kept, iou, 0.0).max(axis=1) if num_g else np.zeros(num_p)
    work = np.where(kept, iou, -1.0)
    for _ in range(num_g):
        flat = int(np.argmax(work))
        i, j = divmod(flat, num_g)
        if work[i, j] < 0:
            break
        match[i] = j
        overlap[i] = iou[i, j]
        work[i, :] = -1.0
        work[:, j] = -1.0
    rest = np.flatnonzero((match == -1) & kept.any(axis=1)) if num_g else np.zeros(0, int)
    if len(rest):
        cand = np.where(kept[rest], iou[rest], -1.0)
        best = np.argmax(cand, axis=1)
        value = cand[np.arange(len(rest)), best]
        ok = value >= overlap_threshold
        match[rest[ok]] = best[ok]
        overlap[rest[ok]] = value[ok]
    return match, overlap


def encode_boxes(priors: np.ndarray, gts: np.ndarray, xp: Any = np) -> Any:
    """Paddle's encodeBBoxWithVar: offsets of ``gts`` ``(K, 4)`` from ``priors`` ``(K, 8)``:
    centre offsets over the prior's size and the log size ratios, each over its variance."""
    pw, ph = priors[:, 2] - priors[:, 0], priors[:, 3] - priors[:, 1]
    pcx, pcy = (priors[:, 0] + priors[:, 2]) / 2, (priors[:, 1] + priors[:, 3]) / 2
    gw, gh = gts[:, 2] - gts[:, 0], gts[:, 3] - gts[:, 1]
    gcx, gcy = (gts[:, 0] + gts[:, 2]) / 2, (gts[:, 1] + gts[:, 3]) / 2
    return xp.stack([(gcx - pcx) / pw / priors[:, 4], (gcy - pcy) / ph / priors[:, 5],
                     xp.log(xp.abs(gw / pw)) / priors[:, 6],
                     xp.log(xp.abs(gh / ph)) / priors[:, 7]], axis=1)


def decode_boxes(priors: np.ndarray, loc: Any, xp: Any = np) -> Any:
    """Paddle's decodeBBoxWithVar: the boxes ``(..., 4)`` that offsets ``loc`` ``(..., P, 4)``
    describe relative to ``priors`` ``(P, 8)`` (not clipped)."""
    pw, ph = priors[:, 2] - priors[:, 0], priors[:, 3] - priors[:, 1]
    pcx, pcy = (priors[:, 0] + priors[:, 2]) / 2, (priors[:, 1] + priors[:, 3]) / 2
    cx = priors[:, 4] * loc[..., 0] * pw + pcx
    cy = priors[:, 5] * loc[..., 1] * ph + pcy
    w = xp.exp(priors[:, 6] * loc[..., 2]) * pw
    h = xp.exp(priors[:, 7] * loc[..., 3]) * ph
    return xp.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)


def max_positive_scores(conf: np.ndarray, background_id: int) -> np.ndarray:
    """Paddle's getMaxConfidenceScores: per prior, the softmax probability of its best
    non-background class, from raw scores ``conf`` ``(N, P, C)``."""
    conf = np.asarray(conf, dtype=np.float64)
    top = conf.max(axis=2, keepdims=True)
    positive = np.delete(conf, background_id, axis=2).max(axis=2)
    return np.exp(positive - top[..., 0]) / np.exp(conf - top).sum(axis=2)


def ground_truth_rows(label: np.ndarray, max_boxes: Optional[int] = None) -> list[np.ndarray]:
    """The ground-truth rows of each sample from the dense label form ``(N, max_boxes * 6)``:
    rows ``[label, xmin, ymin, xmax, ymax, difficult]``, a row with a negative label being
    padding (left out); the others keep their order."""
    rows = np.asarray(label, dtype=np.float64).reshape(label.shape[0], -1, 6)
    return [r[r[:, 0] >= 0] for r in rows]


# ------------------------------------------------------------------------------ multibox loss

@dataclass
class MultiBoxState:
    """What the backward pass of the multibox loss needs from the forward pass."""

    num_matches: int = 0
    #: (sample, prior) of each match, in Paddle's order (sample, then prior)
    pos: tuple = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    #: the matched predictions minus their encoded ground truths, (num_matches, 4)
    loc_diff: Any = None
    #: (sample, prior) of each confidence term: per sample its matches then its negatives
    conf_rows: tuple = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    #: the softmax of those rows and their target classes
    conf_prob: Any = None
    conf_target: Any = None
    loc_loss: float = 0.0
    conf_loss: float = 0.0
    negatives: list = field(default_factory=list)
    matches: list = field(default_factory=list)


def _softmax(x: Any, xp: Any) -> Any:
    e = xp.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def multibox_loss_forward(loc: Any, conf: Any, priors: np.ndarray, gts: list[np.ndarray],
                          num_classes: int, overlap_threshold: float, neg_pos_ratio: float,
                          neg_overlap: float, background_id: int,
                          xp: Any = np) -> tuple[Any, MultiBoxState]:
    """Paddle's MultiBoxLossLayer forward: ``(loss, state)``.

    ``loc`` ``(N, P, 4)`` and ``conf`` ``(N, P, C)`` are the gathered predictions (raw
    scores), ``priors`` ``(P, 8)``, ``gts`` one ``(G_n, 6)`` array per sample.  Per sample:
    :func:`match_boxes`; the negatives are the unmatched priors whose overlap is below
    ``neg_overlap``, the ``num_pos * int(neg_pos_ratio)`` of them with the largest
    :func:`max_positive_scores` (Paddle passes the ratio as an integer).  The loss is
    ``(sum of smooth L1 over the matched priors' 4 encoded offsets + sum of softmax
    cross-entropies over matches (their class) and negatives (background)) / num_matches``;
    0 when nothing matched.
    """
    host_priors = np.asarray(priors, dtype=np.float64)
    host_conf = None
    state = MultiBoxState()
    pos_n, pos_i, gt_boxes, rows_n, rows_i, targets = [], [], [], [], [], []
    ratio = int(neg_pos_ratio)
    for n, gt in enumerate(gts):
        if len(gt) == 0:
            state.matches.append(np.full(len(host_priors), -1, np.int64))
            state.negatives.append(np.zeros(0, np.int64))
            continue
        match, overlap = match_boxes(host_priors, gt[:, 1:5], overlap_threshold)
        matched = np.flatnonzero(match >= 0)
        candidates = np.flatnonzero((match == -1) & (overlap < neg_overlap))
        count = min(len(matched) * ratio, len(candidates))
        if count:
            if host_conf is None:
                host_conf = _to_host(conf)
            scores = max_positive_scores(host_conf[n:n + 1], background_id)[0]
            order = np.argsort(-scores[candidates], kind="stable")
            negatives = candidates[order[:count]]
        else:
            negatives = np.zeros(0, np.int64)
        state.matches.append(match)
        state.negatives.append(negatives)
        pos_n += [n] * len(matched)
        pos_i += list(matched)
        gt_boxes.append(gt[match[matched], 1:5])
        rows_n += [n] * (len(matched) + len(negatives))
        rows_i += list(matched) + list(negatives)
        targets += [int(c) for c in gt[match[matched], 0]] + [background_id] * len(negatives)
    state.num_matches = len(pos_n)
    dtype = loc.dtype
    if state.num_matches == 0:
        return xp.zeros((), dtype=dtype), state
    state.pos = (np.asarray(pos_n, np.int64), np.asarray(pos_i, np.int64))
    encoded = encode_boxes(host_priors[state.pos[1]], np.concatenate(gt_boxes))
    pred = loc[xp.asarray(state.pos[0]), xp.asarray(state.pos[1])]
    state.loc_diff = pred - xp.asarray(encoded.astype(dtype))
    a = xp.abs(state.loc_diff)
    loc_loss = xp.where(a < 1, a * a / 2, a - dtype.type(0.5)).sum()
    state.conf_rows = (np.asarray(rows_n, np.int64), np.asarray(rows_i, np.int64))
    scores = conf[xp.asarray(state.conf_rows[0]), xp.asarray(state.conf_rows[1])]
    state.conf_prob = _softmax(scores, xp)
    state.conf_target = np.asarray(targets, np.int64)
    picked = state.conf_prob[xp.arange(len(targets)), xp.asarray(state.conf_target)]
    conf_loss = -xp.log(picked).sum()
    m = dtype.type(state.num_matches)
    state.loc_loss, state.conf_loss = float(loc_loss / m), float(conf_loss / m)
    return loc_loss / m + conf_loss / m, state


def multibox_loss_backward(state: MultiBoxState, loc_shape: tuple, conf_shape: tuple,
                           dtype: Any, scale: float = 1.0, xp: Any = np) -> tuple[Any, Any]:
    """Gradients ``(dloc (N, P, 4), dconf (N, P, C))`` of the loss, times ``scale``: the
    smooth-L1 derivative (``d`` for ``|d| < 1``, else its sign) of each matched offset and
    ``softmax - onehot`` of each confidence row, both over ``num_matches``; zero elsewhere."""
    dloc = xp.zeros(loc_shape, dtype=dtype)
    dconf = xp.zeros(conf_shape, dtype=dtype)
    if state.num_matches == 0:
        return dloc, dconf
    s = dtype.type(scale / state.num_matches)
    d = state.loc_diff
    dl = xp.where(xp.abs(d) < 1, d, xp.sign(d))
    dloc[xp.asarray(state.pos[0]), xp.asarray(state.pos[1])] = dl * s
    g = state.conf_prob.copy()
    g[xp.arange(len(state.conf_target)), xp.asarray(state.conf_target)] -= 1
    dconf[xp.asarray(state.conf_rows[0]), xp.asarray(state.conf_rows[1])] = g * s
    return dloc, dconf


def _to_host(x: Any) -> np.ndarray:
    get = getattr(x, "get", None)
    return np.asarray(get() if callable(get) and not isinstance(x, np.ndarray) else x)


# --------------------------------------------------------------------------- detection output

def nms(boxes: np.ndarray, scores: np.ndarray, confidence_threshold: float,
        nms_threshold: float, top_k: int, overlaps: Optional[np.ndarray] = None) -> list[int]:
    """Paddle's applyNMSFast: the indices whose score is above ``confidence_threshold``, in
    descending score order (stable), the first ``top_k`` of them when ``top_k > 0``; each is
    kept when its overlap with every box kept before is <= ``nms_threshold``.  ``overlaps``:
    the :func:`iou_matrix` of ``boxes`` with themselves, when the caller has it."""
    candidates = np.flatnonzero(scores > confidence_threshold)
    order = candidates[np.argsort(-scores[candidates], kind="stable")]
    if top_k > 0:
        order = order[:top_k]
    if overlaps is None:
        overlap = iou_matrix(boxes[order], boxes[order])
    else:
        overlap = overlaps[np.ix_(order, order)]
    too_close = ~(overlap <= nms_threshold)       # a NaN overlap suppresses, as in Paddle
    suppressed = np.zeros(len(order), dtype=bool)
    kept: list[int] = []
    for a in range(len(order)):
        if not suppressed[a]:
            kept.append(int(order[a]))
            suppressed |= too_close[a]
    return kept


def detection_output(loc: np.ndarray, conf: np.ndarray, priors: np.ndarray,
                     num_classes: int, background_id: int, confidence_threshold: float,
                     nms_top_k: int, nms_threshold: float,
                     keep_top_k: int) -> list[np.ndarray]:
    """Paddle's DetectionOutputLayer: per sample its detection rows ``(k, 7)``
    ``[image, label, score, xmin, ymin, xmax, ymax]``.

    ``loc`` ``(N, P, 4)`` and ``conf`` ``(N, P, C)`` are gathered predictions; the scores are
    the softmax of ``conf`` over the classes; boxes are decoded from the priors.  Each class
    but the background goes through :func:`nms`; when more than ``keep_top_k`` (> 0) survive,
    the ``keep_top_k`` best scores are kept.  Rows come by class (ascending), within a class
    in NMS order (in score order after a keep_top_k cut); boxes are clipped to [0, 1].
    """
    loc = np.asarray(loc, dtype=np.float64)
    prob = _softmax(np.asarray(conf, dtype=np.float64), np)
    pri = np.asarray(priors, dtype=np.float64)
    out = []
    for n in range(loc.shape[0]):
        boxes = decode_boxes(pri, loc[n])
        overlaps = iou_matrix(boxes, boxes)
        indices: dict[int, list[int]] = {}
        for c in range(num_classes):
            if c == background_id:
                continue
            indices[c] = nms(boxes, prob[n, :, c], confidence_threshold, nms_threshold,
                             nms_top_k, overlaps)
        total = sum(len(v) for v in indices.values())
        if keep_top_k > 0 and total > keep_top_k:
            pairs = [(prob[n, i, c], c, i) for c in sorted(indices) for i in indices[c]]
            order = sorted(range(len(pairs)), key=lambda k: -pairs[k][0])[:keep_top_k]
            indices = {}
            for k in order:
                indices.setdefault(pairs[k][1], []).append(pairs[k][2])
        rows = [[n, c, prob[n, i, c], *np.clip(boxes[i], 0.0, 1.0)]
                for c in sorted(indices) for i in indices[c]]
        out.append(np.asarray(rows, dtype=np.float64).reshape(-1, 7))
    return out


# ----------------------------------------------------------------------------------- mAP

def average_precision(true_pos: list, false_pos: list, num_pos: int, ap_type: str) -> float:
    """The average precision of one class from its ``(score, flag)`` lists (Paddle's
    calcMAP): both lists are stable-sorted by descending score and accumulated; precision
    ``tp / (tp + fp)`` and recall ``tp / num_pos`` at each detection.  ``11point``: VOC2007's
    mean over recall 0, 0.1, ..., 1 of the best precision at or beyond that recall (Paddle's
    loop, kept as written); ``Integral``: the sum of precision times each recall step."""
    tp = np.cumsum([f for _, f in sorted(true_pos, key=lambda p: -p[0])])
    fp = np.cumsum([f for _, f in sorted(false_pos, key=lambda p: -p[0])])
    num = len(tp)
    precision = [tp[i] / (tp[i] + fp[i]) for i in range(num)]
    recall = [tp[i] / num_pos for i in range(num)]
    if ap_type == "11point":
        best = [0.0] * 11
        start = num - 1
        for j in range(10, -1, -1):
            for i in range(start, -1, -1):
                if recall[i] < j / 10.0:
                    start = i
                    if j > 0:
                        best[j - 1] = best[j]
                    break
                best[j] = max(best[j], precision[i])
        return sum(b / 11 for b in best[::-1])
    if ap_type == "Integral":
        ap, prev = 0.0, 0.0
        for i in range(num):
            if abs(recall[i] - prev) > 1e-6:
                ap += precision[i] * abs(recall[i] - prev)
            prev = recall[i]
        return ap
    raise ValueError(f"ap_type {ap_type!r}: expected '11point' or 'Integral'")


class DetectionMAP:
    """Paddle's DetectionMAPEvaluator: accumulates true and false positives per class over
    batches; :meth:`value` is the mean average precision in percent (Paddle printed
    ``Detection mAP=`` times 100)."""

    def __init__(self, overlap_threshold: float = 0.5, evaluate_difficult: bool = False,
                 ap_type: str = "11point"):
        if ap_type not in ("11point", "Integral"):
            raise ValueError(f"ap_type {ap_type!r}: expected '11point' or 'Integral'")
        self.overlap_threshold = overlap_threshold
        self.evaluate_difficult = evaluate_difficult
        self.ap_type = ap_type
        self.reset()

    def reset(self) -> None:
        self.num_pos: dict[int, int] = {}
        self.true_pos: dict[int, list] = {}
        self.false_pos: dict[int, list] = {}

    def add(self, detections: list[np.ndarray], gts: list[np.ndarray]) -> None:
        """One batch: per image its detection rows ``(k, 7)`` and ground truths ``(g, 6)``."""
        for det, gt in zip(detections, gts, strict=True):
            by_class: dict[int, list] = {}
            for row in gt:
                by_class.setdefault(int(row[0]), []).append(row)
            for c, rows in by_class.items():
                count = len(rows) if self.evaluate_difficult else sum(
                    1 for r in rows if abs(r[5]) < 1e-6)
                self.num_pos[c] = self.num_pos.get(c, 0) + count
            self._score(det, by_class)

    def _push(self, c: int, score: float, hit: int) -> None:
        self.true_pos.setdefault(c, []).append((score, hit))
        self.false_pos.setdefault(c, []).append((score, 1 - hit))

    def _score(self, det: np.ndarray, by_class: dict[int, list]) -> None:
        preds: dict[int, list] = {}
        for row in det:
            preds.setdefault(int(row[1]), []).append((float(row[2]), row[3:7]))
        for c in sorted(preds):
            if c not in by_class:
                for score, _ in preds[c]:
                    self._push(c, score, 0)
                continue
            gt = by_class[c]
            visited = [False] * len(gt)
            for score, box in sorted(preds[c], key=lambda p: -p[0]):
                overlaps = [jaccard(box, g[1:5]) for g in gt]
                best = int(np.argmax(overlaps))
                if overlaps[best] > self.overlap_threshold:
                    if self.evaluate_difficult or abs(gt[best][5]) < 1e-6:
                        self._push(c, score, 0 if visited[best] else 1)
                        visited[best] = True
                else:
                    self._push(c, score, 0)

    def value(self) -> float:
        """The mean over the classes with ground truth and at least one detection, x 100."""
        total, count = 0.0, 0
        for c in sorted(self.num_pos):
            if self.num_pos[c] == 0 or c not in self.true_pos:
                continue
            total += average_precision(self.true_pos[c], self.false_pos[c], self.num_pos[c],
                                       self.ap_type)
            count += 1
        return total / count * 100 if count else 0.0
