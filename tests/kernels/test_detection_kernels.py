"""Detection kernels against slow references written here (Paddle's C++ loops re-told in plain
Python: PriorBox.cpp, DetectionUtil.cpp, MultiBoxLossLayer.cpp, DetectionMAPEvaluator.cpp),
hand-computed average precisions, and the multibox loss gradient by float64 finite
differences."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minipaddle.kernels import detection as K
from numgrad import numeric_grad


# --- references --------------------------------------------------------------------------------

def ref_priors(lh, lw, ih, iw, min_size, max_size, ratios, var):
    ars = list(ratios) + [1 / r for r in ratios] + [1.0]
    out = []
    for h in range(lh):
        for w in range(lw):
            cx, cy = (w + 0.5) * iw / lw, (h + 0.5) * ih / lh
            boxes = [(min_size, min_size)]
            if max_size:
                side = int(math.sqrt(min_size * max_size))
                boxes.append((side, side))
            for a in ars:
                if abs(a - 1) < 1e-6:
                    continue
                boxes.append((min_size * math.sqrt(a), min_size / math.sqrt(a)))
            for bw, bh in boxes:
                box = [(cx - bw / 2) / iw, (cy - bh / 2) / ih, (cx + bw / 2) / iw,
                       (cy + bh / 2) / ih]
                out.append([min(max(v, 0.0), 1.0) for v in box] + list(var))
    return np.array(out)


def ref_match(priors, gts, threshold):
    """matchBBox, transcribed: a map of kept overlaps, the bipartite loop over a gt pool,
    then the per-prediction pass."""
    overlaps = {}
    match = [-1] * len(priors)
    best = [0.0] * len(priors)
    for i, p in enumerate(priors):
        for j, g in enumerate(gts):
            o = K.jaccard(p, g)
            if o > 1e-6:
                best[i] = max(best[i], o)
                overlaps.setdefault(i, {})[j] = o
    pool = list(range(len(gts)))
    while pool:
        bi, bj, bo = -1, -1, -1.0
        for i in sorted(overlaps):
            if match[i] != -1:
                continue
            for j in pool:
                if j in overlaps[i] and overlaps[i][j] > bo:
                    bi, bj, bo = i, j, overlaps[i][j]
        if bi == -1:
            break
        match[bi], best[bi] = bj, bo
        pool.remove(bj)
    for i in sorted(overlaps):
        if match[i] != -1:
            continue
        bj, bo = -1, -1.0
        for j in range(len(gts)):
            if j in overlaps[i] and overlaps[i][j] > bo and overlaps[i][j] >= threshold:
                bj, bo = j, overlaps[i][j]
        if bj != -1:
            match[i], best[i] = bj, bo
    return np.array(match), np.array(best)


def ref_softmax(row):
    m = max(row)
    e = [math.exp(v - m) for v in row]
    return [v / sum(e) for v in e]


def ref_multibox(loc, conf, priors, gts, classes, thr, ratio, neg_overlap, bg):
    """The loss, looping as MultiBoxLossLayer::forward does."""
    loc_terms, conf_terms, matches = 0.0, 0.0, 0
    for n, gt in enumerate(gts):
        if len(gt) == 0:
            continue
        match, over = ref_match(priors[:, :4], gt[:, 1:5], thr)
        npos = int((match >= 0).sum())
        scores = []
        for i in range(len(priors)):
            if match[i] == -1 and over[i] < neg_overlap:
                prob = ref_softmax(conf[n, i])
                scores.append((max(prob[c] for c in range(classes) if c != bg), i))
        scores.sort(key=lambda s: -s[0])
        negs = [i for _, i in scores[:min(npos * int(ratio), len(scores))]]
        for i in range(len(priors)):
            if match[i] == -1:
                continue
            matches += 1
            g = gt[match[i]]
            p = priors[i]
            pw, ph = p[2] - p[0], p[3] - p[1]
            target = [((g[1] + g[3]) / 2 - (p[0] + p[2]) / 2) / pw / p[4],
                      ((g[2] + g[4]) / 2 - (p[1] + p[3]) / 2) / ph / p[5],
                      math.log((g[3] - g[1]) / pw) / p[6], math.log((g[4] - g[2]) / ph) / p[7]]
            for k in range(4):
                a = abs(loc[n, i, k] - target[k])
                loc_terms += 0.5 * a * a if a < 1 else a - 0.5
            conf_terms -= math.log(ref_softmax(conf[n, i])[int(g[0])])
        for i in negs:
            conf_terms -= math.log(ref_softmax(conf[n, i])[bg])
    return (loc_terms + conf_terms) / matches if matches else 0.0


def ref_nms(boxes, scores, conf_thr, nms_thr, top_k):
    cand = sorted([(s, i) for i, s in enumerate(scores) if s > conf_thr],
                  key=lambda t: -t[0])
    if top_k > 0:
        cand = cand[:top_k]
    kept = []
    for _, i in cand:
        if all(K.jaccard(boxes[i], boxes[k]) <= nms_thr for k in kept):
            kept.append(i)
    return kept


def random_boxes(rng, n, lo=0.05, hi=0.5):
    xy = rng.uniform(0, 1 - hi, size=(n, 2))
    wh = rng.uniform(lo, hi, size=(n, 2))
    return np.concatenate([xy, xy + wh], axis=1)


# --- priors --------------------------------------------------------------------------------------

@pytest.mark.parametrize("lh,lw,ih,iw,mn,mx,ratios", [
    (3, 3, 48, 48, 12, 24, [2.0]), (2, 4, 30, 60, 20, None, [2.0, 3.0]), (1, 1, 8, 8, 10, 30, []),
])
def test_prior_boxes_match_the_loop(lh, lw, ih, iw, mn, mx, ratios):
    var = [0.1, 0.1, 0.2, 0.2]
    got = K.prior_boxes((lh, lw), (ih, iw), [mn], [mx] if mx else [], ratios, var,
                        dtype=np.float64)
    np.testing.assert_allclose(got, ref_priors(lh, lw, ih, iw, mn, mx, ratios, var),
                               rtol=1e-6, atol=1e-7)
    per = K.priors_per_location(ratios, [mx] if mx else [])
    assert got.shape == (lh * lw * per, 8)


def test_prior_box_by_hand():
    """One location of a 2x2 map over a 10x10 image: centre (2.5, 2.5); min 4, max 9: the
    second square is int(sqrt(36)) = 6 wide; ratio 4 gives 8 x 2 and 2 x 8."""
    got = K.prior_boxes((2, 2), (10, 10), [4], [9], [4.0], [1, 2, 3, 4], dtype=np.float64)
    first = got[:4]
    np.testing.assert_allclose(first[0], [0.05, 0.05, 0.45, 0.45, 1, 2, 3, 4])
    np.testing.assert_allclose(first[1], [0.0, 0.0, 0.55, 0.55, 1, 2, 3, 4])   # clipped
    np.testing.assert_allclose(first[2], [0.0, 0.15, 0.65, 0.35, 1, 2, 3, 4])
    np.testing.assert_allclose(first[3], [0.15, 0.0, 0.35, 0.65, 1, 2, 3, 4])


def test_truncated_max_square():
    """sqrt(12 * 20) = 15.49: Paddle's int box width makes it 15."""
    got = K.prior_boxes((1, 1), (30, 30), [12], [20], [], [1, 1, 1, 1], dtype=np.float64)
    assert got[1, 2] - got[1, 0] == pytest.approx(15 / 30)


