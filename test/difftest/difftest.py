"""Differential testing of plain cells against the Go compiler.

Every program of the corpus runs twice: compiled by the go tool (the oracle)
and as one notebook cell through the real kernel (bin/mpigo kernel, driven by
jupyter_client). Each program ends in one category:

  same      the kernel showed what the compiled program printed and, when the
            compiled program failed, reported an error of the same kind
            (see classify);
  refused   the kernel reported an error that names the construct it does
            not support (is_refusal: the one place that rule is written);
  error     the kernel reported another error on valid Go: a compile error
            ("undefined: min"), a panic the compiled program does not have,
            a cell that did not finish within the cell timeout;
  wrong     the kernel printed something else, reported no error where the
            compiled program failed, or failed with "yaegi internal error";

or is excluded, with a reason (EXCLUDED_* below), before it reaches the
kernel: programs the compiler rejects, whose compiled output is not the same
from run to run, or that need what a cell cannot have.

Sources: "own" (testdata/*.txtar, one `-- name.go --` section per program,
one archive per topic), "yaegi" (the _test programs of the yaegi module the
kernel is built with), "tour" (the Go tour's programs, when the module proxy
serves golang.org/x/website or MPIGO_DIFFTEST_TOUR names a copy of it) and
"spec" (the examples of $GOROOT/doc/go_spec.html that form programs).

The oracle builds every program with one `go build -o DIR/ ./...` in a
temporary module and runs each binary three times; its results are cached by
source text and Go version (oracle_cache_dir), since linking ~1000 binaries
takes minutes on a small machine.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import difflib
import hashlib
import html
import json
import os
import queue
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TESTDATA = HERE / "testdata"
YAEGI_MODULE = "github.com/traefik/yaegi@v0.16.1"
TOUR_MODULE = "golang.org/x/website@latest"

SOURCES = ("own", "yaegi", "tour", "spec")
CATEGORIES = ("same", "refused", "error", "wrong")

ORACLE_TIMEOUT = 10.0  # seconds a compiled program may run
CELL_TIMEOUT = 30.0  # seconds a cell may run in the kernel
ORACLE_VERSION = 2  # bump when what the oracle records changes (invalidates the cache)


# ---------------------------------------------------------------------------
# the corpus
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Program:
    """One Go program of the corpus."""

    source: str  # one of SOURCES
    topic: str  # archive name (own), directory (tour), name prefix (yaegi)
    name: str  # file name, unique within the source
    code: str
    origin: str  # where it came from, for messages

    @property
    def key(self) -> str:
        return f"{self.source}/{self.name}"


TXTAR_MARKER = re.compile(r"^-- (.+?) --$", re.M)


def parse_txtar(text: str) -> list:
    """The (name, content) files of a txtar archive, in order (the leading
    comment is dropped)."""
    marks = list(TXTAR_MARKER.finditer(text))
    files = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        files.append((m.group(1).strip(), text[m.end() + 1 : end]))
    return files


def own_programs(testdata: Path = TESTDATA) -> list:
    """The programs of our own corpus: every section of testdata/*.txtar."""
    out = []
    for archive in sorted(testdata.glob("*.txtar")):
        for name, code in parse_txtar(archive.read_text()):
            out.append(Program("own", archive.stem, f"{archive.stem}/{name}", code, f"{archive.relative_to(ROOT)}: {name}"))
    return out


def go_env(*names: str) -> list:
    """Values of `go env NAME...`."""
    res = subprocess.run(["go", "env", *names], capture_output=True, text=True, check=True, env=go_tool_env())
    return res.stdout.splitlines()


def go_tool_env(extra: Optional[dict] = None) -> dict:
    """The environment for the go tool: /usr/local/go/bin on PATH, this
    module's toolchain (no download), no workspace."""
    env = dict(os.environ)
    if os.path.isdir("/usr/local/go/bin"):
        env["PATH"] = "/usr/local/go/bin" + os.pathsep + env.get("PATH", "")
    env.update(GOTOOLCHAIN="local", GOWORK="off", GO111MODULE="on")
    env.update(extra or {})
    return env


def module_dir(module: str) -> tuple:
    """(directory, None) of a module version downloaded through `go mod
    download` (the module cache, or the proxy), or (None, why not)."""
    try:
        res = subprocess.run(
            ["go", "mod", "download", "-json", module],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            env=go_tool_env(),
        )
    except subprocess.TimeoutExpired:
        return None, f"go mod download {module}: timed out"
    try:
        info = json.loads(res.stdout)
    except json.JSONDecodeError:
        return None, f"go mod download {module}: {res.stderr.strip() or res.stdout.strip()}"
    if info.get("Error") or not info.get("Dir"):
        return None, f"go mod download {module}: {info.get('Error', 'no directory')}".splitlines()[0]
    return Path(info["Dir"]), None


def yaegi_programs() -> tuple:
    """(programs, None) of yaegi's _test directory, or ([], why not)."""
    d, why = module_dir(YAEGI_MODULE)
    if d is None:
        return [], why
    out = []
    for f in sorted((d / "_test").glob("*.go")):
        topic = re.match(r"[A-Za-z_]*", f.stem).group(0).rstrip("_") or "misc"
        out.append(Program("yaegi", topic, f.name, f.read_text(errors="replace"), f"yaegi _test/{f.name}"))
    return out, None


def tour_programs(tour_dir: Optional[Path] = None) -> tuple:
    """(programs, None) of the Go tour (_content/tour/*/*.go of
    golang.org/x/website: from tour_dir, $MPIGO_DIFFTEST_TOUR or the module
    proxy), or ([], why not)."""
    tour_dir = tour_dir or (Path(os.environ["MPIGO_DIFFTEST_TOUR"]) if os.environ.get("MPIGO_DIFFTEST_TOUR") else None)
    if tour_dir is None:
        d, why = module_dir(TOUR_MODULE)
        if d is None:
            return [], why
        tour_dir = d
    if (tour_dir / "_content" / "tour").is_dir():
        tour_dir = tour_dir / "_content" / "tour"
    out = []
    for f in sorted(tour_dir.glob("*/*.go")):
        if f.name.endswith("_test.go"):
            continue
        name = f"{f.parent.name}/{f.name}"
        # the tour's files carry "//go:build OMIT" (or "nobuild || OMIT",
        # "norun || OMIT"), which the tour strips when it serves them
        code = re.sub(r"^//(go:build| \+build) .*\bOMIT\b.*\n+", "", f.read_text(errors="replace"), flags=re.M)
        out.append(Program("tour", f.parent.name, name, code, f"tour {name}"))
    if not out:
        return [], f"no tour programs under {tour_dir}"
    return out, None


SPEC_PRE = re.compile(r"<pre(?P<attrs>[^>]*)>(?P<body>.*?)</pre>", re.S)
# packages the spec's examples use, imported when a block names them
SPEC_PACKAGES = ("fmt", "math", "os", "strings", "time", "sync", "io", "errors", "sort", "unicode/utf8")


def spec_declared_names(block: str) -> list:
    """The names a spec example declares with var or const at its top level
    (a textual scan: "var x", "const a, b", and the lines of "const (...)")."""
    names = []
    for m in re.finditer(r"^(?:var|const)[ \t]+(\w+(?:\s*,\s*\w+)*)", block, re.M):
        names += re.split(r"\s*,\s*", m.group(1))
    for m in re.finditer(r"^(?:var|const)\s*\((.*?)^\)", block, re.M | re.S):
        for line in re.finditer(r"^\s+(\w+(?:\s*,\s*\w+)*)", m.group(1), re.M):
            names += re.split(r"\s*,\s*", line.group(1))
    return [n for n in dict.fromkeys(names) if n != "_" and not n[0].isdigit()]


def spec_programs(spec: Optional[Path] = None) -> tuple:
    """(programs, None) made of the examples of the Go spec, or ([], why not).

    Each example block (not the grammar) becomes up to two candidates: the
    block as it is when it is a whole program; otherwise the block as
    package-level declarations with a func main that prints the variables
    and constants it declares, and the block as the body of func main.
    Imports are added for the packages it names. The oracle rejects the
    candidates that do not compile (most: fragments, examples of illegal
    code, constants too large to print), which are then excluded."""
    if spec is None:
        (goroot,) = go_env("GOROOT")
        spec = Path(goroot) / "doc" / "go_spec.html"
    if not spec.is_file():
        return [], f"{spec}: not found"
    text = spec.read_text()
    out = []
    for m in SPEC_PRE.finditer(text):
        if "ebnf" in m.group("attrs") or "grammar" in m.group("attrs"):
            continue
        body = html.unescape(re.sub(r"<[^>]+>", "", m.group("body"))).replace("…", "...").strip("\n")
        line = text[: m.start()].count("\n") + 1
        if re.search(r"^package main\b", body, re.M):
            out.append(Program("spec", "program", f"line{line}.go", body + "\n", f"go_spec.html:{line}"))
            continue
        names = spec_declared_names(body)
        used = [p for p in SPEC_PACKAGES if re.search(rf"\b{p.split('/')[-1]}\.", body)]
        imports = "".join(f'import "{p}"\n' for p in used)
        prints = "".join(f'\tfmt.Println("{n} =", {n})\n' for n in names)
        decl_imports = imports + ('import "fmt"\n' if names and "fmt" not in used else "")
        out.append(Program("spec", "decls", f"line{line}_decls.go", f"package main\n\n{decl_imports}\n{body}\n\nfunc main() {{\n{prints}}}\n", f"go_spec.html:{line}"))
        out.append(Program("spec", "stmts", f"line{line}_stmts.go", f"package main\n\n{imports}\nfunc main() {{\n{body}\n}}\n", f"go_spec.html:{line}"))
    return out, None


def load_corpus(tour_dir: Optional[Path] = None) -> tuple:
    """(programs, unavailable): every program of every source, and for each
    source that could not be loaded, why."""
    programs = own_programs()
    unavailable = {}
    for source, load in (("yaegi", yaegi_programs), ("tour", lambda: tour_programs(tour_dir)), ("spec", spec_programs)):
        got, why = load()
        programs += got
        if why:
            unavailable[source] = why
    keys = [p.key for p in programs]
    dups = sorted({k for k in keys if keys.count(k) > 1})
    if dups:
        raise ValueError(f"programs with the same name: {dups}")
    return programs, unavailable


# ---------------------------------------------------------------------------
# exclusions
# ---------------------------------------------------------------------------

# before the oracle: what the source shows
EXCLUDED_NOT_MAIN = "not a main program (no package main or no func main)"
EXCLUDED_NEGATIVE = "negative test: expects an error (// Error: comment)"
EXCLUDED_NONSTD = "imports a package outside the standard library"
EXCLUDED_NETWORK = "uses the network (net, net/http...)"
EXCLUDED_ARGS = "reads command-line arguments (os.Args, flag)"
EXCLUDED_STDIN = "reads standard input"
EXCLUDED_OWNFILES = "reads files next to its source (testdata, runtime.Caller)"
EXCLUDED_SCHEDULE = "output depends on the order goroutines run in, which Go leaves open"
# programs whose compiled output is the same from run to run only because of
# how the Go scheduler happens to run goroutines (see EXCLUDED_SCHEDULE)
SCHEDULE_DEPENDENT = {
    "tour/concurrency/channels.go",  # two goroutines send their sums on one channel
}
# from the oracle
EXCLUDED_REJECTED = "the compiler rejects it"
EXCLUDED_TIMEOUT = f"does not finish within {ORACLE_TIMEOUT:g} s compiled"
EXCLUDED_NONDET = "compiled output differs from run to run"
EXCLUDED_ADDRESSES = "prints memory addresses"
EXCLUDED_CLOCK = "prints the date or time of day (log's prefix, time.Now)"

NETWORK_PACKAGES = {"net", "net/http", "net/http/httptest", "net/rpc", "net/smtp", "net/http/httputil", "net/http/cgi", "net/http/fcgi"}
IMPORT_BLOCK = re.compile(r"^import\s*\((.*?)^\)", re.M | re.S)
IMPORT_LINE = re.compile(r'^import\s+(?:[\w.]+\s+)?"([^"]+)"', re.M)
IMPORT_IN_BLOCK = re.compile(r'^\s*(?:[\w.]+\s+)?"([^"]+)"', re.M)
# a pointer into the Go heap (0xc000123456); with Go 1.26's randomized heap
# base such output also differs from run to run (EXCLUDED_NONDET)
ADDRESS = re.compile(r"\b0xc[0-9a-f]{9}\b")


def imports_of(code: str) -> set:
    """The import paths of a Go file (a textual scan, good enough for the
    corpus: import declarations start lines)."""
    paths = set(IMPORT_LINE.findall(code))
    for block in IMPORT_BLOCK.findall(code):
        paths.update(IMPORT_IN_BLOCK.findall(block))
    return paths


_std_cache: dict = {}


def std_packages() -> set:
    """The import paths of the standard library (`go list std`)."""
    if "std" not in _std_cache:
        res = subprocess.run(["go", "list", "std"], capture_output=True, text=True, check=True, env=go_tool_env(), cwd=ROOT)
        _std_cache["std"] = set(res.stdout.split()) | {"C", "unsafe"}
    return _std_cache["std"]


def static_exclusion(p: Program) -> Optional[str]:
    """Why a program is excluded before it is compiled, or None."""
    code = p.code
    if p.key in SCHEDULE_DEPENDENT:
        return EXCLUDED_SCHEDULE
    if not re.search(r"^package main\b", code, re.M) or not re.search(r"^func main\(\)", code, re.M):
        return EXCLUDED_NOT_MAIN
    if re.search(r"^// Error:", code, re.M):
        return EXCLUDED_NEGATIVE
    imports = imports_of(code)
    if imports - std_packages():
        return EXCLUDED_NONSTD
    if imports & NETWORK_PACKAGES:
        return EXCLUDED_NETWORK
    if "flag" in imports or re.search(r"\bos\.Args\b", code):
        return EXCLUDED_ARGS
    if re.search(r"\bos\.Stdin\b", code):
        return EXCLUDED_STDIN
    if re.search(r'"(?:\.{1,2}/)*(?:testdata|_test)/[^"\n]*"|\bruntime\.Caller\b', code):
        return EXCLUDED_OWNFILES
    return None


# ---------------------------------------------------------------------------
# the oracle: the go tool
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class OracleResult:
    """What the compiled program did (or why it is excluded)."""

    excluded: Optional[str] = None  # one of EXCLUDED_*, None when it ran
    detail: str = ""  # compiler errors, the differing runs...
    kind: str = "ok"  # "ok", "exit" (non-zero status, no runtime report), "panic", "fatal", "signal"
    code: int = 0  # exit status (negative: signal)
    stdout: str = ""
    stderr: str = ""  # standard error before the runtime's report of a panic
    merged: str = ""  # both streams through one pipe, before the runtime's report
    report: str = ""  # first line of the runtime's report ("panic: ...", "fatal error: ...")

    def describe(self) -> str:
        if self.kind == "ok":
            return "exited 0"
        if self.kind == "exit":
            return f"exited {self.code}"
        if self.kind == "signal":
            return f"killed by signal {-self.code}"
        return f"{self.report} (exit {self.code})"


REPORT_START = re.compile(r"^(?:panic: |fatal error: |runtime: )", re.M)
GOROUTINE_LINE = re.compile(r"^goroutine \d+ \[", re.M)


def split_report(text: str) -> tuple:
    """(what the program wrote, the runtime's report) of an output that may
    end with the report of a panic or fatal error ("panic: ...", then the
    goroutine dump)."""
    dump = None
    for dump in GOROUTINE_LINE.finditer(text):
        pass
    if dump is None:
        return text, ""
    for m in REPORT_START.finditer(text):
        if m.start() < dump.start():
            return text[: m.start()], text[m.start() :]
    return text, ""


def _run_binary(binary: Path, merged: bool, cwd: Path, timeout: float) -> Optional[tuple]:
    """(status, stdout, stderr) of one run (stderr "" when merged into
    stdout), None when it did not finish within timeout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([str(binary)], cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=out if merged else err)
        try:
            status = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return None
        out.seek(0)
        err.seek(0)
        return status, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")


def run_compiled(binary: Path, cwd: Path, timeout: float = ORACLE_TIMEOUT) -> OracleResult:
    """Runs a compiled program twice with separate streams and once with
    both on one pipe; excluded when it does not finish or the two runs
    differ."""
    runs = []
    for _ in range(2):
        r = _run_binary(binary, False, cwd, timeout)
        if r is None:
            return OracleResult(excluded=EXCLUDED_TIMEOUT)
        status, stdout, stderr = r
        before, report = split_report(stderr)
        runs.append((status, stdout, before, report.split("\n", 1)[0]))
        if runs[-1] != runs[0]:
            return OracleResult(excluded=EXCLUDED_NONDET, detail=_run_difference(runs[0], runs[-1]))
    r = _run_binary(binary, True, cwd, timeout)
    if r is None:
        return OracleResult(excluded=EXCLUDED_TIMEOUT)
    merged, _ = split_report(r[1])
    status, stdout, stderr, report = runs[0]
    if status < 0:
        kind = "signal"
    elif report.startswith("panic: "):
        kind = "panic"
    elif report:
        kind = "fatal"
    else:
        kind = "ok" if status == 0 else "exit"
    res = OracleResult(kind=kind, code=status, stdout=stdout, stderr=stderr, merged=merged, report=report)
    for pattern, why in ((ADDRESS, EXCLUDED_ADDRESSES), (clock_pattern(), EXCLUDED_CLOCK)):
        m = pattern.search(stdout + stderr)
        if m:
            res.excluded, res.detail = why, m.group(0)
            break
    return res


def clock_pattern() -> re.Pattern:
    """Today's or yesterday's date (as log and time.Time print it): output
    that shows the clock, which may read the same in two runs a second apart
    and not in the kernel's run."""
    days = [time.localtime(time.time() - d) for d in (0, 86400)] + [time.gmtime(time.time() - d) for d in (0, 86400)]
    dates = {time.strftime(f"%Y{sep}%m{sep}%d", t) for t in days for sep in "/-"}
    return re.compile("|".join(re.escape(d) for d in sorted(dates)))


def _run_difference(a: tuple, b: tuple) -> str:
    for label, x, y in zip(("status", "stdout", "stderr", "report"), a, b):
        if x != y:
            return f"{label}: {short(str(x))!r} then {short(str(y))!r}"
    return ""


def short(s: str, n: int = 120) -> str:
    return s if len(s) <= n else s[: n - 3] + "..."


def oracle_cache_dir() -> Optional[Path]:
    """Where oracle results are kept between runs ($MPIGO_DIFFTEST_CACHE,
    "off" for none; by default $XDG_CACHE_HOME/mpigo-difftest)."""
    v = os.environ.get("MPIGO_DIFFTEST_CACHE")
    if v == "off":
        return None
    if v:
        return Path(v)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mpigo-difftest"


def _cache_key(go_version: str, code: str) -> str:
    return hashlib.sha256(json.dumps([ORACLE_VERSION, go_version, code]).encode()).hexdigest()


def _load_cache(d: Optional[Path]) -> dict:
    if d is None:
        return {}
    try:
        return json.loads((d / "oracle.json").read_text())
    except (OSError, ValueError):
        return {}


def _save_cache(d: Optional[Path], cache: dict) -> None:
    if d is None:
        return
    d.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix="oracle.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(cache, f)
    os.replace(tmp, d / "oracle.json")


def _package_dirs(programs: list) -> dict:
    """A unique package directory name for each program key."""
    names, used = {}, set()
    for p in programs:
        base = re.sub(r"\W", "_", f"{p.source}_{p.name.removesuffix('.go')}")
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base}_{n}"
        used.add(name)
        names[p.key] = name
    return names


