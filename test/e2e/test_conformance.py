"""jupyter_kernel_test's protocol conformance suite, run against mpigo.

KernelTests starts the kernel by name through jupyter_client; the autouse
session fixture in conftest.py has put the temporary kernel spec on
JUPYTER_PATH before the class is set up.
"""

import pytest
import jupyter_kernel_test  # not `from ... import KernelTests`: pytest would collect that class too


@pytest.mark.usefixtures("kernel_spec")
class TestMpigoConformance(jupyter_kernel_test.KernelTests):
    kernel_name = "mpigo"
    language_name = "go"
    file_extension = ".go"

    code_hello_world = 'fmt.Println("hello, world")'
    code_stderr = 'fmt.Fprintln(os.Stderr, "to stderr")'

    completion_samples = [
        {"text": "strings.ToUpp", "matches": {"ToUpper", "ToUpperSpecial"}},
        {"text": "strconv.Itoa", "matches": {"Itoa"}},
    ]

    complete_code_samples = ["x := 1", 'fmt.Println("hi")', "func f() {}", "type T struct{}"]
    incomplete_code_samples = ["func f() {", "fmt.Println(", "x := 1 +", "if x > 0 {\n\tx--"]
    invalid_code_samples = ["x := )", "}", "a b c d"]

    code_generate_error = 'panic("boom")'

    code_execute_result = [
        {"code": "6*7", "result": "42"},
        {"code": "x := 5\nx * 2", "result": "10"},
        {"code": "len(\"abc\")", "result": "3"},
    ]

    code_display_data = [
        {"code": 'display.HTML("<b>hi</b>")', "mime": "text/html"},
        {"code": 'display.Markdown("*hi*")', "mime": "text/markdown"},
        {"code": 'display.SVG(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`)', "mime": "image/svg+xml"},
        {"code": 'display.JSON(map[string]int{"a": 1})', "mime": "application/json"},
        {"code": "display.Image(image.NewGray(image.Rect(0, 0, 2, 2)))", "mime": "image/png"},
    ]

    # must match one of code_execute_result (a glob, as in IPython's history search)
    code_history_pattern = "6*7"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "strings.ToUpper"

    # name? (IPython's help syntax) answers with a "page" payload: the inspection of name
    code_page_something = "strings.ToUpper?"
    # display.Clear is clear_output
    code_clear_output = "display.Clear(false)"
