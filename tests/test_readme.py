"""The README's and docs/'s commands as a user types them: every ``scaler ...`` line of their code blocks goes
through the real argument parser (synopsis lines once per alternative, placeholders filled in), every flag their
prose names exists, every storage URL form they show opens, every link resolves, and CI runs the README's test
command, so the documentation cannot drift from the code."""

from __future__ import annotations

import argparse
import itertools
import re
import shlex
from pathlib import Path

import pytest

from scaler.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
#: The README and the docs/ pages it links to, by path from the repository's root.
DOCS = {str(p.relative_to(ROOT)): p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]}
README = DOCS["README.md"]
#: The README is what a newcomer reads first; details belong in docs/.
README_MAX_LINES = 250

#: What a synopsis placeholder stands for, by the flag before it (or the subcommand for a positional).
VALUES = {"--family": "resnet", "--width": "0.5", "--depth": "1.2", "--resolution": "32", "--data": "fashion-mnist",
          "--epochs": "1", "--trials": "4", "--storage": "sqlite:///results/studies.db", "--base": "latest",
          "--seeds": "3", "--run": "20261204-plain-cnn", "TARGET": "efficientnet-b0", "NAME": "efficientnet-b0",
          "FILE": "search_spaces/mbconv.arch", "RUN": "20261204-plain-cnn",
          "REF": "20261201-plain-cnn", "NAMES": "noise,rotate", "--labels": "0.1", "--iterations": "1"}


def code_lines(text: str) -> list[str]:
    """The ``scaler`` commands in a page's code blocks, indented or fenced (continuations joined, comments,
    ``&`` and ``.venv/bin/`` dropped; ``-m scaler`` under torchrun counts too)."""
    text = re.sub(r"\\\n\s*", " ", text)
    found, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not (fenced or line.startswith("    ")):
            continue
        line = line.split(" #")[0].strip().rstrip("&").strip()
        for part in line.split("&&"):
            part = re.sub(r"^.*?-m scaler ", "scaler ", part.strip()).replace(".venv/bin/scaler", "scaler")
            if part.startswith("scaler ") and not part.startswith("scaler:"):
                found.append(part)
    return found


def expansions(line: str) -> list[list[str]]:
    """argv lists for one line: ``[...]`` kept, each ``a|b|c`` alternative once, placeholders filled."""
    words = shlex.split(line.replace("[", " ").replace("]", " "))[1:]
    words = [w.replace("$SCALER_STORAGE", VALUES["--storage"]).replace("<base>", "b0") for w in words]
    options = []
    for i, word in enumerate(words):
        if re.fullmatch(r"[A-Z][A-Z_]*(\|[A-Z][A-Z_]*)*", word):  # a placeholder such as TARGET or NAME|FILE
            before = words[i - 1] if i else ""
            options.append([VALUES[w] for w in word.split("|")] if before not in VALUES else [VALUES[before]])
        elif "|" in word:
            options.append(word.split("|"))
        else:
            options.append([word])
    return [list(choice) for choice in itertools.product(*options)]


LINES = [(page, line) for page, text in DOCS.items() for line in code_lines(text)]


def test_the_readme_is_short_and_shows_the_main_commands() -> None:
    assert len(README.splitlines()) <= README_MAX_LINES, "the README grew: move the details into docs/"
    shown = {line.split()[1] for line in code_lines(README)}
    assert {"zoo", "inspect", "train", "search", "scale", "dashboard"} <= shown


def test_ci_runs_the_readmes_test_command() -> None:
    """The quick start's test command is, part for part, what .ci/run runs (there with SCALER_NO_SKIPS=1)."""
    shown = re.search(r"^ {4}(bash scripts/setup\.sh && \.venv/bin/python -m pytest)\b", README, re.MULTILINE)
    assert shown, "the README's quick start no longer shows its test command"
    ci = {re.sub(r"^(\w+=\S*\s+)*", "", line.strip()) for line in (ROOT / ".ci" / "run").read_text().splitlines()}
    for part in shown.group(1).split("&&"):
        assert part.strip() in ci, f".ci/run does not run {part.strip()!r}"


@pytest.mark.parametrize(("page", "line"), LINES)
def test_every_command_line_parses(page: str, line: str) -> None:
    parser = build_parser()
    for argv in expansions(line):
        try:
            parser.parse_args(argv)
        except SystemExit as exc:
            pytest.fail(f"{page}: line {line!r} as {argv} does not parse (exit {exc.code})")


def subcommands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


SPANS = sorted({(page, span) for page, text in DOCS.items()
                for span in re.findall(r"`(?:\.venv/bin/)?(scaler [^`]*)`", text)})


@pytest.mark.parametrize(("page", "span"), SPANS)
def test_every_flag_the_prose_names_exists(page: str, span: str) -> None:
    words = span.split()
    if words[1].endswith(":"):  # quoted output, "scaler: error: ..."
        return
    sub = subcommands()
    assert words[1] in sub, f"{page}: `{span}`: no subcommand {words[1]!r}"
    known = sub[words[1]]._option_string_actions
    for flag in (w.split("=")[0] for w in words[2:] if w.startswith("--")):
        assert flag in known, f"{page}: `{span}`: scaler {words[1]} has no {flag}"


#: Storage URLs as the pages show them, but not quoted output (a masked password, an elided path).
URLS = sorted({url for text in DOCS.values()
               for url in re.findall(r"\b(?:sqlite|postgres(?:ql)?(?:\+\w+)?)://[^\s`'\"]*", text)
               if "*" not in url and "..." not in url})


@pytest.mark.parametrize("url", URLS)
def test_every_storage_url_form_shown_opens_with_an_installed_driver(url: str) -> None:
    """SQLAlchemy knows the URL's driver and it is installed here (the ``postgres`` extra holds psycopg 3 and
    psycopg2), so a user who copies the form gets a connection attempt, not a driver error."""
    from scaler.study.storage import engine_url

    assert engine_url(url).endswith(url.split("://", 1)[1])


LINKS = sorted({(page, target) for page, text in DOCS.items()
                for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text) if "://" not in target})


@pytest.mark.parametrize(("page", "target"), LINKS)
def test_every_link_resolves(page: str, target: str) -> None:
    assert ((ROOT / page).parent / target).exists(), f"{page} links to {target}, which does not exist"


def test_the_readme_links_every_docs_page() -> None:
    linked = {target for page, target in LINKS if page == "README.md"}
    assert {page for page in DOCS if page.startswith("docs/")} <= linked


BENCHMARK_SPANS = sorted({span for text in DOCS.values()
                          for span in re.findall(r"`(?:\.venv/bin/python )?(benchmarks/\w+\.py[^`]*)`", text)})


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted({span.split()[0] for span in BENCHMARK_SPANS}))
def test_every_benchmark_the_docs_name_takes_the_flags_they_show(script: str) -> None:
    import subprocess
    import sys

    assert (ROOT / script).is_file(), f"the docs name {script}, which does not exist"
    flags = {w.split("=")[0] for span in BENCHMARK_SPANS if span.split()[0] == script for w in span.split()[1:]
             if w.startswith("--")}
    if not flags:
        return
    shown = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert shown.returncode == 0, shown.stderr[-1000:]
    for flag in flags:
        assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", shown.stdout), f"{script} has no {flag}"