BUILD_FAILED = "go build failed, with no message for this package: "  # such results are not cached
BUILD_HEADER = re.compile(r"^# difftest/p/(\w+)$", re.M)
BUILD_FILE_ERROR = re.compile(r"^p/(\w+)/main\.go:\d+", re.M)


def _build_errors(output: str) -> dict:
    """Compiler messages of a `go build ./...` output, by package directory."""
    errors: dict = {}
    marks = list(BUILD_HEADER.finditer(output))
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(output)
        errors[m.group(1)] = output[m.end() : end].strip()
    for m in BUILD_FILE_ERROR.finditer(output):
        line = output[m.start() : output.find("\n", m.start()) if "\n" in output[m.start() :] else len(output)]
        errors.setdefault(m.group(1), line)
    return errors


def build_all(programs: list, work: Path, log: Callable[[str], None] = print) -> tuple:
    """Builds every program with one `go build -o bin/ ./...` in a temporary
    module under work. Returns (binaries, errors): program key → binary, and
    program key → compiler messages for those that did not build. A package
    whose imports break the loading of the whole pattern is dropped and the
    build repeated without it."""
    (goversion,) = go_env("GOVERSION")
    lang = re.match(r"go(\d+\.\d+)", goversion).group(1)
    mod = work / "mod"
    (mod / "p").mkdir(parents=True, exist_ok=True)
    (mod / "go.mod").write_text(f"module difftest\n\ngo {lang}\n")
    dirs = _package_dirs(programs)
    by_dir = {dirs[p.key]: p for p in programs}
    for d, p in by_dir.items():
        (mod / "p" / d).mkdir(exist_ok=True)
        (mod / "p" / d / "main.go").write_text(p.code)
    bindir = work / "bin"
    errors: dict = {}
    for _ in range(5):
        res = subprocess.run(
            ["go", "build", "-trimpath", "-ldflags=-s -w", "-o", str(bindir) + os.sep, "./..."],
            cwd=mod,
            capture_output=True,
            text=True,
            env=go_tool_env({"CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}),
        )
        built = {d for d in by_dir if (bindir / d).exists()}
        found = _build_errors(res.stderr)
        for d, msg in found.items():
            if d in by_dir and d not in built:
                errors[d] = msg
        if res.returncode == 0 or built or not found:
            if not built and "matched no packages" in res.stderr:
                errors.update({d: "no package: a build constraint excludes the file" for d in by_dir})
            break
        # a loading error stops everything: drop the packages it names, again
        log(f"go build: dropping {sorted(found)} and building again")
        for d in found:
            shutil.rmtree(mod / "p" / d, ignore_errors=True)
    binaries = {}
    for d, p in by_dir.items():
        if (bindir / d).exists():
            binaries[p.key] = bindir / d
        elif d not in errors:
            errors[d] = BUILD_FAILED + (res.stderr.strip()[-2000:] or "no binary")
    return binaries, {by_dir[d].key: msg for d, msg in errors.items()}


def run_oracle(programs: list, jobs: Optional[int] = None, log: Callable[[str], None] = print) -> dict:
    """OracleResult of every program (key → result): from the cache, or
    built and run now (then cached)."""
    (goversion,) = go_env("GOVERSION")
    cache_dir = oracle_cache_dir()
    cache = _load_cache(cache_dir)
    results, todo = {}, []
    for p in programs:
        hit = cache.get(_cache_key(goversion, p.code))
        if hit is not None:
            results[p.key] = OracleResult(**hit)
        else:
            todo.append(p)
    log(f"oracle: {len(programs) - len(todo)} cached, {len(todo)} to build and run")
    if todo:
        with tempfile.TemporaryDirectory(prefix="difftest-oracle-") as tmp:
            work = Path(tmp)
            t0 = time.monotonic()
            binaries, errors = build_all(todo, work, log)
            log(f"oracle: go build of {len(todo)} programs: {time.monotonic() - t0:.1f}s")
            t0 = time.monotonic()
            scratch = work / "cwd"
            scratch.mkdir()
            with concurrent.futures.ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 2) as pool:
                futures = {p.key: pool.submit(run_compiled, binaries[p.key], scratch) for p in todo if p.key in binaries}
                for p in todo:
                    if p.key in futures:
                        results[p.key] = futures[p.key].result()
                    else:
                        results[p.key] = OracleResult(excluded=EXCLUDED_REJECTED, detail=errors.get(p.key, ""))
            log(f"oracle: runs: {time.monotonic() - t0:.1f}s")
        for p in todo:
            r = results[p.key]
            # a build failure without a compiler message may come from the machine: not kept
            if not r.detail.startswith(BUILD_FAILED):
                cache[_cache_key(goversion, p.code)] = dataclasses.asdict(r)
        _save_cache(cache_dir, cache)
    return results


# ---------------------------------------------------------------------------
# the kernel
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class KernelResult:
    """What one cell did in the kernel."""

    status: str  # "ok", "error" or "timeout"
    stdout: str = ""
    stderr: str = ""
    merged: str = ""  # the stream texts in arrival order
    ename: str = ""
    evalue: str = ""
    traceback: list = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    @property
    def error_text(self) -> str:
        return "\n".join([f"{self.ename}: {self.evalue}"] + list(self.traceback)) if self.ename else ""


def _poll(get, timeout):
    try:
        return get(timeout=timeout)
    except queue.Empty:
        return None


def _collect(kc, msg_id: str, deadline: float, res: KernelResult, state: dict) -> bool:
    """Collects the iopub messages and the reply of request msg_id into res
    until the kernel is idle again (True) or the deadline passes (False)."""
    while not (state.get("reply") and state.get("idle")):
        if time.monotonic() > deadline:
            return False
        msg = _poll(kc.get_iopub_msg, 0.05)
        if msg is not None and msg["parent_header"].get("msg_id") == msg_id:
            t, c = msg["msg_type"], msg["content"]
            if t == "stream":
                res.merged += c["text"]
                if c["name"] == "stdout":
                    res.stdout += c["text"]
                else:
                    res.stderr += c["text"]
            elif t == "error":
                res.ename, res.evalue, res.traceback = c.get("ename", ""), c.get("evalue", ""), c.get("traceback", [])
            elif t == "status" and c["execution_state"] == "idle":
                state["idle"] = True
        msg = _poll(kc.get_shell_msg, 0 if msg is not None else 0.01)
        if msg is not None and msg["parent_header"].get("msg_id") == msg_id:
            state["reply"] = msg["content"]
    return True


class KernelRunner:
    """Runs programs as cells of one kernel, each after %reset; restarts the
    kernel every restart_every programs (goroutines of earlier programs keep
    running in the interpreter) and after a cell that would not stop.

    start() returns an object with .km (KernelManager) and .kc (a started
    BlockingKernelClient); stop(that) shuts it down."""

    def __init__(self, start: Callable[[], object], stop: Callable[[object], None], restart_every: int = 200, reset: bool = True):
        self._start, self._stop = start, stop
        self.restart_every = restart_every
        self.reset = reset  # %reset before each program (False only to measure what it is for)
        self.kernel = None
        self.since_start = 0
        self.restarts = 0

    def close(self) -> None:
        if self.kernel is not None:
            self._stop(self.kernel)
            self.kernel = None

    def _restart(self) -> None:
        self.close()
        self.kernel = self._start()
        self.since_start = 0
        self.restarts += 1

    def execute(self, code: str, timeout: float) -> KernelResult:
        """Runs one cell; on timeout interrupts it (and restarts the kernel
        if the interrupt does not bring it back)."""
        kc = self.kernel.kc
        t0 = time.monotonic()
        res = KernelResult(status="ok")
        state: dict = {}
        msg_id = kc.execute(code, allow_stdin=False)
        done = _collect(kc, msg_id, t0 + timeout, res, state)
        if not done:
            res.status = "timeout"
            self.kernel.km.interrupt_kernel()
            if not _collect(kc, msg_id, time.monotonic() + 15, res, state):
                self._restart()
        elif state["reply"].get("status") == "error":
            res.status = "error"
            if not res.ename:
                r = state["reply"]
                res.ename, res.evalue, res.traceback = r.get("ename", ""), r.get("evalue", ""), r.get("traceback", [])
        res.seconds = time.monotonic() - t0
        return res

    def run(self, code: str, timeout: float = CELL_TIMEOUT) -> KernelResult:
        """Runs code as one cell in a fresh interpreter state."""
        if self.kernel is None or self.since_start >= self.restart_every or not self.kernel.km.is_alive():
            self._restart()
        if self.reset and self.execute("%reset", 30).status != "ok":
            self._restart()
        self.since_start += 1
        return self.execute(code, timeout)


def install_kernel_spec(mpigo_bin: Path, prefix: Path, name: str = "mpigo") -> Path:
    """Installs the kernel spec of mpigo_bin under prefix and puts it first
    on JUPYTER_PATH; returns the data directory."""
    subprocess.run([str(mpigo_bin), "install", "--prefix", str(prefix), "--name", name], check=True, timeout=60, capture_output=True)
    data = prefix / "share" / "jupyter"
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(data), os.environ.get("JUPYTER_PATH")]))
    return data


