import numpy as np
import pytest
import tensorflow as tf

from tf_lm.generation import Decoder
from tf_lm.generation.beam_search import beam_search
from tf_lm.models import CausalLM, GPTBackbone, RecurrentBackbone

PROMPTS = [[1, 2, 3], [4, 5, 6, 7, 8, 9], [10]]


def gpt(context=32):
    model = CausalLM(GPTBackbone(13, 2, 2, 16, sequence_length=context))
    model.build((None, None))
    return model


def lstm():
    model = CausalLM(RecurrentBackbone(13, "lstm", 2, 16, embedding_dim=8),
                     tie_embeddings=False)
    model.build((None, None))
    return model


MODELS = {"gpt": gpt, "lstm": lstm}


def uncached_greedy(model, prompt, count):
    ids = list(prompt)
    for _ in range(count):
        logits = np.asarray(model(np.array([ids], "int32")))
        ids.append(int(np.argmax(logits[0, -1])))
    return ids[len(prompt):]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_cached_greedy_equals_uncached_greedy(name):
    model = MODELS[name]()
    outputs = Decoder(model).generate_ids(PROMPTS, max_new_tokens=12)
    for prompt, output in zip(PROMPTS, outputs):
        assert output == uncached_greedy(model, prompt, 12)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_batched_equals_one_by_one_with_the_same_seeds(name):
    decoder = Decoder(MODELS[name]())
    options = {"temperature": 1.0, "top_k": 5, "max_new_tokens": 10}
    batch = decoder.generate_ids(PROMPTS, seed=7, **options)
    alone = [decoder.generate_ids([p], seed=7 + i, **options)[0] for i, p in enumerate(PROMPTS)]
    assert batch == alone
    assert decoder.generate_ids(PROMPTS, seed=7, **options) == batch  # same seed, same text
    assert decoder.generate_ids(PROMPTS, seed=8, **options) != batch


def test_top_k_1_and_a_tiny_top_p_equal_greedy():
    decoder = Decoder(gpt())
    greedy = decoder.generate_ids(PROMPTS, 10)
    assert decoder.generate_ids(PROMPTS, 10, temperature=1.0, top_k=1, seed=3) == greedy
    assert decoder.generate_ids(PROMPTS, 10, temperature=1.0, top_p=1e-6, seed=3) == greedy


@pytest.mark.parametrize("name", sorted(MODELS))
def test_beam_width_1_equals_greedy(name):
    model = MODELS[name]()
    greedy = Decoder(model).generate_ids([PROMPTS[1]], 10)[0]
    assert beam_search(model, PROMPTS[1], 10, num_beams=1) == greedy


def sequence_log_probability(model, prompt, continuation):
    ids = np.array([prompt + continuation], "int32")
    log_probs = tf.nn.log_softmax(model(ids[:, :-1])).numpy()[0]
    return sum(log_probs[len(prompt) - 1 + i, t] for i, t in enumerate(continuation))


def test_wider_beams_find_likelier_continuations():
    model = gpt()
    greedy = beam_search(model, PROMPTS[0], 8, num_beams=1)
    wide = beam_search(model, PROMPTS[0], 8, num_beams=6, length_penalty=0.0)
    assert len(wide) == 8
    assert sequence_log_probability(model, PROMPTS[0], wide) >= \
        sequence_log_probability(model, PROMPTS[0], greedy) - 1e-5


def test_a_stop_token_ends_generation():
    decoder = Decoder(gpt())
    free = decoder.generate_ids([PROMPTS[1]], 10, temperature=1.0, seed=2)[0]
    stop = free[3]
    first = free.index(stop)
    stopped = decoder.generate_ids([PROMPTS[1]], 10, temperature=1.0, seed=2,
                                   stop_token_ids=[stop])[0]
    assert stopped == free[:first + 1]


def test_generation_longer_than_the_context_slides():
    model = gpt(context=16)
    output = Decoder(model).generate_ids([PROMPTS[1]], max_new_tokens=40)[0]
    assert len(output) == 40
    # The last chunk continues the last 16 - 8 tokens: check it against uncached greedy.
    history = PROMPTS[1] + output[:32]
    assert output[32:] == uncached_greedy(model, history[-8:], 8)


def test_a_row_that_fits_beside_a_sliding_row_is_unslid_and_independent():
    """A row that fits gives the plain continuation beside a row that slides, and each row
    gives what it gives alone."""
    model = gpt(context=16)
    decoder = Decoder(model)
    prompts = [PROMPTS[0], list(range(1, 13))]  # 3 + 10 <= 16 fits; 12 + 10 > 16 slides
    batch = decoder.generate_ids(prompts, max_new_tokens=10)
    assert batch == [decoder.generate_ids([p], max_new_tokens=10)[0] for p in prompts]
    assert batch[0] == uncached_greedy(model, prompts[0], 10)
    assert batch[1][:8] == uncached_greedy(model, prompts[1][-8:], 8)  # chunk of 16 // 2


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_loop_traced_without_xla_has_no_xla_ops_and_matches_jit(name):
    model = MODELS[name]()
    plain = Decoder(model, jit_compile=False)
    graph = plain.function(8, 8).get_concrete_function().graph
    ops = {op.type for op in graph.get_operations()}
    for function in graph.as_graph_def().library.function:
        ops |= {node.op for node in function.node_def}
    assert "While" in ops or "StatelessWhile" in ops
    assert not [op for op in ops if op.startswith("Xla") or op == "PyFunc"], sorted(ops)
    options = {"temperature": 0.9, "top_p": 0.9, "seed": 4, "max_new_tokens": 8}
    assert plain.generate_ids(PROMPTS, **options) == \
        Decoder(model, jit_compile=True).generate_ids(PROMPTS, **options)


def test_prompts_of_one_bucket_reuse_one_trace():
    decoder = Decoder(gpt())
    decoder.generate_ids([[1, 2, 3]], max_new_tokens=5)
    decoder.generate_ids([[1, 2, 3, 4, 5], [6]], max_new_tokens=7, temperature=0.5, seed=9)
    assert list(decoder._functions) == [(8, 8, None)]
    assert decoder._functions[(8, 8, None)].experimental_get_tracing_count() == 1


def test_a_text_generator_on_a_model_not_built_yet():
    from tf_lm.generation import TextGenerator
    from tf_lm.tokenizers import CharTokenizer

    tokenizer = CharTokenizer.from_corpus(["abcdefgh \n"])
    model = CausalLM(GPTBackbone(tokenizer.vocabulary_size(), 1, 2, 16, sequence_length=32))
    generator = TextGenerator(model, tokenizer)
    texts = generator.generate(["abc", "h"], max_new_tokens=6, sampler="top_k", top_k=3)
    assert len(texts) == 2 and all(len(t) == 6 for t in texts)
    assert generator.generate(["abc", "h"], max_new_tokens=6, sampler="top_k", top_k=3) == texts
