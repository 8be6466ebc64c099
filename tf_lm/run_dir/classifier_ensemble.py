"""An ensemble of classifier runs: every run's config checked first, then their models loaded
(what `evaluate`, `predict` and `export --ensemble` read)."""

from tf_lm.errors import InputError
from tf_lm.run_dir.run_directory import RunDirectory


def ensemble_configs(paths):
    """{run dir: config} of the runs, read before any model is loaded; refuses a run that is
    not a classifier."""
    configs = {}
    for path in paths:
        configs[path] = RunDirectory(path).require_config()
        if configs[path].model.task != "classifier":
            raise InputError(f"--ensemble {path} is not a classifier run (model.task="
                             f"{configs[path].model.task!r}); an ensemble averages "
                             "classifiers' probabilities")
    return configs


def load_ensemble(run_dir, label_names, paths):
    """[(run dir, config, tokenizer, preprocessor, model)] of the `paths` runs, to be averaged
    with `run_dir`'s classifier of labels `label_names`; refuses other labels."""
    ensemble_configs(paths)
    members = []
    for path in paths:
        run = RunDirectory(path)
        config, tokenizer, model = run.load()
        if list(model.label_names) != list(label_names):
            raise InputError(f"--ensemble {path} has labels {list(model.label_names)}, "
                             f"{run_dir} has {list(label_names)}; an ensemble's runs share "
                             "their labels")
        members.append((path, config, tokenizer, run.preprocessor(), model))
    return members