@dataclasses.dataclass
class StandaloneKernel:
    km: object
    kc: object


def start_standalone(name: str = "mpigo", log: Optional[Path] = None) -> StandaloneKernel:
    """A kernel of the installed spec name, with a started client (for
    report.py; the tests use conftest.start_kernel)."""
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name=name)
    out = open(log, "ab") if log else subprocess.DEVNULL
    km.start_kernel(stdout=out, stderr=out)
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    return StandaloneKernel(km, kc)


def stop_standalone(k: StandaloneKernel) -> None:
    k.kc.stop_channels()
    k.km.shutdown_kernel(now=True)


# ---------------------------------------------------------------------------
# classification
# ---------------------------------------------------------------------------

# The kernel's explicit refusals: a compile-time error (not a panic, an
# exit, a crash or an interrupt) whose message names mpigo or yaegi as what
# cannot do something and says so: "not supported", "cannot", "not
# available" or "works only". This covers what goeval says today:
#   "mpigo: cannot give this loop one copy of its variables per iteration..."
#   "defer in the body of a range over a function is not supported: mpigo runs..."
#   "mpigo cannot write the value of ..."
#   "yaegi cannot define x at the top level of a cell: ..."
#   "package unsafe is not available in mpigo cells: ..."
#   "package mpi works only in %mpirun cells: ..."
# and not yaegi's own errors ("cannot use type func(int) string as ...",
# "undefined: min"), which name neither. "yaegi internal error" (which also
# says "cannot") is never a refusal: it is a failure of the interpreter.
REFUSAL_AGENT = re.compile(r"\b(?:mpigo|yaegi)\b")
REFUSAL_WORDS = re.compile(r"\b(?:not supported|cannot|not available|works only)\b")
RUNTIME_ERRORS = ("panic", "Exit", "InterpreterCrashed", "Interrupted")
INTERNAL_ERROR = "yaegi internal error"
# the kernel reports a panic in a goroutine on standard error (the cell goes
# on), where a compiled program dies
GOROUTINE_PANIC = re.compile(r"^panic in goroutine started at [^\n]*\n(?:\t[^\n]*\n)*", re.M)


