import json

import numpy as np
import pytest

from tf_lm.data.corpus import Corpus
from tf_lm.config import Config
from tf_lm.tokenizers import BytePairTokenizer

LAYERS, HEADS, WIDTH, POSITIONS = 2, 4, 64, 32


def hf_tensors(vocabulary_size, seed=0, prefix=""):
    """A random GPT-2 state dict, as `GPT2LMHeadModel.state_dict()` names and lays it out
    (Conv1D weights [in, out], the causal-mask buffers included)."""
    rng = np.random.default_rng(seed)
    e = WIDTH

    def normal(*shape, scale=0.1):
        return rng.normal(0, scale, shape).astype(np.float32)

    tensors = {"wte.weight": normal(vocabulary_size, e, scale=0.02),
               "wpe.weight": normal(POSITIONS, e, scale=0.02),
               "ln_f.weight": 1 + normal(e), "ln_f.bias": normal(e)}
    for i in range(LAYERS):
        h = f"h.{i}."
        tensors.update({
            h + "ln_1.weight": 1 + normal(e), h + "ln_1.bias": normal(e),
            h + "ln_2.weight": 1 + normal(e), h + "ln_2.bias": normal(e),
            h + "attn.c_attn.weight": normal(e, 3 * e), h + "attn.c_attn.bias": normal(3 * e),
            h + "attn.c_proj.weight": normal(e, e), h + "attn.c_proj.bias": normal(e),
            h + "mlp.c_fc.weight": normal(e, 4 * e), h + "mlp.c_fc.bias": normal(4 * e),
            h + "mlp.c_proj.weight": normal(4 * e, e), h + "mlp.c_proj.bias": normal(e),
            h + "attn.bias": np.tril(np.ones((POSITIONS, POSITIONS), np.float32))[None, None],
        })
    return {prefix + k: v for k, v in tensors.items()}


def hf_config(vocabulary_size, **changes):
    config = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_layer": LAYERS,
              "n_head": HEADS, "n_embd": WIDTH, "n_positions": POSITIONS, "n_ctx": POSITIONS,
              "vocab_size": vocabulary_size, "n_inner": None, "layer_norm_epsilon": 1e-5,
              "activation_function": "gelu_new", "resid_pdrop": 0.1, "embd_pdrop": 0.1,
              "attn_pdrop": 0.1, "bos_token_id": vocabulary_size - 1,
              "eos_token_id": vocabulary_size - 1}
    config.update(changes)
    return config


def write_checkpoint(directory, tokenizer, tensors=None, config=None):
    """Hugging Face's files: config.json, model.safetensors, vocab.json, merges.txt."""
    from safetensors.numpy import save_file

    directory.mkdir(parents=True, exist_ok=True)
    size = tokenizer.vocabulary_size()
    tensors = hf_tensors(size) if tensors is None else tensors
    save_file(tensors, str(directory / "model.safetensors"), metadata={"format": "pt"})
    (directory / "config.json").write_text(json.dumps(config or hf_config(size)), "utf-8")
    tokenizer.save_assets(str(directory))
    return directory


@pytest.fixture(scope="session")
def bpe():
    """A byte-level BPE trained on the first 200 kB of Tiny Shakespeare."""
    corpus = Corpus.from_config(Config().data)
    text = "".join(corpus.lines("train"))[:200_000]
    return BytePairTokenizer.from_corpus(text.splitlines(keepends=True), vocabulary_size=512)


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory, bpe):
    return write_checkpoint(tmp_path_factory.mktemp("hf") / "tiny-gpt2", bpe)
