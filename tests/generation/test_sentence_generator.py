import numpy as np
import pytest

from tf_lm.errors import InputError
from tf_lm.generation.sentence_generator import SentenceGenerator
from tf_lm.models import CausalLM, RecurrentBackbone, SentenceVAE
from tf_lm.tokenizers.word_tokenizer import WordTokenizer

TOKENIZER = WordTokenizer.from_corpus(["the cat sat on a mat", "dogs ran far"],
                                      end_token="<eos>")


@pytest.fixture(scope="module")
def generator():
    size = TOKENIZER.vocabulary_size()
    model = SentenceVAE(RecurrentBackbone(size, "gru", 1, 16),
                        CausalLM(RecurrentBackbone(size, "gru", 1, 16), tie_embeddings=False),
                        4, unknown_id=TOKENIZER.unknown_token_id, seed=0)
    model.build()
    model.to_state.kernel.assign(model.to_state.kernel * 8.0)  # z matters a lot
    return SentenceGenerator(model, TOKENIZER, 8)


def greedy_by_hand(model, z, steps):
    ids = [TOKENIZER.end_token_id]
    for _ in range(steps):
        logits = np.asarray(model.decode_logits(np.array([ids], "int32"), z[None]))
        ids.append(int(logits[0, -1].argmax()))
        if ids[-1] == TOKENIZER.end_token_id:
            break
    return ids[1:]


def test_greedy_decoding_of_z_is_the_argmax_path_of_the_decoder(generator):
    z = np.random.default_rng(0).normal(size=(3, 4)).astype("float32") * 2
    texts = generator.decode(z, max_new_tokens=6)
    for row, text in zip(z, texts):
        ids = greedy_by_hand(generator.model, row, 6)
        if ids and ids[-1] == TOKENIZER.end_token_id:
            ids = ids[:-1]
        assert text == (TOKENIZER.decode(ids) if ids else "")
    assert len(set(texts)) > 1  # different codes, different sentences
    assert generator.decode(z[:1], sampler="beam", num_beams=1, max_new_tokens=6) == texts[:1]


def test_sampling_the_prior_repeats_with_a_seed_and_interpolation_ends_at_reconstructions(
        generator):
    first = generator.sample(3, seed=5, sampler="top_k", top_k=5, max_new_tokens=6)
    assert first == generator.sample(3, seed=5, sampler="top_k", top_k=5, max_new_tokens=6)
    points = generator.interpolate("the cat sat", "dogs ran far", steps=4, max_new_tokens=6)
    assert [t for t, _ in points] == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert [points[0][1], points[-1][1]] == generator.reconstruct(
        ["the cat sat", "dogs ran far"], max_new_tokens=6)


@pytest.mark.parametrize("z, message", [
    (np.zeros((2, 3)), r"z must have shape \(n, 4\).*Received: shape \(2, 3\)"),
    (np.full((1, 4), np.nan), "z must be finite"),
])
def test_a_bad_z_is_refused_by_name(generator, z, message):
    with pytest.raises(InputError, match=message):
        generator.decode(z)


def test_empty_sentences_and_too_few_steps_are_refused(generator):
    with pytest.raises(InputError, match="Sentence 2 is empty"):
        generator.encode(["the cat", "  "])
    with pytest.raises(InputError, match="steps must be at least 2"):
        generator.interpolate("the cat", "a mat", steps=1)