def is_refusal(k: KernelResult) -> bool:
    """Whether the kernel's error is an explicit refusal of an unsupported
    construct (the rule for the "refused" category, in one place)."""
    if k.status != "error" or k.ename in RUNTIME_ERRORS or INTERNAL_ERROR in k.evalue:
        return False
    return REFUSAL_AGENT.search(k.evalue) is not None and REFUSAL_WORDS.search(k.evalue) is not None


def outputs_match(o: OracleResult, k: KernelResult) -> Optional[str]:
    """How the kernel's output matches the compiled program's, None when it
    does not: "streams" (stdout and stderr each identical) or "merged" (the
    two streams together, in order, identical: yaegi's println and print
    write to standard output, Go's to standard error)."""
    k_stderr = GOROUTINE_PANIC.sub("", k.stderr)
    k_merged = GOROUTINE_PANIC.sub("", k.merged)
    if k.stdout == o.stdout and k_stderr == o.stderr:
        return "streams"
    if k_merged == o.merged:
        return "merged"
    return None


def kernel_failed(k: KernelResult) -> bool:
    """Whether the kernel reported an error: a failed cell, or a goroutine
    panic reported on standard error."""
    return k.status != "ok" or GOROUTINE_PANIC.search(k.stderr) is not None


def expected_error(o: OracleResult, k: KernelResult) -> bool:
    """Whether the kernel's error is the one the compiled program calls for:
    ename "Exit" with the same "exit status N" for an exit status without a
    runtime report (os.Exit, log.Fatal; the kernel reports os.Exit(0) too,
    which the compiled program's status 0 cannot tell from a return), a
    panic ("panic", a goroutine panic on stderr, or the interpreter process
    dying) for a panic, any error for a fatal error (deadlock, stack
    overflow) or a signal."""
    if o.kind == "ok":
        return k.status == "error" and k.ename == "Exit" and k.evalue == "exit status 0"
    if o.kind == "exit":
        return k.ename == "Exit" and k.evalue == f"exit status {o.code}"
    if o.kind == "panic":
        return k.ename in ("panic", "InterpreterCrashed") or GOROUTINE_PANIC.search(k.stderr) is not None
    return kernel_failed(k)


