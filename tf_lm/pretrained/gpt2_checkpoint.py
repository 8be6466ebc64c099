"""A Hugging Face GPT-2 checkpoint on disk, read and checked tensor by tensor."""

import json
import os
import re

import numpy as np

from tf_lm.errors import InputError

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"
PICKLES = ("pytorch_model.bin", "pytorch_model.bin.index.json", "tf_model.h5", "flax_model.msgpack")

# Hugging Face's activation names -> tf_lm's.
ACTIVATIONS = {"gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "gelu": "gelu",
               "relu": "relu", "silu": "silu", "swish": "silu"}
# Settings whose non-default value changes the computation in a way tf_lm does not implement.
UNSUPPORTED = {"scale_attn_by_inverse_layer_idx": False, "reorder_and_upcast_attn": False,
               "scale_attn_weights": True, "add_cross_attention": False,
               "tie_word_embeddings": True}
# Buffers of the PyTorch module, not weights.
BUFFERS = re.compile(r"h\.\d+\.attn\.(bias|masked_bias)$")
DTYPES = ("F32", "F16")  # read as float32


class GPT2Checkpoint:
    """The files of a GPT-2 checkpoint: `config.json`, `model.safetensors` (or a sharded
    `model.safetensors.index.json`), `vocab.json` and `merges.txt`.

    Tensors are read with the `safetensors` package's NumPy API; pickled PyTorch files are
    refused, since unpickling runs code. Every check names the file or tensor at fault.

    Args:
        directory: the checkpoint folder.

    Example:
    ```python
    checkpoint = GPT2Checkpoint("gpt2/")
    checkpoint.model_options()  # {"num_layers": 12, "num_heads": 12, ...}
    ```
    """

    def __init__(self, directory):
        self.directory = os.path.abspath(os.fspath(directory))
        if not os.path.isdir(self.directory):
            raise InputError(f"Checkpoint folder not found: {self.directory}")
        self.config = self._read_config()
        self.shards = self._shards()
        for name in ("vocab.json", "merges.txt"):
            if not os.path.isfile(os.path.join(self.directory, name)):
                raise InputError(f"{self.directory} has no {name}: a GPT-2 checkpoint needs "
                                 "its tokenizer files (vocab.json and merges.txt)")

    # ---- config ----------------------------------------------------------------------
    def _read_config(self):
        path = os.path.join(self.directory, CONFIG_FILE)
        if not os.path.isfile(path):
            raise InputError(f"{self.directory} is not a Hugging Face checkpoint: no {CONFIG_FILE}")
        try:
            with open(path, encoding="utf-8") as f:
                config = json.load(f)
        except (OSError, ValueError) as e:
            raise InputError(f"'{path}' is not valid JSON: {e}") from None
        if not isinstance(config, dict) or config.get("model_type") != "gpt2":
            found = config.get("model_type") if isinstance(config, dict) else None
            raise InputError(f"'{path}' has model_type {found!r}; tf-lm import reads 'gpt2' "
                             "checkpoints")
        for key, default in UNSUPPORTED.items():
            if config.get(key, default) != default:
                raise InputError(f"'{path}' sets {key}={config[key]!r}, which tf_lm does not "
                                 f"implement (it computes GPT-2 with {key}={default!r})")
        activation = config.get("activation_function", "gelu_new")
        if activation not in ACTIVATIONS:
            raise InputError(f"'{path}' sets activation_function={activation!r}; tf_lm "
                             f"implements {', '.join(ACTIVATIONS)}")
        for key in ("n_layer", "n_head", "n_embd", "n_positions", "vocab_size"):
            value = config.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"'{path}': {key} must be a positive integer. Received: "
                                 f"{value!r}")
        n_inner = config.get("n_inner")
        if n_inner is not None and (not isinstance(n_inner, int) or isinstance(n_inner, bool)
                                    or n_inner < 1):
            raise InputError(f"'{path}': n_inner must be null or a positive integer. Received: "
                             f"{n_inner!r}")
        epsilon = config.get("layer_norm_epsilon", 1e-5)
        if not isinstance(epsilon, (int, float)) or isinstance(epsilon, bool) or epsilon < 0:
            raise InputError(f"'{path}': layer_norm_epsilon must be a number >= 0. Received: "
                             f"{epsilon!r}")
        if config["n_embd"] % config["n_head"]:
            raise InputError(f"'{path}': n_embd={config['n_embd']} is not divisible by "
                             f"n_head={config['n_head']}")
        return config

    def model_options(self):
        """The `model` config section (tf_lm's keys) this checkpoint's architecture needs."""
        c = self.config
        return {"architecture": "gpt", "num_layers": c["n_layer"], "num_heads": c["n_head"],
                "hidden_dim": c["n_embd"], "embedding_dim": 0,
                "intermediate_dim": c.get("n_inner") or 4 * c["n_embd"],
                "use_bias": True, "tie_embeddings": True, "position_encoding": "learned",
                "norm_position": "pre",
                "activation": ACTIVATIONS[c.get("activation_function", "gelu_new")],
                "layer_norm_epsilon": float(c.get("layer_norm_epsilon", 1e-5)),
                "dropout": 0.0}

    @property
    def sequence_length(self):
        return self.config["n_positions"]

    @property
    def vocabulary_size(self):
        return self.config["vocab_size"]

    # ---- tensors ---------------------------------------------------------------------
    def _shards(self):
        """{tensor name: file} from the index, or every tensor of the single file."""
        index = os.path.join(self.directory, INDEX_FILE)
        single = os.path.join(self.directory, WEIGHTS_FILE)
        if os.path.isfile(index):
            try:
                with open(index, encoding="utf-8") as f:
                    weight_map = json.load(f)["weight_map"]
                files = {os.path.join(self.directory, name) for name in weight_map.values()}
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
                raise InputError(f"'{index}' is not a valid safetensors index: {e}") from None
            for path in files:
                if not os.path.isfile(path):
                    raise InputError(f"'{index}' names {os.path.basename(path)}, which is missing")
            headers = {path: _header(path) for path in sorted(files)}
            shards = {}
            for name, file in weight_map.items():
                path = os.path.join(self.directory, file)
                if name not in headers[path]:
                    raise InputError(f"'{index}' puts tensor {name} in {file}, which lacks it")
                shards[name] = (path, headers[path][name])
            return shards
        if not os.path.isfile(single):
            pickles = [p for p in PICKLES if os.path.exists(os.path.join(self.directory, p))]
            if pickles:
                raise InputError(
                    f"{self.directory} holds {pickles[0]} but no {WEIGHTS_FILE}: tf_lm reads only "
                    "safetensors, since loading a pickle runs code. Convert it once with "
                    "transformers: GPT2LMHeadModel.from_pretrained(DIR).save_pretrained(DIR, "
                    "safe_serialization=True)")
            raise InputError(f"{self.directory} has no {WEIGHTS_FILE} or {INDEX_FILE}")
        return {name: (single, info) for name, info in _header(single).items()}

    def tensors(self):
        """{tf_lm name: float32 array} for every weight, after checking names, shapes and dtypes.

        tf_lm names: `wte`, `wpe`, `h.N.<module>.weight/bias` and `ln_f.*`, with the optional
        `transformer.` prefix removed.
        """
        expected = self.expected_shapes()
        found, tied_head = {}, None
        for name, (path, (dtype, shape)) in self.shards.items():
            short = name[len("transformer."):] if name.startswith("transformer.") else name
            if BUFFERS.fullmatch(short):
                continue
            if short == "lm_head.weight":
                tied_head = (name, path, dtype, shape)
                continue
            if short not in expected:
                raise InputError(f"Tensor {name} in {os.path.basename(path)} is not a GPT-2 "
                                 "weight tf_lm knows (unexpected tensor)")
            if short in found:
                raise InputError(f"Tensor {short} appears twice in the checkpoint")
            if tuple(shape) != expected[short]:
                raise InputError(f"Tensor {name} has shape {tuple(shape)}; config.json implies "
                                 f"{expected[short]}")
            if dtype not in DTYPES:
                raise InputError(f"Tensor {name} is {dtype}; tf_lm reads F32 and F16 "
                                 "safetensors")
            found[short] = (name, path)
        missing = [n for n in expected if n not in found]
        if missing:
            raise InputError(f"Tensor {missing[0]} is missing from the checkpoint"
                             + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
        if tied_head is not None:
            found["lm_head.weight"] = tied_head[:2]
        by_file = {}
        for short, (name, path) in found.items():
            by_file.setdefault(path, {})[name] = short
        arrays = {}
        for path, names in by_file.items():
            arrays.update({names[name]: array for name, array in _read(path, names).items()})
        if tied_head is not None:
            name, _, _, shape = tied_head
            head = arrays.pop("lm_head.weight")
            if tuple(shape) != expected["wte.weight"] or not np.array_equal(
                    head, arrays["wte.weight"]):
                raise InputError(f"Tensor {name} differs from wte.weight; tf_lm's GPT-2 ties the "
                                 "output layer to the token embedding")
        return arrays

    def expected_shapes(self):
        c = self.config
        e, inner = c["n_embd"], c.get("n_inner") or 4 * c["n_embd"]
        shapes = {"wte.weight": (c["vocab_size"], e), "wpe.weight": (c["n_positions"], e),
                  "ln_f.weight": (e,), "ln_f.bias": (e,)}
        for i in range(c["n_layer"]):
            for module, shape in (("ln_1", (e,)), ("ln_2", (e,))):
                shapes[f"h.{i}.{module}.weight"] = shape
                shapes[f"h.{i}.{module}.bias"] = shape
            for module, (n_in, n_out) in (("attn.c_attn", (e, 3 * e)), ("attn.c_proj", (e, e)),
                                          ("mlp.c_fc", (e, inner)), ("mlp.c_proj", (inner, e))):
                shapes[f"h.{i}.{module}.weight"] = (n_in, n_out)  # Conv1D: [in, out]
                shapes[f"h.{i}.{module}.bias"] = (n_out,)
        return shapes

    def load_into(self, model):
        """Assigns every weight to a `CausalLM` over a `GPTBackbone` built for
        `model_options()`; returns the number of values assigned."""
        arrays = self.tensors()
        backbone = model.backbone
        pairs = [(backbone.token_embedding.embeddings, "wte.weight"),
                 (backbone.position_embedding.position_embeddings, "wpe.weight"),
                 (backbone.final_norm.gamma, "ln_f.weight"),
                 (backbone.final_norm.beta, "ln_f.bias")]
        for i, block in enumerate(backbone.transformer_blocks):
            h = f"h.{i}."
            for layer, module in ((block.attention_norm, "ln_1"),
                                  (block.feed_forward_norm, "ln_2")):
                pairs += [(layer.gamma, h + module + ".weight"),
                          (layer.beta, h + module + ".bias")]
            for layer, module in ((block.attention.qkv_dense, "attn.c_attn"),
                                  (block.attention.output_dense, "attn.c_proj"),
                                  (block.feed_forward.intermediate_dense, "mlp.c_fc"),
                                  (block.feed_forward.output_dense, "mlp.c_proj")):
                # Conv1D stores [in, out] like a Keras Dense kernel; c_attn's columns are
                # Q, K, V, each split into heads, which is how tf_lm's qkv layer reads them.
                pairs += [(layer.kernel, h + module + ".weight"),
                          (layer.bias, h + module + ".bias")]
        if len(pairs) != len(arrays) or len(model.weights) != len(pairs):
            raise RuntimeError(f"GPT-2 maps {len(arrays)} tensors onto {len(pairs)} of the "
                               f"model's {len(model.weights)} weights")
        for variable, name in pairs:
            variable.assign(arrays[name])
        return sum(a.size for a in arrays.values())


def _header(path):
    """{name: (dtype, shape)} of a safetensors file, read without loading the tensors; a file
    cut short or damaged is refused by name."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(path, framework="np") as f:
            return {name: (f.get_slice(name).get_dtype(), tuple(f.get_slice(name).get_shape()))
                    for name in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise InputError(f"'{path}' is not a readable safetensors file (truncated or "
                         f"damaged?): {e}") from None


def _read(path, names):
    """{name: float32 array} of the tensors `names` of one safetensors file, opened once."""
    from safetensors import SafetensorError, safe_open

    arrays = {}
    with safe_open(path, framework="np") as f:
        for name in names:
            try:
                arrays[name] = np.asarray(f.get_tensor(name), dtype=np.float32)
            except (SafetensorError, OSError, ValueError) as e:
                raise InputError(f"Tensor {name} in '{path}' is unreadable: {e}") from None
    return arrays
