"""Pinned numbers: a change that moves both sides of an equivalence test at once (the cached
and the full pass, Python and the export) still moves these."""

import keras
import numpy as np

from tf_lm.models import CausalLM, GPTBackbone, RecurrentBackbone

IDS = np.array([[1, 5, 9, 2, 16, 0, 3, 7]], "int32")
POSITIONS = [0, 3, 7]

# Logits [positions 0, 3, 7][:4] of seeded tiny models, as computed when pinned.
GPT_LOGITS = [[0.021718, 0.166091, -0.056199, -0.00832],
              [-0.152015, 0.020084, 0.226107, -0.070424],
              [0.032997, 0.026051, -0.015948, 0.129538]]
LSTM_LOGITS = [[0.005182, 0.009412, 0.002247, 0.007671],
               [0.013763, 0.015897, 0.004012, 0.014128],
               [0.016203, 0.017037, 0.004765, 0.01518]]


def logits(model):
    model.build((None, None))
    return np.asarray(model(IDS))[0, POSITIONS, :4]


def test_a_seeded_tiny_gpt_gives_the_pinned_logits():
    keras.utils.set_random_seed(1234)
    gpt = CausalLM(GPTBackbone(17, 2, 2, 16, sequence_length=8))
    np.testing.assert_allclose(logits(gpt), GPT_LOGITS, atol=2e-6)


def test_a_seeded_tiny_lstm_gives_the_pinned_logits():
    keras.utils.set_random_seed(1234)
    lstm = CausalLM(RecurrentBackbone(17, cell="lstm", num_layers=2, hidden_dim=16,
                                      init_scale=0.1), tie_embeddings=False, head_use_bias=True)
    np.testing.assert_allclose(logits(lstm), LSTM_LOGITS, atol=2e-6)
