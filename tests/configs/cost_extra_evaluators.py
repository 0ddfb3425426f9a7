# The second round of costs, the row norms and the evaluators beyond classification_error:
# automatic names per function, Paddle's types, the self-normalised cost without a size,
# and evaluator fields written only when given.
from paddle.trainer_config_helpers import *

settings(batch_size=16, learning_rate=0.01)

x = data_layer(name="x", size=6)
target = data_layer(name="target", size=3)
cls = data_layer(name="cls", size=1)
flag = data_layer(name="flag", size=1)
query = data_layer(name="query", size=1)
weight = data_layer(name="weight", size=1)

pred = fc_layer(input=x, size=3, act=LinearActivation(), name="pred")
prob = fc_layer(input=x, size=3, act=SigmoidActivation(), name="prob")
score = fc_layer(input=x, size=1, act=LinearActivation(), name="score")
other = fc_layer(input=x, size=1, act=LinearActivation(), name="other")

l2 = row_l2_norm_layer(input=pred)
s1 = sum_to_one_norm_layer(input=prob, name="unit_sum")

costs = [
    smooth_l1_cost(input=l2, label=target),
    huber_regression_cost(input=pred, label=target, delta=0.5, coeff=2.0),
    huber_classification_cost(input=score, label=flag),
    sum_cost(input=s1),
    rank_cost(left=score, right=other, label=flag, weight=weight),
    multi_binary_label_cross_entropy(input=prob, label=target),
    cross_entropy_with_selfnorm(input=prob, label=cls, softmax_selfnorm_alpha=0.2),
]

auc_evaluator(input=prob, label=cls)
precision_recall_evaluator(input=prob, label=cls, positive_label=1, weight=weight)
pnpair_evaluator(input=score, label=flag, query_id=query)
sum_evaluator(input=prob)
column_sum_evaluator(input=prob, weight=weight, name="last_column")
value_printer_evaluator(input=[score, other])
maxid_printer_evaluator(input=prob, num_results=2)
maxframe_printer_evaluator(input=score)
classification_error_printer_evaluator(input=prob, label=cls)

outputs(costs)
