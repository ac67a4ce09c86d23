#!/usr/bin/env python3
"""A man page lists every option of its program and nothing else.

usage: test_man_options.py PROGRAM  (sippushd, sippush-agent or sippush)

The options are the rows of the program's table, as its --help prints them
(one line "  --name ..." or "  -x, --name ..." per row; a line in the first
column starts a command's section). In man/PAGE.scd every row must head an
entry of OPTIONS or COMMANDS (a line starting "*", the option in bold:
*--name*), under its command's entry for a command's options; and every
*--name* anywhere in the page must be a row."""

import os
import re
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
BUILD = os.environ.get("SIPPUSH_BUILD", os.path.join(ROOT, "build"))
PAGES = {"sippushd": "sippushd.8", "sippush-agent": "sippush-agent.8",
         "sippush": "sippush.1"}
ROW = re.compile(r"^  (?:-\w, )?--([a-z0-9][a-z0-9-]*)")
BOLD = re.compile(r"\*--([a-z0-9][a-z0-9-]*)\*")


def help_rows(prog):
    """{section: {option}}; section "" is the program's own options"""
    out = subprocess.run([os.path.join(BUILD, "cmd", prog), "--help"],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, "%s --help: %s" % (prog, out.returncode)
    rows, section = {"": set()}, ""
    for line in out.stdout.splitlines():
        if line and not line[0].isspace() and not line.startswith("usage"):
            section = line.split()[0].rstrip(":")
            rows.setdefault(section, set())
        m = ROW.match(line)
        if m:
            rows[section].add(m.group(1))
    return rows


def man_rows(page, sections):
    """{section: {option}} from the headings of OPTIONS and COMMANDS, and
    every option named anywhere in the page"""
    listed, mentioned = {"": set()}, set()
    part = None
    with open(os.path.join(ROOT, "man", page + ".scd")) as f:
        for line in f:
            mentioned |= set(BOLD.findall(line))
            if line.startswith("# "):
                part = line[2:].strip()
                continue
            if part not in ("OPTIONS", "COMMANDS") or not line.startswith("*"):
                continue
            first = re.match(r"\*([a-z-]+)", line)
            key = first.group(1) if first and first.group(1) in sections \
                else ""
            listed.setdefault(key, set()).update(BOLD.findall(line))
    return listed, mentioned


def main():
    prog = sys.argv[1]
    rows = help_rows(prog)
    listed, mentioned = man_rows(PAGES[prog], rows)
    errors = []
    for section in sorted(set(rows) | set(listed)):
        where = "%s %s" % (prog, section) if section else prog
        missing = rows.get(section, set()) - listed.get(section, set())
        extra = listed.get(section, set()) - rows.get(section, set())
        if missing:
            errors.append("%s: not in the man page: %s" % (
                where, ", ".join("--" + o for o in sorted(missing))))
        if extra:
            errors.append("%s: in the man page, not an option: %s" % (
                where, ", ".join("--" + o for o in sorted(extra))))
    every = set().union(*rows.values())
    unknown = mentioned - every
    if unknown:
        errors.append("%s: the man page names what is no option: %s" % (
            prog, ", ".join("--" + o for o in sorted(unknown))))
    for e in errors:
        print(e)
    print("%s: %d options, %s" % (prog, len(every),
                                  "FAILED" if errors else "ok"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
