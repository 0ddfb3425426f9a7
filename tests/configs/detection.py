# SSD detection: priorbox_layer (with and without max_size), multibox_loss_layer and
# detection_output_layer over two feature maps, detection_map_evaluator.  Paddle v1 style.
from paddle.trainer_config_helpers import *

settings(batch_size=8, learning_rate=0.001)

image = data_layer(name="image", size=3 * 32 * 32, height=32, width=32)
boxes = data_layer(name="boxes", size=5 * 6)          # 5 ground-truth rows of 6

fine = img_conv_layer(input=image, name="fine", filter_size=3, num_filters=8, stride=4,
                      padding=1)                       # 8 x 8 x 8
coarse = img_conv_layer(input=fine, name="coarse", filter_size=3, num_filters=8, stride=2,
                        padding=1)                     # 8 x 4 x 4

# fine: ratios 2, 3 -> 2, 3, 1/2, 1/3 and 1: 5 priors of 8 numbers per location
fine_priors = priorbox_layer(input=fine, image=image, aspect_ratio=[2.0, 3.0],
                             variance=[0.1, 0.1, 0.2, 0.2], min_size=[6])
# coarse: ratio 2 plus the max-size square: 4 priors per location
coarse_priors = priorbox_layer(input=coarse, image=image, aspect_ratio=[2.0],
                               variance=[0.1, 0.1, 0.2, 0.2], min_size=[12], max_size=[24],
                               name="coarse_priors")
priors = concat_layer(input=[fine_priors, coarse_priors], name="priors")

fine_loc = img_conv_layer(input=fine, name="fine_loc", filter_size=3, num_filters=5 * 4,
                          padding=1, act=LinearActivation())
coarse_loc = img_conv_layer(input=coarse, name="coarse_loc", filter_size=3,
                            num_filters=4 * 4, padding=1, act=LinearActivation())
fine_conf = img_conv_layer(input=fine, name="fine_conf", filter_size=3, num_filters=5 * 3,
                           padding=1, act=LinearActivation())
coarse_conf = img_conv_layer(input=coarse, name="coarse_conf", filter_size=3,
                             num_filters=4 * 3, padding=1, act=LinearActivation())

loss = multibox_loss_layer(input_loc=[fine_loc, coarse_loc],
                           input_conf=[fine_conf, coarse_conf], priorbox=priors, label=boxes,
                           num_classes=3, overlap_threshold=0.6, neg_pos_ratio=2,
                           neg_overlap=0.4, background_id=2)
detections = detection_output_layer(input_loc=[fine_loc, coarse_loc],
                                    input_conf=[fine_conf, coarse_conf], priorbox=priors,
                                    num_classes=3, nms_threshold=0.5, nms_top_k=100,
                                    keep_top_k=10, confidence_threshold=0.2, background_id=2,
                                    name="detections")
detection_map_evaluator(input=detections, label=boxes, overlap_threshold=0.6,
                        background_id=2, evaluate_difficult=True, ap_type="Integral")

outputs(loss)