# --- overlap, matching, encoding -------------------------------------------------------------------

@given(st.integers(0, 2 ** 16))
def test_iou_matrix_matches_jaccard(seed):
    rng = np.random.default_rng(seed)
    a, b = random_boxes(rng, 7), random_boxes(rng, 5)
    b[0] = [a[0, 2], a[0, 1], a[0, 2] + 0.1, a[0, 3]]          # touching: zero intersection
    want = np.array([[K.jaccard(x, y) for y in b] for x in a])
    np.testing.assert_allclose(K.iou_matrix(a, b), want, rtol=1e-12, atol=1e-15)


def test_jaccard_by_hand():
    assert K.jaccard([0, 0, 2, 2], [1, 1, 3, 3]) == pytest.approx(1 / 7)
    assert K.jaccard([0, 0, 1, 1], [2, 2, 3, 3]) == 0.0


@given(st.integers(0, 2 ** 16), st.sampled_from([0.3, 0.5, 0.7]))
def test_match_boxes_matches_the_loop(seed, threshold):
    rng = np.random.default_rng(seed)
    priors, gts = random_boxes(rng, 30), random_boxes(rng, int(rng.integers(1, 5)))
    match, overlap = K.match_boxes(priors, gts, threshold)
    want_match, want_overlap = ref_match(priors, gts, threshold)
    np.testing.assert_array_equal(match, want_match)
    np.testing.assert_allclose(overlap, want_overlap, rtol=1e-12)


