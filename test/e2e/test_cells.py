"""Go cells: state, declarations in any order, redefinition, generics, values,
live output and automatic imports."""

import pytest

from helpers import ok, run


def test_state_across_cells(kc):
    ok(kc, "x := 40")
    ok(kc, "y := x + 1")
    assert ok(kc, "x + y - 39").result_text == "42"


def test_mixed_cell(kc):
    code = """\
n := 2
import "strings"
func double(v int) int { return v * 2 }
type point struct{ X, Y int }
const k = 3
var label = "p"
fmt.Println(strings.Repeat("a", double(n)), point{1, k}, label)
"""
    ex = ok(kc, code)
    assert ex.stdout == "aaaa {1 3} p\n"
    # everything it declared is usable later
    assert ok(kc, "double(k) + n").result_text == "8"


def test_cell_starting_with_var_then_statements(kc):
    ex = ok(kc, 'var greeting = "hi"\nfmt.Println(greeting)')
    assert ex.stdout == "hi\n"


def test_import_group_after_statements(kc):
    code = 'a := 3\nimport (\n\t"math"\n\t"strconv"\n)\nfmt.Println(strconv.Itoa(a), math.Sqrt(16))'
    assert ok(kc, code).stdout == "3 4\n"


def test_func_redefinition(kc):
    ok(kc, "func f() int { return 1 }")
    assert ok(kc, "f()").result_text == "1"
    ok(kc, "func f() int { return 2 }")
    assert ok(kc, "f()").result_text == "2"


def test_func_redefinition_seen_by_callers(kc):
    ok(kc, "func g() int { return 1 }\nfunc callsG() int { return g() * 10 }")
    ok(kc, "func g() int { return 2 }")
    assert ok(kc, "callsG()").result_text == "20"


def test_type_redefinition_with_method(kc):
    ok(kc, 'type T struct{ A int }\nfunc (t T) Name() string { return "v1" }')
    assert ok(kc, "fmt.Println(T{A: 1}.Name())").stdout == "v1\n"
    ok(kc, 'type T struct{ A, B int }\nfunc (t T) Name() string { return fmt.Sprint("v2 ", t.B) }')
    assert ok(kc, "fmt.Println(T{A: 1, B: 5}.Name())").stdout == "v2 5\n"


def test_generics(kc):
    ok(
        kc,
        """\
func Map[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}
type Number interface{ ~int | ~float64 }
func Sum[N Number](xs []N) N {
	var s N
	for _, x := range xs {
		s += x
	}
	return s
}""",
    )
    # yaegi v0.16 limits: no inference of U from a func literal, no variadic type parameters
    ex = ok(kc, "fmt.Println(Map[int, string]([]int{1, 2, 3}, func(i int) string { return strconv.Itoa(i * i) }))")
    assert ex.stdout == "[1 4 9]\n"
    assert ok(kc, "Sum([]float64{1.5, 2.5})").result_text == "4"
    assert ok(kc, "Sum([]int{1, 2, 3})").result_text == "6"


def test_rerun_short_var_decl(kc):
    ok(kc, "x := 1")
    ok(kc, "x := 1")
    ok(kc, "x := 2")
    assert ok(kc, "x").result_text == "2"


def test_rerun_short_var_decl_with_other_type(kc):
    ok(kc, "v := 1")
    ok(kc, 'v := "now a string"')
    assert ok(kc, "len(v)").result_text == "12"


@pytest.mark.parametrize(
    "code, want",
    [
        ("1+2", "3"),
        ("x := 20\nx * 2 + 2", "42"),
        ("3.5 * 2", "7"),
        ("len(\"four\")", "4"),
        ("true && false", "false"),
    ],
)
def test_final_expression_value(skc, code, want):
    ex = ok(skc, code)
    assert ex.result_text == want, ex.describe()
    assert ex.execute_result["execution_count"] == ex.reply["execution_count"]


def test_composite_value(kc):
    text = ok(kc, "[]int{1, 2}").result_text
    assert text is not None and "1" in text and "2" in text


