"""A pinned 20-step run on the bundled Tiny Shakespeare, and `train()`'s openings for users:
their callbacks and their model."""

import keras
import pytest

from tf_lm.config import Config
from tf_lm.errors import InputError
from tf_lm.models import CausalLM, GPTBackbone
from tf_lm.training import train

SMALL = ["model.num_layers=2", "model.hidden_dim=32", "model.num_heads=2", "data.block_size=32",
         "train.batch_size=8", "train.steps=20", "train.eval_interval=20",
         "train.checkpoint_interval=20", "train.eval_steps=2", "train.warmup_steps=5",
         "train.sample_tokens=0", "train.deterministic=true", "train.jit_compile=false"]


def quiet(*args, **kwargs):
    pass


def test_twenty_steps_on_tiny_shakespeare_give_the_pinned_losses(tmp_path):
    history = keras.callbacks.History()
    result = train(Config.resolve(overrides=SMALL), str(tmp_path / "run"), verbose=0,
                   echo=quiet, callbacks=[history])
    # As computed when pinned (deterministic ops, one CPU): the mean training loss of the 20
    # steps, the 2-batch validation estimate and the full validation split.
    assert history.history["loss"] == pytest.approx([3.649445], rel=2e-3)
    assert history.history["val_loss"] == pytest.approx([3.402119], rel=2e-3)
    assert result.val_loss == pytest.approx(3.433239, rel=2e-3)


class _Counter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1


def test_a_users_model_function_and_callbacks_are_used(text_file, tmp_path):
    config = Config.resolve(overrides=[f"data.corpus={text_file}", *SMALL[:4],
                                       "train.batch_size=4", "train.steps=4",
                                       "train.eval_interval=2", "train.checkpoint_interval=2",
                                       "train.eval_steps=1", "train.warmup_steps=1",
                                       "train.sample_tokens=5", "train.jit_compile=false"])
    built = []

    def build(config, tokenizer):  # called inside strategy.scope()
        model = CausalLM(GPTBackbone(tokenizer.vocabulary_size(), 1, 2, 8, sequence_length=32,
                                     activation="silu"))
        model.build((None, None))
        built.append(model)
        return model

    counter = _Counter()
    result = train(config, str(tmp_path / "run"), model=build, callbacks=[counter],
                   verbose=0, echo=quiet)
    assert result.model is built[0] and result.model.backbone.activation == "silu"
    assert counter.batches == 4 and result.status == "finished"
    reloaded = keras.saving.load_model(tmp_path / "run" / "model.keras")
    assert reloaded.backbone.num_layers == 1 and reloaded.backbone.activation == "silu"


def test_a_users_model_of_another_vocabulary_is_refused(text_file, tmp_path):
    config = Config.resolve(overrides=[f"data.corpus={text_file}", *SMALL[:4],
                                       "train.steps=2", "train.jit_compile=false"])
    wrong = CausalLM(GPTBackbone(3, 1, 2, 8, sequence_length=32))
    wrong.build((None, None))
    with pytest.raises(InputError, match="predicts 3 token ids"):
        train(config, str(tmp_path / "run"), model=wrong, verbose=0, echo=quiet)


class OwnStepLM(CausalLM):
    calls = 0

    def train_step(self, data):
        type(self).calls += 1
        return super().train_step(data)


def test_a_users_train_step_is_kept_over_automatic_batch_slices(text_file, tmp_path):
    overrides = [f"data.corpus={text_file}", *SMALL[:4], "train.steps=2", "train.batch_size=4",
                 "train.eval_interval=2", "train.checkpoint_interval=2", "train.eval_steps=1",
                 "train.sample_tokens=0", "train.jit_compile=false"]

    def build(config, tokenizer):
        model = OwnStepLM(GPTBackbone(tokenizer.vocabulary_size(), 1, 2, 8, sequence_length=32))
        model.build((None, None))
        return model

    train(Config.resolve(overrides=[*overrides, "train.batch_slices=0"]),
          str(tmp_path / "run"), model=build, verbose=0, echo=quiet)
    assert OwnStepLM.calls > 0  # auto slicing stood aside
    with pytest.raises(InputError, match="overrides its own"):
        train(Config.resolve(overrides=[*overrides, "train.batch_slices=2"]),
              str(tmp_path / "run2"), model=build, verbose=0, echo=quiet)
