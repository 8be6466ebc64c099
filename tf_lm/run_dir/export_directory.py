"""One exported model version, read back: for `--init-from`, benchmarks and tools."""

import json
import os

from tf_lm.config import Config
from tf_lm.errors import InputError
from tf_lm.models import load_model
from tf_lm.tokenizers import load_tokenizer

METADATA_FILE = "tf_lm_export.json"


class ExportDirectory:
    """A version folder written by `tf-lm export` (`base/name/VERSION/`).

    Layout:
        saved_model.pb, variables/, assets/    what TF Serving loads
        assets.extra/tf_lm_export.json         signatures, limits and the run's config
        assets.extra/tf2_serving_warmup_requests
        keras/model.keras, keras/tokenizer/    the same model for Keras users
        keras/ensemble/K/                      an ensemble's K-th other classifier

    Args:
        path: the version folder.
    """

    def __init__(self, path):
        self.path = os.path.abspath(str(path))
        self.saved_model_path = os.path.join(self.path, "saved_model.pb")
        self.metadata_path = os.path.join(self.path, "assets.extra", METADATA_FILE)
        self.model_path = os.path.join(self.path, "keras", "model.keras")
        self.tokenizer_dir = os.path.join(self.path, "keras", "tokenizer")

    @staticmethod
    def holds_export(path):
        """Whether `path` is a version folder, or a model folder with at least one."""
        return bool(_versions(path)) or os.path.isfile(os.path.join(path, "saved_model.pb"))

    @classmethod
    def newest(cls, path, flag):
        """`path` when it is a version folder, else the highest numbered version in it (a model
        folder such as `export/tf_lm`); `flag` names the argument in the error."""
        if os.path.isfile(os.path.join(path, "saved_model.pb")):
            return cls(path)
        versions = _versions(path)
        if not versions:
            raise InputError(
                f"{flag} must be an exported model version (a folder with saved_model.pb) or "
                f"a model folder of numbered versions. Received: {path!r}")
        return cls(os.path.join(path, str(versions[-1])))

    def metadata(self):
        """The export's `tf_lm_export.json`."""
        try:
            with open(self.metadata_path, encoding="utf-8") as handle:
                return json.load(handle)
        except FileNotFoundError:
            raise InputError(f"Export {self.path} has no {METADATA_FILE} in assets.extra/; "
                             "it was not written by `tf-lm export`.") from None
        except (OSError, ValueError) as e:
            raise InputError(f"{self.metadata_path} is unreadable: {e}") from None

    def require_config(self):
        """The config of the run the export was made from; an export without one is refused."""
        metadata = self.metadata()
        if metadata.get("ensemble"):
            raise InputError(f"Export {self.path} is an ensemble of {len(metadata['ensemble'])} "
                             "classifiers; start from one of its runs instead")
        config = metadata.get("config")
        if config is None:
            raise InputError(f"Export {self.path} records no config (exported from Python "
                             "without `config=`); start from its run directory instead.")
        return Config.from_dict(config)

    def load(self):
        """(config, tokenizer, model), the Keras model and tokenizer stored beside the graph."""
        config = self.require_config()
        for path in (self.model_path, self.tokenizer_dir):
            if not os.path.exists(path):
                raise InputError(f"Export {self.path} lacks {os.path.relpath(path, self.path)}")
        model = load_model(self.model_path, compile=False)
        return config, load_tokenizer(self.tokenizer_dir), model


def _versions(path):
    """The numbered subfolders of `path` that hold a saved_model.pb, ascending."""
    if not os.path.isdir(path):
        return []
    return sorted(int(name) for name in os.listdir(path) if name.isdigit()
                  and os.path.isfile(os.path.join(path, name, "saved_model.pb")))