@pytest.mark.parametrize(
    "code",
    [
        'fmt.Println("hi")',  # returns (int, error): nothing shown
        "x := 1",
        "func h() {}",
        "var z int",
        "h := func() {}\nh()",  # a call with no value
    ],
)
def test_no_value_shown(kc, code):
    ex = ok(kc, code)
    assert ex.execute_result is None, ex.describe()


def test_println_output_no_value(kc):
    ex = ok(kc, 'fmt.Println("hi")')
    assert ex.stdout == "hi\n"
    assert ex.execute_result is None


@pytest.mark.parametrize("stream, writer", [("stdout", "os.Stdout"), ("stderr", "os.Stderr")])
def test_output_streams_live(kc, tmp_path, stream, writer):
    """The cell prints "first", then waits (up to 30 s) for a file that the test
    creates only once it has received "first". Output held back until the end of
    the cell would make the cell time out and print "timed out"."""
    flag = tmp_path / "flag"
    code = f"""\
func exists(p string) bool {{
	_, err := os.Stat(p)
	return err == nil
}}
fmt.Fprintln({writer}, "first")
deadline := time.Now().Add(30 * time.Second)
for !exists({str(flag)!r}) {{
	if time.Now().After(deadline) {{
		fmt.Fprintln({writer}, "timed out")
		break
	}}
	time.Sleep(20 * time.Millisecond)
}}
fmt.Fprintln({writer}, "second")
""".replace("'", '"')

    def on_msg(msg):
        if msg["msg_type"] == "stream" and msg["content"]["name"] == stream and "first" in msg["content"]["text"]:
            flag.touch()

    ex = run(kc, code, on_msg=on_msg, timeout=60)
    assert ex.status == "ok", ex.describe()
    assert ex.stream(stream) == "first\nsecond\n", ex.describe()


def test_multi_value_assignment_in_loop(kc):
    """A common cell: a loop whose body declares `v, err :=` from a call."""
    code = """\
for _, p := range []string{"/", "/no/such/path"} {
	_, err := os.Stat(p)
	fmt.Println(p, err == nil)
}
if _, err := os.Stat("/"); err == nil {
	fmt.Println("if-init ok")
}"""
    assert ok(kc, code).stdout == "/ true\n/no/such/path false\nif-init ok\n"


def test_stdout_and_stderr_separate(kc):
    ex = ok(kc, 'fmt.Println("to out")\nfmt.Fprintln(os.Stderr, "to err")\nprint("builtin print\\n")')
    assert "to out\n" in ex.stdout and "to err" not in ex.stdout
    assert "to err\n" in ex.stderr and "to out" not in ex.stderr


def test_output_from_goroutines(kc):
    code = """\
var wg sync.WaitGroup
for i := 0; i < 4; i++ {
	wg.Add(1)
	go func(i int) {
		defer wg.Done()
		fmt.Println("worker", i)
	}(i)
}
wg.Wait()
"""
    ex = ok(kc, code)
    assert sorted(ex.stdout.splitlines()) == [f"worker {i}" for i in range(4)]


def test_auto_import_stdlib(kc):
    ex = ok(kc, 'strings.ToUpper("a")')
    assert ex.result_text is not None and "A" in ex.result_text, ex.describe()
    assert ok(kc, 'fmt.Println(strconv.Itoa(12) + path.Join("a", "b"))').stdout == "12a/b\n"


def test_auto_import_in_declarations(kc):
    ok(kc, "func root(x float64) float64 { return math.Sqrt(x) }")
    assert ok(kc, "root(9)").result_text == "3"


def test_auto_import_display(kc):
    ex = ok(kc, 'display.HTML("<b>auto</b>")')
    assert len(ex.display_data) == 1, ex.describe()
    assert ex.display_data[0]["data"]["text/html"] == "<b>auto</b>"


def test_explicit_import_still_works(kc):
    ex = ok(kc, 'import "github.com/mpigo/mpigo/display"\nimport str "strings"\ndisplay.Text(str.Repeat("ab", 2))')
    assert ex.display_data[0]["data"]["text/plain"] == "abab"
