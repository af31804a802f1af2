#!/usr/bin/env python3
"""Checks the README and the book (docs/src) against the repository.

- Every relative link and every {{#include}} names a file that exists; a
  link into the book with an anchor names a heading of that page.
- Every repository path written in backticks (`scripts/e2e.sh`) exists.
- Every ```console block is run: each `$ ` line from the repository root
  with target/debug first on PATH, its stdout compared with the lines
  below it (`[..]` matches any text within a line; a last line
  `[exit status: N]` gives a non-zero status).
- In the built book (target/book), every internal link and anchor resolves.

Usage: scripts/docs-check.py [--no-run] [--book target/book]
"""

import argparse
import html.parser
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
BOOK_SRC = ROOT / "docs" / "src"
TOP_DIRS = ("scripts/", "examples/", "host/", "core/", "plugins/", "deploy/", "wit/", "docs/",
            "snapshot/", "adapters/", "tests/", "fuzz/", ".ci/")
LINK = re.compile(r"(?<!\!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
INCLUDE = re.compile(r"\{\{#(?:include|rustdoc_include)\s+([^}\s:]+)[^}]*\}\}")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w,+-]*)")

problems = []


def problem(path, line, message):
    problems.append(f"{path.relative_to(ROOT)}:{line}: {message}")


def slug(heading):
    """The anchor mdBook gives a heading."""
    text = re.sub(r"<[^>]+>", "", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.strip().lower()
    out = []
    for ch in text:
        if ch.isalnum() or ch in "_-":
            out.append(ch)
        elif ch == " ":
            out.append("-")
    return "".join(out)


def headings(path):
    ids, seen, fence = set(), {}, None
    for line in path.read_text().splitlines():
        match = FENCE.match(line)
        if match:
            fence = None if fence and match.group(2).startswith(fence) else (fence or match.group(2))
            continue
        if fence is None and line.startswith("#"):
            base = slug(line.lstrip("#"))
            count = seen.get(base, 0)
            ids.add(base if count == 0 else f"{base}-{count}")
            seen[base] = count + 1
    return ids


def pages():
    yield ROOT / "README.md"
    for name in ("CONTRIBUTING.md", "SECURITY.md", "CHANGELOG.md"):
        if (ROOT / name).exists():
            yield ROOT / name
    yield from sorted(BOOK_SRC.rglob("*.md"))


def blocks(text):
    """(info, first line number, lines) of each fenced block, and the prose lines with their numbers."""
    prose, found, fence = [], [], None
    for number, line in enumerate(text.splitlines(), 1):
        match = FENCE.match(line)
        if fence is None and match:
            fence = (match.group(2), match.group(3), number, [])
        elif fence is not None and line.strip().startswith(fence[0]) and line.strip().strip(fence[0][0]) == "":
            found.append((fence[1], fence[2] + 1, fence[3]))
            fence = None
        elif fence is not None:
            fence[3].append(line)
        else:
            prose.append((number, line))
    return prose, found


def check_links(path, prose, code_blocks):
    lines = list(prose)
    for _, start, body in code_blocks:
        lines.extend((start + i, line) for i, line in enumerate(body) if "{{#" in line)
    for number, line in lines:
        for target in INCLUDE.findall(line):
            if not (path.parent / target).exists():
                problem(path, number, f"includes {target}, which does not exist")
        if "../shared/" in line:
            problem(path, number, "names ../shared/, which is not part of a clone")
        text = re.sub(CODE_SPAN, "", line)
        for target in LINK.findall(text):
            if re.match(r"^[a-z]+:", target) or target.startswith("#") and not target[1:]:
                continue
            file, _, anchor = target.partition("#")
            resolved = (path.parent / file).resolve() if file else path
            if not resolved.exists():
                problem(path, number, f"links to {target}, which does not exist")
            elif anchor and resolved.suffix == ".md" and anchor not in headings(resolved):
                problem(path, number, f"links to #{anchor}, which is no heading of {resolved.relative_to(ROOT)}")
        for span in CODE_SPAN.findall(line):
            check_path(path, number, span)


def check_path(path, number, span):
    candidate = span.strip()
    if not candidate.startswith(TOP_DIRS) or re.search(r"[<>*{}$…\s]|\.\.\.", candidate):
        return
    candidate = candidate.split(":")[0].rstrip("/")
    if not (ROOT / candidate).exists():
        problem(path, number, f"names {candidate}, which does not exist")


def matches(expected, actual):
    if "[..]" not in expected:
        return expected == actual
    pattern = ".*".join(re.escape(part) for part in expected.split("[..]"))
    return re.fullmatch(pattern, actual) is not None


def run_console(path, start, body, env):
    commands, current = [], None
    for offset, line in enumerate(body):
        if line.startswith("$ "):
            current = [line[2:], [], start + offset]
            commands.append(current)
        elif current is None:
            problem(path, start + offset, "a console block must start with a `$ ` command")
            return
        else:
            current[1].append(line)
    for command, expected, number in commands:
        status = 0
        if expected and re.fullmatch(r"\[exit status: \d+\]", expected[-1]):
            status = int(expected[-1][len("[exit status: "):-1])
            expected = expected[:-1]
        result = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True)
        actual = [line.rstrip() for line in result.stdout.rstrip("\n").splitlines()]
        expected = [line.rstrip() for line in expected]
        while expected and not expected[-1]:
            expected.pop()
        if result.returncode != status:
            problem(path, number, f"`{command}` exited {result.returncode}, the page says {status}: {result.stderr.strip()[:400]}")
        if len(actual) != len(expected) or not all(matches(e, a) for e, a in zip(expected, actual)):
            diff = "\n".join(f"    page: {e}\n    real: {a}" for e, a in zip(expected + [""] * len(actual), actual + [""] * len(expected)) if not matches(e, a))
            problem(path, number, f"`{command}` printed something else:\n{diff}")


class Anchors(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.links = set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


def check_book(book):
    parsed = {}
    for page in book.rglob("*.html"):
        parser = Anchors()
        parser.feed(page.read_text(errors="replace"))
        parsed[page.resolve()] = parser
    for page, parser in parsed.items():
        if page.name in ("print.html", "404.html", "toc.html"):
            continue
        for href in parser.links:
            if re.match(r"^[a-z]+:", href) or href.startswith("//"):
                continue
            file, _, anchor = href.partition("#")
            target = (page.parent / file).resolve() if file else page
            if book.resolve() not in target.parents and target != book.resolve():
                continue  # a repository file: checked on the Markdown side
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{page.relative_to(book.resolve())}: dead link {href}")
            elif anchor and target in parsed and anchor not in parsed[target].ids:
                problems.append(f"{page.relative_to(book.resolve())}: no anchor #{anchor} in {target.name}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-run", action="store_true", help="do not run console blocks")
    parser.add_argument("--book", type=pathlib.Path, help="a built book to check the links of")
    args = parser.parse_args()
    env = dict(os.environ, PATH=f"{ROOT / 'target' / 'debug'}:{os.environ['PATH']}", NO_COLOR="1")
    run = 0
    for path in pages():
        prose, code_blocks = blocks(path.read_text())
        check_links(path, prose, code_blocks)
        for info, start, body in code_blocks:
            if info.split(",")[0] == "console" and not args.no_run:
                run += 1
                run_console(path, start, body, env)
    if args.book:
        check_book(args.book)
    for line in problems:
        print(line, file=sys.stderr)
    print(f"docs-check: {len(problems)} problems, {run} console blocks run", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
