"""`tf-lm export`: a run's model as a versioned SavedModel that stock TF Serving loads."""

import contextlib
import json
import os
import shutil

from tf_lm.config.export_config import NAME_PATTERN, ExportConfig
from tf_lm.errors import InputError
from tf_lm.run_dir.export_directory import ExportDirectory
from tf_lm.serving.models_config import model_versions


def check_name(name):
    """Refuse a model name TF Serving cannot use (it is a folder and a URL segment)."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InputError("The export name must start with a letter or digit and hold only "
                         f"letters, digits, '_', '-' and '.'. Received: name={name!r}")


def version_directory(base, name, version=None):
    """`base/name/version`, the next version when `version` is None; refuses what exists."""
    check_name(name)
    if os.path.exists(base) and not os.path.isdir(base):
        raise InputError(f"The export base '{base}' is a file; expected a directory.")
    model_dir = os.path.join(base, name)
    if os.path.exists(model_dir) and not os.path.isdir(model_dir):
        raise InputError(f"'{model_dir}' is a file; expected the model's directory.")
    if version is None:
        version = (model_versions(model_dir) or [0])[-1] + 1
    elif not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InputError(f"The export version must be an integer >= 1. Received: {version!r}")
    path = os.path.join(model_dir, str(version))
    if os.path.exists(path):
        raise InputError(f"Version {version} of '{name}' already exists at {path}; an export "
                         "never replaces one. Leave --version out for the next one.")
    return path


def export_model(model, tokenizer, base="export", name="tf_lm", version=None,
                 export_config=None, config=None, preprocessor=None, ensemble=()):
    """Write `model` and `tokenizer` as `base/name/VERSION/`; returns that path.

    The folder holds `saved_model.pb`, `variables/`, `assets/` (the vocabulary),
    `assets.extra/` (the warmup requests and `tf_lm_export.json`) and `keras/` (the model as
    `.keras` and the tokenizer, for Keras users). It is written under a hidden temporary name
    in `base/name/` and renamed into place at the end (TF Serving polls that folder and reads
    numeric folder names only), so the server never sees half a model. An existing version is
    never replaced.

    A `TextClassifier` exports `serving_default` (texts → label, probabilities) and a
    `classify` signature for TF Serving's Classify API (`ClassifierServingModule`); a
    `SentenceVAE` exports `encode`, `decode` and `sample` (`VAEServingModule`).

    Args:
        model: a built `CausalLM`, `TextClassifier` or `SentenceVAE`.
        tokenizer: its tokenizer.
        base, name, version: where (version None: the next integer).
        export_config: `ExportConfig` for the request limits (defaults if None).
        config: the run's `Config`, recorded in the metadata (optional; a classifier or a
            VAE takes its text length, `data.block_size`, from it).
        preprocessor: a classifier's `TextPreprocessor` (None: none).
        ensemble: a classifier's fellow members, `(model, tokenizer, preprocessor, config)`
            each: the export serves the mean of all their probabilities, and `keras/ensemble/K/`
            holds member K's model and tokenizer.
    """
    import tensorflow as tf

    from tf_lm.serving.graph_ops import saved_model_ops, unservable_ops
    from tf_lm.serving.serving_module import ServingModule
    from tf_lm.serving.warmup import WARMUP_FILE, write_warmup_requests

    export_config = export_config or ExportConfig()
    version_directory(base, name, version)  # refuse bad arguments before any work
    classifier = hasattr(model, "label_names")
    if ensemble and not classifier:
        raise InputError("An ensemble export averages classifiers; this model is not one")
    if classifier:
        from tf_lm.serving.classifier_serving_module import ClassifierServingModule
        from tf_lm.tokenizers.text_preprocessor import TextPreprocessor

        preprocessor = preprocessor or TextPreprocessor()
        module = ClassifierServingModule(
            model, tokenizer, preprocessor, _classifier_length(model, config),
            [(m, t, p or TextPreprocessor(), _classifier_length(m, c))
             for m, t, p, c in ensemble])
    elif hasattr(model, "latent_dim"):
        from tf_lm.serving.vae_serving_module import VAEServingModule

        module = VAEServingModule(model, tokenizer, _classifier_length(model, config),
                                  export_config.max_new_tokens_limit)
    else:
        module = ServingModule(model, tokenizer, export_config.max_new_tokens_limit,
                               export_config.default_max_new_tokens,
                               export_config.max_input_tokens)
    with _reserved_version(base, name, version) as final:
        temporary = os.path.join(os.path.dirname(final), f".tmp-{os.path.basename(final)}")
        shutil.rmtree(temporary, ignore_errors=True)  # left by a killed export; ours now
        try:
            tf.saved_model.save(module, temporary, signatures=module.signatures())
            if classifier:
                from tf_lm.serving.classifier_serving_module import mark_classify_signature

                mark_classify_signature(temporary)
            bad = unservable_ops(saved_model_ops(temporary))
            if bad:
                raise InputError(f"The exported graph has ops TF Serving cannot run: {bad}")
            layout = ExportDirectory(temporary)
            extra = os.path.dirname(layout.metadata_path)
            os.makedirs(extra, exist_ok=True)
            write_warmup_requests(os.path.join(extra, WARMUP_FILE), module, name,
                                  _warmup_text(tokenizer, getattr(module, "start_ids", ())))
            with open(layout.metadata_path, "w", encoding="utf-8") as handle:
                json.dump(_metadata(module, tokenizer, name, final, config), handle, indent=2)
                handle.write("\n")
            os.makedirs(os.path.dirname(layout.model_path))
            model.save(layout.model_path)
            tokenizer.save(layout.tokenizer_dir)
            if classifier:
                preprocessor.save(layout.tokenizer_dir)
            for number, (member, member_tokenizer, member_preprocessor, _) in enumerate(
                    ensemble, 1):
                folder = os.path.join(os.path.dirname(layout.model_path), "ensemble",
                                      str(number))
                os.makedirs(folder)
                member.save(os.path.join(folder, "model.keras"))
                member_tokenizer.save(os.path.join(folder, "tokenizer"))
                if member_preprocessor is not None:
                    member_preprocessor.save(os.path.join(folder, "tokenizer"))
            os.rename(temporary, final)  # `final` does not exist: the reservation holds it
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
    return final


@contextlib.contextmanager
def _reserved_version(base, name, version):
    """Hold `base/name/VERSION` for this export: a `.VERSION.lock` file created with O_EXCL,
    so two exports at once never pick the same version (the next free one is taken when
    `version` is None) and a version is never replaced. Yields the version path."""
    model_dir = os.path.join(base, name)
    try:
        os.makedirs(model_dir, exist_ok=True)
    except OSError as e:
        raise InputError(f"Cannot create the export directory {model_dir}: {e.strerror}") \
            from None
    while True:
        final = version_directory(base, name, version)
        lock = os.path.join(model_dir, f".{os.path.basename(final)}.lock")
        try:
            os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            if version is not None:
                raise InputError(f"Version {version} of '{name}' is being exported by another "
                                 f"process ({lock} exists; remove it if none is running).") \
                    from None
            version = int(os.path.basename(final)) + 1  # taken: try the next one
            continue
        break
    try:
        if os.path.exists(final):  # appeared between the check and the lock
            raise InputError(f"Version {os.path.basename(final)} of '{name}' already exists at "
                             f"{final}; an export never replaces one.")
        yield final
    finally:
        os.remove(lock)


def export_run(run_dir, base=None, name=None, version=None, adapters=None, ensemble=()):
    """Export the model of a run directory (see `export_model`); returns the version path.

    `base`, `name` and `version` default to the run's `export` config; `adapters`, a LoRA
    adapters file fine-tuned from this run, is merged into the kernels first; `ensemble`,
    more classifier run directories with the same labels, served as one averaged model.
    """
    from tf_lm.run_dir.classifier_ensemble import load_ensemble
    from tf_lm.run_dir.run_directory import RunDirectory

    run = RunDirectory(run_dir)
    config, tokenizer, model = run.load(adapters)
    export_config = config.export
    base = base if base is not None else export_config.base
    name = name if name is not None else export_config.name
    version = version if version is not None else export_config.version
    version_directory(base, name, version)  # refuse before the slow part
    members = []
    if ensemble:
        if not hasattr(model, "label_names"):
            raise InputError(f"--ensemble averages classifiers' probabilities; {run_dir} is "
                             "not a classifier run")
        members = [(member, member_tokenizer, preprocessor, member_config)
                   for _, member_config, member_tokenizer, preprocessor, member
                   in load_ensemble(run_dir, model.label_names, ensemble)]
    return export_model(model, tokenizer, base, name, version, export_config, config,
                        run.preprocessor(), members)


def _classifier_length(model, config):
    """Tokens per text (a classifier's or a VAE's): the run's `data.block_size`, else the
    backbone's context."""
    if config is not None:
        return config.data.block_size
    length = getattr(model.backbone, "sequence_length", None)
    if not length:
        raise InputError("A recurrent model has no context of its own; pass config= (its "
                         "run's config) so the export knows how many tokens a text keeps")
    return length