def test_bipartite_match_wins_over_threshold():
    """Each ground truth gets its best prior even below the threshold; then a prior with
    overlap >= threshold takes its best ground truth."""
    priors = np.array([[0, 0, 0.5, 0.5], [0.5, 0.5, 1, 1], [0, 0, 0.45, 0.5]])
    gts = np.array([[0, 0, 0.5, 0.5], [0.6, 0.6, 0.7, 0.7]])
    match, overlap = K.match_boxes(priors, gts, 0.5)
    assert list(match) == [0, 1, 0]
    assert overlap[1] == pytest.approx(0.01 / 0.25)
    assert overlap[2] == pytest.approx(0.9)


def test_encode_decode_round_trip_and_by_hand():
    prior = np.array([[0.2, 0.2, 0.6, 0.4, 0.1, 0.1, 0.2, 0.2]])
    gt = np.array([[0.3, 0.1, 0.5, 0.5]])
    enc = K.encode_boxes(prior, gt)
    np.testing.assert_allclose(enc[0], [0.0, (0.3 - 0.3) / 0.2 / 0.1,
                                        math.log(0.2 / 0.4) / 0.2, math.log(0.4 / 0.2) / 0.2],
                               atol=1e-12)
    np.testing.assert_allclose(K.decode_boxes(prior, enc), gt, atol=1e-12)


def test_max_positive_scores():
    conf = np.random.default_rng(3).normal(size=(2, 5, 4))
    got = K.max_positive_scores(conf, 1)
    for n in range(2):
        for i in range(5):
            p = ref_softmax(conf[n, i])
            assert got[n, i] == pytest.approx(max(p[0], p[2], p[3]))


def test_ground_truth_rows_drop_padding():
    rows = np.array([[1, 0, 0, 1, 1, 0, -1, 0, 0, 0, 0, 0, 2, .1, .1, .2, .2, 1]])
    got = K.ground_truth_rows(rows)
    assert len(got) == 1 and got[0][:, 0].tolist() == [1, 2]


# --- multibox loss ---------------------------------------------------------------------------------

def _multibox_case(seed, n=3, p_side=4, classes=4):
    rng = np.random.default_rng(seed)
    priors = K.prior_boxes((p_side, p_side), (32, 32), [10], [16], [2.0], [0.1, 0.1, 0.2, 0.2],
                           dtype=np.float64)
    num = len(priors)
    loc = rng.normal(0, 0.5, size=(n, num, 4))
    conf = rng.normal(0, 1.0, size=(n, num, classes))
    gts = []
    for i in range(n):
        g = int(rng.integers(0, 3)) if i else 2
        boxes = random_boxes(rng, g, 0.15, 0.45)
        labels = rng.integers(1, classes, size=(g, 1))
        gts.append(np.concatenate([labels, boxes, np.zeros((g, 1))], axis=1))
    return loc, conf, priors, gts


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_multibox_loss_matches_the_loop(seed):
    loc, conf, priors, gts = _multibox_case(seed)
    args = (4, 0.5, 3.0, 0.5, 0)
    loss, state = K.multibox_loss_forward(loc, conf, priors, gts, *args)
    assert float(loss) == pytest.approx(ref_multibox(loc, conf, priors, gts, *args), rel=1e-10)
    assert state.num_matches >= 2
    assert float(loss) == pytest.approx(state.loc_loss + state.conf_loss, rel=1e-12)