def error_line(k: KernelResult) -> str:
    """The kernel's error in one line."""
    if k.status == "timeout":
        return f"cell did not finish within {CELL_TIMEOUT:g} s"
    if k.ename:
        return short(f"{k.ename}: {k.evalue}".replace("\n", " "), 200)
    m = GOROUTINE_PANIC.search(k.stderr)
    return short(m.group(0).splitlines()[0], 200) if m else ""


def classify(o: OracleResult, k: KernelResult) -> tuple:
    """(category, one-line reason) of a program that the oracle ran.

    In order: "yaegi internal error" anywhere in the kernel's error or
    stderr is wrong; a cell that did not finish is an error; an exit status
    other than the compiled program's is wrong; a kernel error that the
    compiled program does not call for (expected_error) is refused when
    is_refusal says so, an error otherwise; no kernel error where the
    compiled program failed is wrong; then the outputs (before the error, if
    any) must match (outputs_match), or it is wrong."""
    text = k.error_text + "\n" + k.stderr
    if INTERNAL_ERROR in text:
        return "wrong", error_line(k) or short(text.strip().splitlines()[0], 200)
    if k.status == "timeout":
        return "error", error_line(k)
    if k.ename == "Exit" and o.kind in ("ok", "exit") and not expected_error(o, k):
        return "wrong", f"kernel: {k.evalue}; compiled, it {o.describe()}"
    if kernel_failed(k) and not expected_error(o, k):
        return ("refused" if is_refusal(k) else "error"), error_line(k)
    if o.kind != "ok" and not kernel_failed(k):
        return "wrong", f"no error in the kernel; compiled, it {o.describe()}"
    if outputs_match(o, k) is None:
        return "wrong", first_difference(o.merged, GOROUTINE_PANIC.sub("", k.merged)) + (
            f" (compiled, it {o.describe()})" if o.kind != "ok" else ""
        )
    return "same", ""


