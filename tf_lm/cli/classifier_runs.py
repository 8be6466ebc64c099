"""The classifier runs `evaluate` and `predict` read: one run, or an ensemble of runs whose
class probabilities are averaged."""

from tf_lm.errors import InputError

ENSEMBLE_HELP = ("another classifier run whose class probabilities are averaged with "
                 "--run-dir's (repeatable): an ensemble, e.g. of seeds")


def check_ensemble(run_dir, ensemble, adapters):
    """Refuse, before anything is loaded, a run given twice and adapters with an ensemble."""
    import os

    seen = {os.path.realpath(run_dir)}
    for path in ensemble:
        if os.path.realpath(path) in seen:
            raise InputError(f"--ensemble {path} is given twice (or is --run-dir); each run of "
                             "an ensemble counts once")
        seen.add(os.path.realpath(path))
    if ensemble and adapters:
        raise InputError("--adapters merges into one run; an --ensemble takes finished runs "
                         "(export or fine-tune the adapters into a run first)")


def ensemble_configs(ensemble):
    """{run dir: config} of the `ensemble` runs, read before any model is loaded; refuses a
    run that is not a classifier."""
    from tf_lm.run_dir.run_directory import RunDirectory

    configs = {}
    for path in ensemble:
        configs[path] = RunDirectory(path).require_config()
        if configs[path].model.task != "classifier":
            raise InputError(f"--ensemble {path} is not a classifier run (model.task="
                             f"{configs[path].model.task!r}); an ensemble averages "
                             "classifiers' probabilities")
    return configs


def ensemble_members(run_dir, config, tokenizer, model, ensemble):
    """[(run dir, config, tokenizer, preprocessor, model)]: `run_dir`'s, loaded already, then
    each `ensemble` run's; refuses a run that is not a classifier or has other labels."""
    from tf_lm.run_dir.run_directory import RunDirectory

    ensemble_configs(ensemble)
    members = [(run_dir, config, tokenizer, RunDirectory(run_dir).preprocessor(), model)]
    for path in ensemble:
        run = RunDirectory(path)
        member_config, member_tokenizer, member_model = run.load()
        if list(member_model.label_names) != list(model.label_names):
            raise InputError(f"--ensemble {path} has labels {list(member_model.label_names)}, "
                             f"{run_dir} has {list(model.label_names)}; an ensemble's runs "
                             "share their labels")
        members.append((path, member_config, member_tokenizer, run.preprocessor(),
                        member_model))
    return members


def probabilities_of(members, texts):
    """[(len(texts), classes) probabilities] of each member, each run encoding the texts its
    own way (tokenizer, preprocessing, length)."""
    from tf_lm.evaluation import class_probabilities

    return [class_probabilities(model, tokenizer, preprocessor, texts, config.data.block_size)
            for _, config, tokenizer, preprocessor, model in members]