def test_multibox_neg_pos_ratio_is_truncated():
    """Paddle passes neg_pos_ratio to the miner as an integer: 2.9 mines 2 per match."""
    loc, conf, priors, gts = _multibox_case(5)
    _, a = K.multibox_loss_forward(loc, conf, priors, gts, 4, 0.5, 2.9, 0.5, 0)
    _, b = K.multibox_loss_forward(loc, conf, priors, gts, 4, 0.5, 2.0, 0.5, 0)
    assert [list(x) for x in a.negatives] == [list(x) for x in b.negatives]
    per_sample = [int((m >= 0).sum()) for m in a.matches]
    assert [len(x) for x in a.negatives] == [2 * k for k in per_sample]


def test_multibox_without_ground_truth_is_zero():
    loc, conf, priors, _ = _multibox_case(0)
    empty = [np.zeros((0, 6))] * loc.shape[0]
    loss, state = K.multibox_loss_forward(loc, conf, priors, empty, 4, 0.5, 3, 0.5, 0)
    assert float(loss) == 0.0
    dloc, dconf = K.multibox_loss_backward(state, loc.shape, conf.shape, loc.dtype)
    assert not dloc.any() and not dconf.any()


@pytest.mark.parametrize("seed", [0, 4])
def test_multibox_gradient_by_finite_differences(seed):
    loc, conf, priors, gts = _multibox_case(seed)
    args = (4, 0.5, 3.0, 0.5, 0)
    _, state = K.multibox_loss_forward(loc, conf, priors, gts, *args)
    dloc, dconf = K.multibox_loss_backward(state, loc.shape, conf.shape, loc.dtype)

    def f():
        return float(K.multibox_loss_forward(loc, conf, priors, gts, *args)[0])

    np.testing.assert_allclose(dloc, numeric_grad(f, loc), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(dconf, numeric_grad(f, conf), rtol=1e-5, atol=1e-8)


def test_gather_and_scatter_are_inverse():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 3, 2, 2)), rng.normal(size=(2, 5, 1, 3))
    flat = K.gather_nhwc([a, b])
    assert flat[1, 0:3].tolist() == a[1, :, 0, 0].tolist()       # NHWC: channels fastest
    assert flat[1, 12:17].tolist() == b[1, :, 0, 0].tolist()
    back = K.scatter_nhwc(flat, [(3, 2, 2), (5, 1, 3)])
    np.testing.assert_array_equal(back[0], a)
    np.testing.assert_array_equal(back[1], b)


# --- NMS and detection output -------------------------------------------------------------------

@given(st.integers(0, 2 ** 16), st.sampled_from([0, 3, 8]))
def test_nms_matches_the_loop(seed, top_k):
    rng = np.random.default_rng(seed)
    boxes = random_boxes(rng, 20, 0.1, 0.3)
    scores = rng.uniform(size=20)
    got = K.nms(boxes, scores, 0.2, 0.45, top_k)
    assert got == ref_nms(boxes, scores, 0.2, 0.45, top_k)


def test_detection_output_matches_the_loop():
    loc, conf, priors, _ = _multibox_case(7, n=2)
    keep = 6
    got = K.detection_output(loc, conf, priors, 4, 0, 0.3, 10, 0.45, keep)
    for n in range(2):
        boxes = K.decode_boxes(priors, loc[n])
        prob = np.array([ref_softmax(r) for r in conf[n]])
        rows = []
        for c in (1, 2, 3):
            for i in ref_nms(boxes, prob[:, c], 0.3, 0.45, 10):
                rows.append((prob[i, c], c, i))
        if len(rows) > keep:
            rows = sorted(rows, key=lambda r: -r[0])[:keep]
        rows.sort(key=lambda r: r[1])                           # by class, score order kept
        want = [[n, c, s] + list(np.clip(boxes[i], 0, 1)) for s, c, i in rows]
        np.testing.assert_allclose(got[n], np.array(want).reshape(-1, 7), rtol=1e-12)
    assert len(got[0]) <= keep


