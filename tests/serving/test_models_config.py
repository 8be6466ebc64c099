import pytest
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from tf_lm.errors import InputError
from tf_lm.serving import models_config_text
from tf_lm.serving.models_config import model_versions


def parse(text):
    return text_format.Parse(text, model_server_config_pb2.ModelServerConfig())


def test_every_model_is_listed_with_its_newest_version(tmp_path):
    for folder in ("tf_lm/1", "tf_lm/3", "tf_lm/.tmp-4-123", "words/2"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "README.md").write_text("not a model")
    (tmp_path / "empty").mkdir()
    assert model_versions(tmp_path / "tf_lm") == [1, 3]
    config = parse(models_config_text(str(tmp_path), "/models/"))
    models = {c.name: c for c in config.model_config_list.config}
    assert set(models) == {"tf_lm", "words"}
    assert models["tf_lm"].base_path == "/models/tf_lm"
    assert models["tf_lm"].model_platform == "tensorflow"
    assert list(models["tf_lm"].model_version_policy.specific.versions) == [3]
    assert dict(models["tf_lm"].version_labels) == {"stable": 3}
    assert dict(models["words"].version_labels) == {"stable": 2}


def test_the_committed_template_parses():
    with open("export/models.config", encoding="utf-8") as handle:
        config = parse(handle.read())
    (model,) = config.model_config_list.config
    assert model.name == "tf_lm" and model.base_path == "/models/tf_lm"


def test_a_base_without_models_is_refused(tmp_path):
    with pytest.raises(InputError, match="Export base directory not found"):
        models_config_text(str(tmp_path / "missing"))
    with pytest.raises(InputError, match="No exported model under"):
        models_config_text(str(tmp_path))
