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


def ensemble_members(run_dir, config, tokenizer, model, ensemble):
    """[(run dir, config, tokenizer, preprocessor, model)]: `run_dir`'s, loaded already, then
    each `ensemble` run's (`tf_lm.run_dir.classifier_ensemble.load_ensemble`)."""
    from tf_lm.run_dir.classifier_ensemble import load_ensemble
    from tf_lm.run_dir.run_directory import RunDirectory

    first = (run_dir, config, tokenizer, RunDirectory(run_dir).preprocessor(), model)
    return [first] + load_ensemble(run_dir, model.label_names, ensemble)


def probabilities_of(members, texts):
    """[(len(texts), classes) probabilities] of each member, each run encoding the texts its
    own way (tokenizer, preprocessing, length)."""
    from tf_lm.evaluation import class_probabilities

    return [class_probabilities(model, tokenizer, preprocessor, texts, config.data.block_size)
            for _, config, tokenizer, preprocessor, model in members]
