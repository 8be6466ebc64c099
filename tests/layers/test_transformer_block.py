import keras_hub
import numpy as np
import pytest

from tests.layer_checks import run_layer_checks
from tf_lm.layers import TransformerBlock

X = np.random.default_rng(2).normal(size=(2, 6, 8)).astype("float32")


def test_standard_checks(tmp_path):
    # 2 LayerNorms x (gamma, beta) + attention (2 kernels, 2 biases) + FFN (2 kernels, 2 biases)
    run_layer_checks(lambda **kw: TransformerBlock(2, 32, **kw), X, (2, 6, 8), 12, tmp_path,
                     dropout="dropout")


def test_without_bias_layer_norms_have_no_offset():
    block = TransformerBlock(2, 32, use_bias=False)
    block.build(X.shape)
    assert len(block.weights) == 6
    assert block.count_params() == 2 * 8 + 8 * 24 + 8 * 8 + 2 * 8 * 32


def copy_into_keras_hub(block, decoder):
    """Copy our block's weights into keras-hub's TransformerDecoder of the same configuration."""
    hidden, heads = 8, block.num_heads
    head_dim = hidden // heads
    qkv = np.asarray(block.attention.qkv_dense.kernel)
    qkv_bias = np.asarray(block.attention.qkv_dense.bias)
    attention = decoder._self_attention_layer
    for i, dense in enumerate((attention._query_dense, attention._key_dense,
                               attention._value_dense)):
        dense.kernel.assign(qkv[:, i * hidden:(i + 1) * hidden].reshape(hidden, heads, head_dim))
        dense.bias.assign(qkv_bias[i * hidden:(i + 1) * hidden].reshape(heads, head_dim))
    attention._output_dense.kernel.assign(
        np.asarray(block.attention.output_dense.kernel).reshape(heads, head_dim, hidden))
    attention._output_dense.bias.assign(np.asarray(block.attention.output_dense.bias))
    pairs = [(decoder._self_attention_layer_norm, block.attention_norm),
             (decoder._feedforward_layer_norm, block.feed_forward_norm),
             (decoder._feedforward_intermediate_dense, block.feed_forward.intermediate_dense),
             (decoder._feedforward_output_dense, block.feed_forward.output_dense)]
    for theirs, ours in pairs:
        for their_weight, our_weight in zip(theirs.weights, ours.weights):
            their_weight.assign(np.asarray(our_weight))


@pytest.mark.parametrize("norm_position", ["pre", "post"])
@pytest.mark.parametrize("activation", ["gelu", "relu"])
def test_equals_keras_hub_transformer_decoder_with_copied_weights(norm_position, activation):
    block = TransformerBlock(2, 32, norm_position=norm_position, activation=activation)
    ours = np.asarray(block(X))
    decoder = keras_hub.layers.TransformerDecoder(
        32, 2, activation=activation, layer_norm_epsilon=1e-5,
        normalize_first=norm_position == "pre")
    decoder.build(X.shape)
    copy_into_keras_hub(block, decoder)
    np.testing.assert_allclose(np.asarray(decoder(X)), ours, atol=1e-5)


def test_pre_and_post_norm_differ():
    pre = TransformerBlock(2, 32, norm_position="pre")
    post = TransformerBlock(2, 32, norm_position="post")
    pre.build(X.shape)
    post.build(X.shape)
    post.set_weights(pre.get_weights())
    assert not np.allclose(np.asarray(pre(X)), np.asarray(post(X)), atol=1e-3)


def test_cached_decoding_equals_the_full_pass():
    block = TransformerBlock(2, 32)
    full = np.asarray(block(X))
    cache = np.zeros((2, 2, 2, 8, 4), "float32")  # (keys/values, batch, heads, max_length, hd)
    out, cache = block(X[:, :3], cache=cache, cache_index=0)
    steps = [np.asarray(out)]
    for i in range(3, 6):
        out, cache = block(X[:, i:i + 1], cache=cache, cache_index=i)
        steps.append(np.asarray(out))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="norm_position='middle'"):
        TransformerBlock(2, 32, norm_position="middle")
    with pytest.raises(ValueError, match="hidden_dim=8, num_heads=3"):
        TransformerBlock(3, 32)(X)
