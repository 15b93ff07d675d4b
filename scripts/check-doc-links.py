#!/usr/bin/env python3
"""Checks every markdown link in README.md and docs/*.md: the file it names exists, and its #anchor is a
heading of that file, by GitHub's anchor rules (lower case; punctuation dropped except '-' and '_';
each space a '-'; a repeated heading gets -1, -2, ...). Links to http(s) and mailto are not fetched.

    python3 scripts/check-doc-links.py            # exit 0 when every link resolves, 1 otherwise
    python3 scripts/check-doc-links.py --strict   # also fail on the pages listed in EXPECTED

EXPECTED lists pages that are linked before they are written: a link to one is reported, not failed,
while the page is missing (its anchors are checked once it exists).
"""
import pathlib
import re
import sys
import unicodedata

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXPECTED = {"docs/security.md"}  # written by another change; linked from README and docs/operations.md

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def prose_lines(text):
    """(line number, line) outside fenced code blocks."""
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def slug(heading):
    text = CODE_SPAN.sub(lambda m: m.group(2), heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link in a heading counts by its text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.strip().lower()
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch in "-_" or category[0] in "LN" or category == "Mn":
            kept.append(ch)
        elif ch == " ":
            kept.append("-")
    return "".join(kept)


def anchors(path):
    seen = {}
    result = set()
    for _, line in prose_lines(path.read_text(encoding="utf-8")):
        m = HEADING.match(line)
        if not m:
            continue
        base = slug(m.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        result.add(base if n == 0 else f"{base}-{n}")
    return result


def main(argv):
    strict = "--strict" in argv
    pages = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
    cache = {}
    errors, notes, count = [], [], 0
    for page in pages:
        for number, line in prose_lines(page.read_text(encoding="utf-8")):
            for m in LINK.finditer(CODE_SPAN.sub("", line)):
                target = m.group(1)
                if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto:
                    continue
                count += 1
                where = f"{page.relative_to(ROOT)}:{number}: {target}"
                path_part, _, anchor = target.partition("#")
                file = (page.parent / path_part).resolve() if path_part else page
                try:
                    relative = file.relative_to(ROOT).as_posix()
                except ValueError:
                    errors.append(f"{where}: points outside the repository")
                    continue
                if not file.exists():
                    if relative in EXPECTED and not strict:
                        notes.append(f"{where}: {relative} does not exist yet (expected)")
                    else:
                        errors.append(f"{where}: no such file {relative}")
                    continue
                if anchor:
                    if file.suffix != ".md" or file.is_dir():
                        errors.append(f"{where}: an anchor into a file that is not markdown")
                        continue
                    if file not in cache:
                        cache[file] = anchors(file)
                    if anchor not in cache[file]:
                        errors.append(f"{where}: {relative} has no heading #{anchor}")
    for note in notes:
        print("note:", note)
    for error in errors:
        print("error:", error)
    print(f"{count} links in {len(pages)} pages, {len(errors)} broken")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
