import keras
import numpy as np
import pytest

from tf_lm.config import Config
from tf_lm.models import CausalLM, TextClassifier, build_causal_lm, build_text_classifier, \
    load_model
from tf_lm.training.fine_tuning import copy_weights

IDS = np.random.default_rng(0).integers(1, 50, (4, 12)).astype("int32")
MASK = np.arange(12)[None] < np.array([[3], [12], [7], [1]])


def config(architecture, pooling="last"):
    return Config.resolve(overrides=[
        "model.task=classifier", f"model.architecture={architecture}", "model.num_layers=2",
        "model.num_heads=2", "model.hidden_dim=16", f"model.pooling={pooling}"]).model


@pytest.mark.parametrize("architecture, pooling", [("gpt", "last"), ("gpt", "mean"),
                                                   ("lstm", "last"), ("gru", "mean"),
                                                   ("lstm", "concat")])
def test_padding_never_changes_a_prediction_and_the_model_round_trips(architecture, pooling,
                                                                      tmp_path):
    model = build_text_classifier(config(architecture, pooling), 50, 12, ["neg", "pos"])
    inputs = {"token_ids": IDS, "padding_mask": MASK}
    logits = np.asarray(model(inputs))
    assert logits.shape == (4, 2)
    other = IDS.copy()
    other[~MASK] = 7
    np.testing.assert_allclose(np.asarray(model({"token_ids": other, "padding_mask": MASK})),
                               logits, atol=1e-6)
    model.save(tmp_path / "m.keras")
    reloaded = load_model(tmp_path / "m.keras")
    assert isinstance(reloaded, TextClassifier) and reloaded.label_names == ["neg", "pos"]
    np.testing.assert_array_equal(np.asarray(reloaded(inputs)), logits)


def test_last_pooling_equals_the_backbone_state_at_the_last_token_through_the_head():
    model = build_text_classifier(config("gpt"), 50, 12, ["a", "b", "c"])
    hidden = np.asarray(model.backbone(IDS))
    last = hidden[np.arange(4), MASK.sum(1) - 1]
    kernel, bias = (np.asarray(w) for w in model.head.weights)
    np.testing.assert_allclose(np.asarray(model({"token_ids": IDS, "padding_mask": MASK})),
                               last @ kernel + bias, atol=1e-5)


def test_fit_learns_a_separable_task_with_the_compile_defaults():
    keras.utils.set_random_seed(0)
    model = build_text_classifier(config("gpt"), 50, 12, ["neg", "pos"])
    labels = (IDS[:, 0] > 25).astype("int32")
    model.compile(optimizer=keras.optimizers.AdamW(1e-2))
    history = model.fit({"token_ids": IDS, "padding_mask": MASK}, labels, epochs=30, verbose=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]
    assert history.history["accuracy"][-1] == 1.0
    assert history.history["f1"][-1] == pytest.approx(1.0)


def test_a_language_models_backbone_carries_over_and_the_head_is_new():
    lm = build_causal_lm(config("gpt"), 50, 12)
    assert isinstance(lm, CausalLM)
    classifier = build_text_classifier(config("gpt"), 50, 12, ["neg", "pos"])
    copy_weights(classifier, lm)
    for a, b in zip(classifier.backbone.weights, lm.backbone.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_word_dropout_hides_input_words_while_training_only_and_round_trips(tmp_path):
    model = build_text_classifier(config("lstm", "mean"), 50, 12, ["neg", "pos"],
                                  unknown_id=0, seed=3)
    inputs = {"token_ids": IDS, "padding_mask": MASK}
    assert model.input_dropout is None  # rate 0: no layer
    cfg = Config.resolve(overrides=["model.task=classifier", "model.architecture=lstm",
                                    "model.hidden_dim=16", "model.word_dropout=0.5",
                                    "model.dropout=0", "model.classifier_dropout=0"]).model
    model = build_text_classifier(cfg, 50, 12, ["neg", "pos"], unknown_id=0, seed=3)
    ids = np.asarray(model.input_dropout(IDS, MASK, training=True))
    assert (ids[MASK] == 0).mean() > 0.3 and (ids[~MASK] == IDS[~MASK]).all()
    # The only randomness left is the word dropout: inference is deterministic, training not.
    np.testing.assert_array_equal(np.asarray(model(inputs)), np.asarray(model(inputs)))
    trained = [np.asarray(model(inputs, training=True)) for _ in range(2)]
    assert not np.allclose(trained[0], trained[1])
    model.save(tmp_path / "m.keras")
    reloaded = load_model(tmp_path / "m.keras")
    assert reloaded.word_dropout == 0.5 and reloaded.unknown_id == 0
    np.testing.assert_array_equal(np.asarray(reloaded(inputs)), np.asarray(model(inputs)))
    with pytest.raises(ValueError, match="needs the tokenizer's `unknown_id`"):
        build_text_classifier(cfg, 50, 12, ["neg", "pos"])


def test_bad_arguments_are_refused():
    backbone = build_causal_lm(config("gpt"), 50, 12).backbone
    with pytest.raises(ValueError, match="at least 2. Received: 1"):
        TextClassifier(backbone, 1)
    with pytest.raises(ValueError, match="num_classes=3 names"):
        TextClassifier(backbone, 3, label_names=["a", "b"])
