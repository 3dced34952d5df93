"""Packages beyond the standard library in plain cells: third-party modules
from the Go module proxy (gonum), made-up modules from a proxy in a
directory, local modules, %go get / %go list / %reset --all, and the errors
when a module cannot be had. Plain cells call such packages compiled: the
kernel builds an interpreter with them and switches to it."""

import base64
import textwrap

from helpers import ok, png_size, run
from modproxy import proxy_env, write_module

GONUM_MAT = textwrap.dedent(
    """\
    import "gonum.org/v1/gonum/mat"
    a := mat.NewDense(3, 3, []float64{2, 0, 0, 0, 3, 0, 0, 0, 4})
    b := mat.NewDense(3, 3, []float64{1, 2, 3, 4, 5, 6, 7, 8, 10})
    var c mat.Dense
    c.Mul(a, b)
    fmt.Printf("%.4f %v %v\\n", mat.Det(a), c.At(2, 2), double(c.At(0, 0)))
    var svd mat.SVD
    svd.Factorize(b, mat.SVDThin)
    vals := svd.Values(nil)
    fmt.Printf("%.4f\\n", vals[0]*vals[1]*vals[2])
    """
)


def switch_notes(ex) -> list:
    """The last text of the progress display(s) the cell showed while it
    brought packages in."""
    texts = [d["data"].get("text/plain", "") for d in ex.display_data + ex.update_display_data]
    return [t for t in texts if t.startswith("Interpreter with")]


def test_gonum_mat_in_a_plain_cell_keeps_the_session(kc):
    ok(kc, "func double(x float64) float64 { return 2 * x }\nn := 3")
    ex = run(kc, GONUM_MAT, timeout=600)
    assert ex.status == "ok", ex.describe()
    # det(a) = 24; (a·b)[2][2] = 4·10; 2·(a·b)[0][0] = 4; σ1σ2σ3 = |det(b)| = 3
    assert ex.stdout == "24.0000 40 4\n3.0000\n", ex.describe()
    notes = switch_notes(ex)
    assert notes and "gonum.org/v1/gonum/mat v" in notes[-1], ex.describe()
    # The declarations of earlier cells were replayed; variables carried.
    assert ok(kc, "double(float64(n))").result_text == "6"
    # The package is compiled in for good: the next cell switches nothing.
    again = ok(kc, "mat.NewDense(2, 2, []float64{1, 2, 3, 4}).At(1, 0)")
    assert again.result_text == "3" and not switch_notes(again)


def test_completion_and_inspection_know_the_package(kc):
    ok(kc, 'import "gonum.org/v1/gonum/mat"', timeout=600)
    code = "mat.NewDe"
    reply = kc.complete(code, len(code), reply=True, timeout=30)["content"]
    assert "NewDense" in reply["matches"], reply
    code = "mat.NewDense"
    reply = kc.inspect(code, len(code), reply=True, timeout=30)["content"]
    assert reply["found"], reply
    assert "NewDense creates a new Dense matrix" in reply["data"]["text/plain"], reply


def test_gonum_plot_png(kc):
    code = textwrap.dedent(
        """\
        import (
            "bytes"

            "gonum.org/v1/plot"
            "gonum.org/v1/plot/plotter"
            "gonum.org/v1/plot/vg"
        )
        p := plot.New()
        p.Title.Text = "squares"
        pts := make(plotter.XYs, 10)
        for i := range pts {
            pts[i].X, pts[i].Y = float64(i), float64(i*i)
        }
        line, err := plotter.NewLine(pts)
        if err != nil {
            panic(err)
        }
        p.Add(line)
        w, err := p.WriterTo(4*vg.Inch, 3*vg.Inch, "png")
        if err != nil {
            panic(err)
        }
        var buf bytes.Buffer
        w.WriteTo(&buf)
        display.PNG(buf.Bytes())
        """
    )
    ex = run(kc, code, timeout=900)
    assert ex.status == "ok", ex.describe()
    pngs = [d["data"]["image/png"] for d in ex.display_data if "image/png" in d["data"]]
    assert len(pngs) == 1, ex.describe()
    width, height = png_size(base64.b64decode(pngs[0]))
    assert width * 3 == height * 4, (width, height)  # 4 in × 3 in


