#!/usr/bin/env python3
"""scripts/include-graph on small folders made in a temporary directory:
the edges it prints, a cycle (exit 1), a header declaring a function that
another file defines (exit 1), and what it leaves alone (includes from
outside the folder, handler typedefs, a types-only header, braces in
strings and calls inside functions)."""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "scripts", "include-graph")

failed = 0


def check(cond, what):
    global failed
    if not cond:
        failed += 1
        print("FAIL: " + what)


def run(files):
    with tempfile.TemporaryDirectory(prefix="sippush-incgraph-") as tmp:
        folder = os.path.join(tmp, "src", "mod")
        os.makedirs(folder)
        os.makedirs(os.path.join(tmp, "src", "core"))
        with open(os.path.join(tmp, "src", "core", "util.h"), "w") as f:
            f.write("int util(void);\n")
        for name, text in files.items():
            with open(os.path.join(folder, name), "w") as f:
                f.write(text)
        p = subprocess.run([sys.executable, SCRIPT, folder],
                           capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout.splitlines()


# one way: top -> mid -> low, a types-only header, outside includes ignored
rc, out = run({
    "top.c": '#include <re.h>\n#include "core/util.h"\n#include "mid.h"\n'
             '#include "types.h"\nvoid top(void) { mid(); }\n',
    "mid.h": '#include "types.h"\n'
             '/** done */\ntypedef void (mid_h)(int err, void *arg);\n'
             'struct mid { int (*f)(int); };\n'
             'void mid(void);\nint  mid_run(mid_h *h,\n\t     void *arg);\n',
    "mid.c": '#include "mid.h"\n#include "mod/low.h"\n'
             'void mid(void)\n{\n\tconst char *s = "{";\n\t(void)s;\n}\n'
             'int mid_run(mid_h *h, void *arg)\n{\n\th(0, arg);\n'
             '\treturn low();\n}\n',
    "low.h": "int low(void);\n",
    "low.c": '#include "low.h"\nint low(void)\n{\n\treturn 0;\n}\n',
    "types.h": "struct shared { int a; };\n#define X(a) (a)\n",
})
check(rc == 0, "acyclic: exit 0, got %d: %s" % (rc, out))
check(out == ["mid -> low", "mid -> types", "top -> mid", "top -> types"],
      "edges: %s" % out)

# a cycle through two files
rc, out = run({
    "a.h": "void a(void);\n",
    "a.c": '#include "a.h"\n#include "b.h"\nvoid a(void)\n{\n\tb();\n}\n',
    "b.h": "void b(void);\n",
    "b.c": '#include "b.h"\n#include "a.h"\nvoid b(void)\n{\n\ta();\n}\n',
})
check(rc == 1, "cycle: exit 1, got %d" % rc)
check("cycle: a -> b -> a" in out, "cycle printed: %s" % out)

# a shared header declaring b.c's function hides b <-> a
rc, out = run({
    "a.h": "void a(void);\nvoid b(void);\n",
    "a.c": '#include "a.h"\nvoid a(void)\n{\n\tif (b()) {\n\t}\n}\n',
    "b.c": '#include "a.h"\nvoid b(void)\n{\n\ta();\n}\n',
})
check(rc == 1, "misplaced prototype: exit 1, got %d" % rc)
check("a.h declares b(): not defined in a.c" in out, "said: %s" % out)

# functions in a header without a .c of its own
rc, out = run({
    "types.h": "struct t { int a; };\nint t_len(const struct t *t);\n",
    "x.c": '#include "types.h"\nint t_len(const struct t *t)\n{\n'
           '\treturn t->a;\n}\n',
})
check(rc == 1, "functions in a types header: exit 1, got %d" % rc)
check("types.h declares t_len(): no types.c of its own" in out,
      "said: %s" % out)

# a facade (a folder's public interface, "@facade"): its functions may live
# in several files, and calls across them are edges
FACADE = "/** @file api.h  @facade */\nvoid a_run(void);\nvoid b_run(void);\n"
rc, out = run({
    "api.h": FACADE,
    "a.c": '#include "api.h"\n#include "b.h"\nvoid a_run(void)\n{\n'
           '\tb_run();\n}\n',
    "b.h": "void b_help(void);\n",
    "b.c": '#include "api.h"\n#include "b.h"\nvoid b_run(void)\n{\n}\n'
           'void b_help(void)\n{\n}\n',
})
check(rc == 0, "facade, one way: exit 0, got %d: %s" % (rc, out))
check("a -> b" in out and "a -> api" in out, "facade edges: %s" % out)

rc, out = run({
    "api.h": FACADE,
    "a.c": '#include "api.h"\n#include "b.h"\nvoid a_run(void)\n{\n'
           '\tb_help();\n}\n',
    "b.h": "void b_help(void);\n",
    "b.c": '#include "api.h"\n#include "b.h"\nvoid b_run(void)\n{\n'
           '\ta_run();\n}\nvoid b_help(void)\n{\n}\n',
})
check(rc == 1, "a cycle through a facade: exit 1, got %d" % rc)
check("cycle: a -> b -> a" in out, "cycle printed: %s" % out)

rc, out = run({
    "api.h": FACADE,
    "a.c": '#include "api.h"\nvoid a_run(void)\n{\n}\n',
})
check(rc == 1, "a facade function nobody defines: exit 1, got %d" % rc)
check("api.h declares b_run(): defined in 0 .c files of the folder" in out,
      "said: %s" % out)

print("include-graph: %s" % ("FAILED %d" % failed if failed else "ok"))
sys.exit(1 if failed else 0)
