"""The README's commands as a user types them: every ``scaler ...`` line of its code blocks goes
through the real argument parser (synopsis lines once per alternative, placeholders filled in), and
every flag its prose names exists, so the README cannot drift from the code."""

from __future__ import annotations

import argparse
import itertools
import re
import shlex
from pathlib import Path

import pytest

from scaler.cli import build_parser

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()

#: What a synopsis placeholder stands for, by the flag before it (or the subcommand for a positional).
VALUES = {"--family": "resnet", "--width": "0.5", "--depth": "1.2", "--resolution": "32", "--data": "fashion-mnist",
          "--epochs": "1", "--trials": "4", "--storage": "sqlite:///results/studies.db", "--base": "latest",
          "--seeds": "3", "--run": "20261204-plain-cnn", "TARGET": "efficientnet-b0", "NAME": "efficientnet-b0",
          "FILE": "search_spaces/mbconv.arch"}


def code_lines() -> list[str]:
    """The ``scaler`` commands in the README's indented code blocks (continuations joined, comments,
    ``&`` and ``.venv/bin/`` dropped; ``-m scaler`` under torchrun counts too)."""
    text = re.sub(r"\\\n\s*", " ", README)
    found = []
    for line in text.splitlines():
        if not line.startswith("    "):
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


LINES = code_lines()


def test_the_readme_shows_the_main_commands() -> None:
    shown = {line.split()[1] for line in LINES}
    assert {"zoo", "inspect", "train", "search", "scale", "dashboard"} <= shown


@pytest.mark.parametrize("line", LINES)
def test_every_command_line_parses(line: str) -> None:
    parser = build_parser()
    for argv in expansions(line):
        try:
            parser.parse_args(argv)
        except SystemExit as exc:
            pytest.fail(f"README line {line!r} as {argv} does not parse (exit {exc.code})")


def subcommands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("span", sorted(set(re.findall(r"`(?:\.venv/bin/)?(scaler [^`]*)`", README))))
def test_every_flag_the_prose_names_exists(span: str) -> None:
    words = span.split()
    if words[1].endswith(":"):  # quoted output, "scaler: error: ..."
        return
    sub = subcommands()
    assert words[1] in sub, f"`{span}`: no subcommand {words[1]!r}"
    known = sub[words[1]]._option_string_actions
    for flag in (w.split("=")[0] for w in words[2:] if w.startswith("--")):
        assert flag in known, f"`{span}`: scaler {words[1]} has no {flag}"


BENCHMARK_SPANS = sorted(set(re.findall(r"`(?:\.venv/bin/python )?(benchmarks/\w+\.py[^`]*)`", README)))


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted({span.split()[0] for span in BENCHMARK_SPANS}))
def test_every_benchmark_the_readme_names_takes_the_flags_it_shows(script: str) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    assert (root / script).is_file(), f"the README names {script}, which does not exist"
    flags = {w.split("=")[0] for span in BENCHMARK_SPANS if span.split()[0] == script for w in span.split()[1:]
             if w.startswith("--")}
    if not flags:
        return
    shown = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True, cwd=root, timeout=120)
    assert shown.returncode == 0, shown.stderr[-1000:]
    for flag in flags:
        assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", shown.stdout), f"{script} has no {flag}"