def test_local_module_edits_are_picked_up(kc, tmp_path):
    lib = tmp_path / "mylib"
    lib.mkdir()
    (lib / "go.mod").write_text("module example.org/mylib\n\ngo 1.24\n")
    (lib / "lib.go").write_text("package mylib\n\n// Twice doubles x.\nfunc Twice(x int) int { return 2 * x }\n")
    got = ok(kc, f"%go get {lib}").stdout
    assert f"local example.org/mylib => {lib}" in got
    assert ok(kc, 'import "example.org/mylib"\nmylib.Twice(21)', timeout=600).result_text == "42"
    code = "mylib.Tw"
    assert "Twice" in kc.complete(code, len(code), reply=True, timeout=30)["content"]["matches"]
    (lib / "lib.go").write_text("package mylib\n\n// Twice doubles x, plus one.\nfunc Twice(x int) int { return 2*x + 1 }\n")
    ex = ok(kc, "mylib.Twice(21)", timeout=600)
    assert ex.result_text == "43", ex.describe()
    assert switch_notes(ex), "the edit did not rebuild the interpreter"


def test_version_change_with_go_get(kc, tmp_path):
    proxy = tmp_path / "proxy"
    for v in ("v1.0.0", "v1.1.0"):
        write_module(proxy, "example.com/greet", v, {"greet.go": f'package greet\n\nfunc Hello() string {{ return "hello {v}" }}\n'})
    for k, v in proxy_env(proxy).items():
        ok(kc, f"%env {k}={v}")
    assert "added example.com/greet v1.0.0" in ok(kc, "%go get example.com/greet@v1.0.0").stdout
    assert ok(kc, 'import "example.com/greet"\ngreet.Hello()', timeout=600).result_text == '"hello v1.0.0"'
    assert "example.com/greet v1.0.0 → v1.1.0" in ok(kc, "%go get example.com/greet@v1.1.0").stdout
    assert ok(kc, "greet.Hello()", timeout=600).result_text == '"hello v1.1.0"'
    listed = ok(kc, "%go list").stdout
    assert "example.com/greet v1.1.0" in listed and "Compiled into the interpreter of plain cells: example.com/greet" in listed
    # %reset keeps the requirements, %reset --all forgets them.
    ok(kc, "%reset")
    assert "example.com/greet v1.1.0" in ok(kc, "%go list").stdout
    ok(kc, "%reset --all")
    assert "requires no module" in ok(kc, "%go list").stdout


def test_unavailable_module_is_a_clear_error_and_loses_nothing(kc):
    ok(kc, "%env GOPROXY=off")
    ok(kc, "x := 5")
    ex = run(kc, 'y := 1\nimport "example.com/absent/pkg"\nfmt.Println(y)', timeout=120)
    assert ex.status == "error", ex.describe()
    assert ex.error["ename"] == "ImportError", ex.describe()
    msg = ex.error["evalue"]
    for want in ("cell[", ":2:8", "example.com/absent/pkg", "GOPROXY=off", "tried: go get", "%go get ./"):
        assert want in msg, (want, msg)
    assert ok(kc, "x").result_text == "5"


def test_go_magic_usage(kc):
    ex = run(kc, "%go frobnicate")
    assert ex.status == "error" and ex.error["ename"] == "UsageError", ex.describe()
    assert "usage:" in ex.error["evalue"] and "%go get" in ex.error["evalue"]
    assert "%go get" in ok(kc, "%help").stdout


def test_generics_of_a_compiled_package(kc, tmp_path):
    """yaegi cannot instantiate a compiled package's generic function: the
    cell says which and what to do; the package's other members work, and an
    %mpirun cell (compiled Go) calls the generic one."""
    lib = tmp_path / "gen"
    lib.mkdir()
    (lib / "go.mod").write_text("module example.org/gen\n\ngo 1.24\n")
    (lib / "gen.go").write_text(textwrap.dedent(
        """\
        package gen

        // Map applies f to every element of s.
        func Map[T, U any](s []T, f func(T) U) []U {
            out := make([]U, 0, len(s))
            for _, x := range s {
                out = append(out, f(x))
            }
            return out
        }

        // Squares is Map with a square, for callers that cannot instantiate.
        func Squares(s []int) []int { return Map(s, func(x int) int { return x * x }) }
        """
    ))
    ok(kc, f"%go get {lib}")
    assert ok(kc, 'import "example.org/gen"\ngen.Squares([]int{1, 2, 3})', timeout=600).result_text == "[1 4 9]"
    ex = run(kc, "gen.Map([]int{1, 2}, func(x int) string { return fmt.Sprint(x) })")
    assert ex.status == "error" and ex.error["ename"] == "CompileError", ex.describe()
    msg = ex.error["evalue"]
    for want in ("gen.Map", "generic", "%mpirun", "%go get ./"):
        assert want in msg, (want, msg)
    ex = run(kc, '%mpirun -n 2\nfmt.Println(gen.Map([]int{mpi.World.Rank()}, func(x int) string { return fmt.Sprint("r", x) }))', timeout=600)
    assert ex.status == "ok", ex.describe()
    assert sorted(ex.stdout.splitlines()) == ["[rank 0] [r0]", "[rank 1] [r1]"], ex.describe()
