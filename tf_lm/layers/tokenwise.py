"""Apply a position-wise function to a sequence as one 2-D matrix of tokens."""

from keras import ops


def tokenwise(function, inputs):
    """`function` applied to `inputs` `(..., features)` viewed as `(tokens, features)`.

    A dense layer on `(batch, seq, features)` computes the same product as on
    `(batch * seq, features)`, but Keras' TensorFlow `matmul` spells the 3-D case as
    `tf.tensordot`: a dozen shape, gather and transpose ops around one `MatMul`. XLA folds
    them away; the exported graph does not (TF Serving runs it without XLA, op by op, at every
    decoding step), so the layers reshape to 2-D once and back once instead.

    Returns:
        `(..., function's output features)`.
    """
    leading = tuple(inputs.shape[:-1])
    if sum(size is None for size in leading) <= 1:  # a constant shape, -1 for the unknown one
        leading = tuple(-1 if size is None else size for size in leading)
    else:
        leading = ops.shape(inputs)[:-1]  # the unknown sizes read at run time
    outputs = function(ops.reshape(inputs, (-1, inputs.shape[-1])))  # (tokens, out_features)
    return ops.reshape(outputs, leading + (outputs.shape[-1],))