def _warmup_text(tokenizer, start_ids):
    """A short valid text for the warmup requests: the first ordinary vocabulary entries."""
    special = {tokenizer.end_token_id, tokenizer.unknown_token_id}
    ids = [i for i in range(min(tokenizer.vocabulary_size(), 64)) if i not in special][:4]
    text = tokenizer.decode(ids) if ids else ""
    return text if text.strip() else tokenizer.decode(list(start_ids) * 2) or "a"


def _metadata(module, tokenizer, name, path, config):
    import tf_lm

    common = {
        "format_version": 1,
        "tf_lm_version": tf_lm.__version__,
        "name": name,
        "version": int(os.path.basename(path)),
        "signatures": _signature_summary(module),
    }
    if hasattr(module, "describe"):  # a classifier or a VAE
        return {**common, **module.describe(), "tokenizer": tokenizer.kind,
                "vocabulary_size": int(tokenizer.vocabulary_size()),
                "config": config.to_dict() if config is not None else None}
    return {
        **common,
        "task": "causal_lm",
        "defaults": module.defaults,
        "limits": {"max_new_tokens": module.max_new_tokens_limit,
                   "max_input_tokens": module.max_input_tokens},
        "context": module.context,
        "vocabulary_size": module.vocabulary_size,
        "start_token_ids": list(module.start_ids),
        "stop_token_ids": list(module.stop_ids),
        "tokenizer": tokenizer.kind,
        "config": config.to_dict() if config is not None else None,
    }


def _signature_summary(module):
    """{signature: {"inputs": {name: "dtype shape"}, "outputs": {...}}}, read from the traced
    functions (the SignatureDefs the server reads)."""
    def describe(spec):
        return f"{spec.dtype.name} {spec.shape}"

    summary = {}
    for key, function in module.signatures().items():
        concrete = function.get_concrete_function()
        args, kwargs = concrete.structured_input_signature
        summary[key] = {
            "inputs": {spec.name: describe(spec) for spec in list(args) + list(kwargs.values())},
            "outputs": {name: describe(tensor)
                        for name, tensor in concrete.structured_outputs.items()}}
    return summary