def first_difference(compiled: str, kernel: str) -> str:
    """The first line where two outputs differ, in one line."""
    a, b = compiled.splitlines(), kernel.splitlines()
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else None
        y = b[i] if i < len(b) else None
        if x != y:
            show = lambda v: "nothing" if v is None else repr(short(v, 70))  # noqa: E731
            return f"output differs at line {i + 1}: compiled {show(x)}, kernel {show(y)}"
    return "output differs in line endings or stream order"


def output_diff(o: OracleResult, k: KernelResult, context: int = 1, limit: int = 40) -> str:
    """A unified diff of the compiled program's output (streams merged) and
    the kernel's, at most limit lines."""
    lines = list(
        difflib.unified_diff(
            o.merged.splitlines(), GOROUTINE_PANIC.sub("", k.merged).splitlines(), "compiled", "kernel", n=context, lineterm=""
        )
    )
    if len(lines) > limit:
        lines = lines[:limit] + [f"... ({len(lines) - limit} more diff lines)"]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# a whole run
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Outcome:
    program: Program
    category: str  # one of CATEGORIES, or "excluded"
    reason: str = ""
    oracle: Optional[OracleResult] = None
    kernel: Optional[KernelResult] = None
    match: str = ""  # for same: how the outputs matched (outputs_match)

    def diff(self) -> str:
        if self.oracle is None or self.kernel is None:
            return ""
        return output_diff(self.oracle, self.kernel)


