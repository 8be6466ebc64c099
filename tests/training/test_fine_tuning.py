import pytest

from tf_lm.config import Config
from tf_lm.errors import InputError
from tf_lm.models.builder import build_causal_lm, build_sentence_vae, build_text_classifier
from tf_lm.training.fine_tuning import layer_groups

SMALL = ["model.num_layers=2", "model.num_heads=2", "model.hidden_dim=16"]


def names_and_coverage(model):
    groups = layer_groups(model)
    variables = [v for _, group in groups for v in group]
    assert sorted(v.path for v in variables) == sorted(v.path for v in model.trainable_weights)
    return [name for name, _ in groups], {v.path: g for g, (_, group) in enumerate(groups)
                                          for v in group}


def test_a_gpt_classifiers_groups_run_from_the_head_down_to_the_embeddings():
    config = Config.resolve(overrides=SMALL + ["model.task=classifier"])
    names, group_of = names_and_coverage(build_text_classifier(config.model, 11, 8, ["a", "b"]))
    assert names == ["head", "transformer_block_1", "transformer_block_0", "embeddings"]
    assert {group_of[p] for p in group_of if "final_norm" in p} == {1}  # with the top block
    assert {group_of[p] for p in group_of if "position_embedding" in p} == {3}


def test_a_language_models_untied_head_is_the_top_group_and_a_tied_one_is_the_embeddings():
    untied = Config.resolve(overrides=SMALL + ["model.architecture=lstm",
                                               "model.tie_embeddings=false"])
    names, _ = names_and_coverage(build_causal_lm(untied.model, 11, 8))
    assert names == ["head", "lstm_1", "lstm_0", "embeddings"]
    tied = Config.resolve(overrides=SMALL)
    names, _ = names_and_coverage(build_causal_lm(tied.model, 11, 8))
    assert names == ["transformer_block_1", "transformer_block_0", "embeddings"]


def test_a_frozen_layer_makes_no_group_and_a_vae_has_none():
    config = Config.resolve(overrides=SMALL + ["model.architecture=lstm"])
    model = build_causal_lm(config.model, 11, 8)
    model.backbone.token_embedding.trainable = False  # tied: the output layer too
    names, _ = names_and_coverage(model)
    assert names == ["lstm_1", "lstm_0"]  # the lowest trainable group gets the lowest rate
    vae = Config.resolve(overrides=SMALL + ["model.architecture=lstm", "model.task=vae",
                                            "data.tokenizer=word"])
    with pytest.raises(InputError, match="apply to language models and classifiers"):
        layer_groups(build_sentence_vae(vae.model, vae.train, 11, 1))