# --- mAP -----------------------------------------------------------------------------------------

def test_average_precision_by_hand():
    """Detections TP 0.9, FP 0.8, TP 0.7 of 3 objects: precision 1, 1/2, 2/3 at recall 1/3,
    1/3, 2/3.  Integral: 1/3 + 2/3 * 1/3 = 5/9.  11 points: recall 0 .. 0.3 -> 1, 0.4 .. 0.6
    -> 2/3, 0.7 .. 1 -> 0: 6/11."""
    tp = [(0.9, 1), (0.8, 0), (0.7, 1)]
    fp = [(s, 1 - f) for s, f in tp]
    assert K.average_precision(tp, fp, 3, "Integral") == pytest.approx(5 / 9)
    assert K.average_precision(tp, fp, 3, "11point") == pytest.approx(6 / 11)
    with pytest.raises(ValueError, match="ap_type"):
        K.average_precision(tp, fp, 3, "voc")


def _map_case(evaluate_difficult, ap_type):
    """One image.  Class 1: objects a (easy) and b (difficult); detections 0.9 on a (TP),
    0.8 on a again (FP, a duplicate), 0.7 on b (ignored unless difficult ones count).
    Class 2: one object, one detection beside it (FP).  Class 3: a detection with no
    object (FP; class 3 has no objects and is left out of the mean)."""
    gt = np.array([[1, 0.1, 0.1, 0.4, 0.4, 0], [1, 0.6, 0.6, 0.9, 0.9, 1],
                   [2, 0.1, 0.6, 0.3, 0.9, 0]])
    det = np.array([[0, 1, 0.9, 0.1, 0.1, 0.4, 0.41], [0, 1, 0.8, 0.11, 0.1, 0.4, 0.4],
                    [0, 1, 0.7, 0.6, 0.6, 0.9, 0.9], [0, 2, 0.6, 0.6, 0.1, 0.9, 0.3],
                    [0, 3, 0.5, 0.0, 0.0, 0.2, 0.2]])
    m = K.DetectionMAP(0.5, evaluate_difficult, ap_type)
    m.add([det], [gt])
    return m.value()


def test_detection_map_by_hand():
    # class 1: TP 0.9, FP 0.8 of 1 object -> AP 1; class 2: AP 0 -> mean 0.5, in percent
    assert _map_case(False, "Integral") == pytest.approx(50.0)
    assert _map_case(False, "11point") == pytest.approx(50.0)
    # difficult counted: class 1 has 2 objects, TP FP TP -> precision 1, 1/2, 2/3 at recall
    # 1/2, 1/2, 1: integral 1/2 + 1/3 = 5/6; 11 points: 6 x 1 + 5 x 2/3 -> 28/33
    assert _map_case(True, "Integral") == pytest.approx(5 / 6 / 2 * 100)
    assert _map_case(True, "11point") == pytest.approx(28 / 33 / 2 * 100)


def test_detection_map_accumulates_and_resets():
    gt = np.array([[1, 0.1, 0.1, 0.4, 0.4, 0]])
    hit = np.array([[0, 1, 0.9, 0.1, 0.1, 0.4, 0.4]])
    miss = np.array([[0, 1, 0.95, 0.6, 0.6, 0.9, 0.9]])
    m = K.DetectionMAP(ap_type="Integral")
    m.add([hit, miss], [gt, gt])            # two images, 2 objects: FP 0.95, TP 0.9
    assert m.value() == pytest.approx(0.5 * 0.5 * 100)
    m.add([np.zeros((0, 7))], [np.zeros((0, 6))])
    assert m.value() == pytest.approx(25.0)
    m.reset()
    assert m.value() == 0.0