@dataclasses.dataclass
class RunResult:
    outcomes: list
    unavailable: dict  # source → why it has no programs
    timings: dict  # phase → seconds
    restarts: int = 0


def run_all(
    programs: list,
    runner: KernelRunner,
    unavailable: Optional[dict] = None,
    log: Callable[[str], None] = print,
    cell_timeout: float = CELL_TIMEOUT,
) -> RunResult:
    """Excludes, runs the oracle, runs the rest in the kernel, classifies."""
    timings = {}
    outcomes: dict = {}
    t0 = time.monotonic()
    for p in programs:
        why = static_exclusion(p)
        if why:
            outcomes[p.key] = Outcome(p, "excluded", why)
    rest = [p for p in programs if p.key not in outcomes]
    oracle = run_oracle(rest, log=log)
    timings["oracle"] = time.monotonic() - t0
    t0 = time.monotonic()
    n = 0
    for p in rest:
        o = oracle[p.key]
        if o.excluded:
            outcomes[p.key] = Outcome(p, "excluded", o.excluded, oracle=o)
            continue
        k = runner.run(p.code, timeout=cell_timeout)
        category, reason = classify(o, k)
        outcomes[p.key] = Outcome(p, category, reason, oracle=o, kernel=k)
        if category == "same":
            outcomes[p.key].match = outputs_match(o, k) or ""
        n += 1
        if n % 100 == 0:
            log(f"kernel: {n} programs, {time.monotonic() - t0:.1f}s")
    timings["kernel"] = time.monotonic() - t0
    log(f"kernel: {n} programs, {timings['kernel']:.1f}s, {runner.restarts} kernel starts")
    return RunResult([outcomes[p.key] for p in programs], dict(unavailable or {}), timings, runner.restarts)


