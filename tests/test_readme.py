"""The README is an entry page: short, links that resolve, commands that parse, a quick start
that runs."""

import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tf_lm.cli.config_args import split_overrides
from tf_lm.cli.main import build_parser
from tf_lm.config import Config

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))


def text_of(path):
    return path.read_text(encoding="utf-8")


def quickstart_code(text):
    """The first ```python block after the `<!-- quickstart` marker."""
    start = text.index("<!-- quickstart")
    match = re.compile(r"```python\n(.*?)```", re.S).search(text, start)
    assert match, "no ```python block after the quickstart marker"
    return match.group(1)


def links(path):
    """(file, anchor) of each markdown link in `path` to this repository (no URLs)."""
    targets = re.findall(r"\]\(([^)\s]+)\)", text_of(path))
    return [tuple(t.partition("#")[::2]) for t in targets if "://" not in t]


def anchors(path):
    """GitHub's anchors for the headings of a markdown file."""
    text = re.sub(r"```.*?```", "", text_of(path), flags=re.S)  # comments in code are no headings
    headings = re.findall(r"^#+ (.+)$", text, re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def commands(text):
    """The `tf-lm` commands a reader is told to run: lines of ```bash blocks, the Results
    table's command column, and inline code with flags (bare names like `tf-lm evaluate` are
    not commands)."""
    found = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            found += [part.strip() for part in line.split("&&")
                      if part.strip().startswith("tf-lm ")]
    in_table = False
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[-1] == "command":
            in_table = True
        elif in_table and line.startswith("|") and not set(cells[-1]) <= set("- "):
            found += re.findall(r"`(tf-lm [^`]+)`", cells[-1])
        elif not line.startswith("|"):
            in_table = False
    found += [span for span in re.findall(r"`(tf-lm [^`]+)`", text) if " --" in span]
    return sorted(set(found))


def test_the_readme_is_an_entry_page_not_a_journal():
    lines = text_of(README).splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; move details to docs/"


def test_the_readme_links_every_docs_page_and_every_link_resolves():
    readme_links = links(README)
    linked = {target for target, _ in readme_links}
    unlinked = [f"docs/{page.name}" for page in PAGES
                if page.name != "README.md" and f"docs/{page.name}" not in linked]
    assert not unlinked, f"README.md does not link {unlinked}"
    for target, anchor in readme_links:
        assert (ROOT / target).exists(), f"README.md links to {target}, which does not exist"
        if anchor and target.endswith(".md"):
            assert anchor in anchors(ROOT / target), f"README.md links to {target}#{anchor}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_the_links_of_each_docs_page_resolve(page):
    for target, anchor in links(page):
        path = (page.parent / target).resolve() if target else page
        assert path.exists(), f"docs/{page.name} links to {target}, which does not exist"
        if anchor and path.suffix == ".md":
            assert anchor in anchors(path), f"docs/{page.name} links to {target}#{anchor}"


@pytest.mark.parametrize("path", [README, *PAGES], ids=lambda path: path.name)
def test_the_commands_parse(path):
    found = commands(text_of(path))
    if path == README:
        assert "tf-lm train" in found and "tf-lm bench train" in found
    for command in found:
        argv = shlex.split(command)[1:]
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # --help prints and exits 0
                args, extra = build_parser().parse_known_args(argv)
            Config.resolve(preset=getattr(args, "preset", None),
                           overrides=split_overrides(args.parser, extra))
        except SystemExit as e:
            assert e.code == 0, f"{path.name}: the command does not parse: {command}"


@pytest.mark.slow  # about 40 s on two idle cores, 60-75 s beside other tests
def test_the_quick_start_runs_as_written(tmp_path):
    # In an empty working directory, so the run directory it writes stays out of the checkout.
    script = tmp_path / "quickstart.py"
    script.write_text(quickstart_code(text_of(README)), encoding="utf-8")
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=path)
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=environment,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    loss = re.search(r"^validation loss (\d+\.\d+)$", result.stdout, re.M)
    assert loss, result.stdout[-2000:]
    assert float(loss.group(1)) < 3.0  # a uniform guess over 65 characters costs ln 65 = 4.17
    continuation = result.stdout[loss.end():].split("ROMEO:", 1)[1]
    assert len("".join(continuation.split())) >= 20, result.stdout[-2000:]
    assert (tmp_path / "runs" / "quickstart" / "model.keras").is_file()