def counts(outcomes: Iterable[Outcome]) -> dict:
    """source → {category → count} (categories and "excluded"), plus the
    total under "all"."""
    table: dict = {}
    for o in outcomes:
        for s in (o.program.source, "all"):
            row = table.setdefault(s, {c: 0 for c in CATEGORIES + ("excluded",)})
            row[o.category] += 1
    return table


def pass_rate(row: dict) -> float:
    """same / (same + refused + error + wrong): the share of the programs
    that reached the kernel that ran as compiled."""
    ran = sum(row[c] for c in CATEGORIES)
    return row["same"] / ran if ran else 1.0


def exclusion_counts(outcomes: Iterable[Outcome]) -> dict:
    """(source, reason) → count of the excluded programs."""
    out: dict = {}
    for o in outcomes:
        if o.category == "excluded":
            out[(o.program.source, o.reason)] = out.get((o.program.source, o.reason), 0) + 1
    return out


def summary_table(res: RunResult) -> str:
    """The per-source counts and pass rates, as text."""
    table = counts(res.outcomes)
    lines = [f"{'source':8} {'same':>6} {'refused':>8} {'error':>6} {'wrong':>6} {'excluded':>9} {'pass rate':>10}"]
    for s in [s for s in SOURCES if s in table] + ["all"]:
        r = table[s]
        lines.append(
            f"{s:8} {r['same']:6} {r['refused']:8} {r['error']:6} {r['wrong']:6} {r['excluded']:9} {pass_rate(r):9.1%}"
        )
    for s, why in sorted(res.unavailable.items()):
        lines.append(f"{s}: no programs: {why}")
    merged = sum(1 for o in res.outcomes if o.match == "merged")
    if merged:
        lines.append(f"({merged} of the same matched only with stdout and stderr merged: println and print write to stdout in yaegi, to stderr in Go)")
    return "\n".join(lines)


def topic_table(res: RunResult, source: str = "own") -> str:
    """Counts per topic of one source, as text."""
    rows: dict = {}
    for o in res.outcomes:
        if o.program.source == source:
            row = rows.setdefault(o.program.topic, {c: 0 for c in CATEGORIES + ("excluded",)})
            row[o.category] += 1
    lines = [f"{'topic':14} {'programs':>8} {'same':>5} {'refused':>8} {'error':>6} {'wrong':>6} {'excluded':>9}"]
    for t, r in sorted(rows.items()):
        lines.append(f"{t:14} {sum(r.values()):8} {r['same']:5} {r['refused']:8} {r['error']:6} {r['wrong']:6} {r['excluded']:9}")
    return "\n".join(lines)


def describe(o: Outcome, diff: bool = True) -> str:
    """One program's outcome for a listing: source, name, reason, and for a
    wrong program, the first differing lines."""
    head = f"{o.program.key} [{o.program.topic}] {o.category}: {o.reason}"
    if o.category in ("excluded", "same") and o.oracle is not None and o.oracle.detail:
        head += f" ({short(o.oracle.detail.splitlines()[0] if o.oracle.detail.strip() else '', 160)})"
    if diff and o.category == "wrong" and o.oracle is not None and o.kernel is not None:
        d = o.diff()
        if d:
            head += "\n" + "\n".join("    " + line for line in d.splitlines())
        if o.kernel.ename:
            head += f"\n    kernel error: {error_line(o.kernel)}"
    return head


def listing(res: RunResult, category: str, source: Optional[str] = None, diff: bool = True) -> str:
    """Every program of a category (of a source), described."""
    return "\n".join(
        describe(o, diff) for o in res.outcomes if o.category == category and (source is None or o.program.source == source)
    )


def exclusions_text(res: RunResult) -> str:
    """The exclusion counts, by source and reason."""
    return "\n".join(f"{s:6} {n:5}  {why}" for (s, why), n in sorted(exclusion_counts(res.outcomes).items()))
