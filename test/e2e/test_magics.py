"""Line magics: !command, %env, %cd, %pwd, %reset, %help."""

import os

import pytest

from helpers import ok, run


def test_shell_command_streams(kc):
    ex = ok(kc, "!echo hello")
    assert ex.stdout == "hello\n"


def test_shell_command_stderr(kc):
    ex = ok(kc, "!echo oops >&2")
    assert "oops" in ex.stderr


def test_shell_command_output_is_live(kc, tmp_path):
    """Like the Go streaming test: "first" must arrive while the command still runs."""
    flag = tmp_path / "flag"
    code = f"!echo first; for i in $(seq 1500); do [ -e {flag} ] && break; sleep 0.02; done; [ -e {flag} ] || echo timed out; echo second"

    def on_msg(msg):
        if msg["msg_type"] == "stream" and "first" in msg["content"]["text"]:
            flag.touch()

    ex = run(kc, code, on_msg=on_msg, timeout=60)
    assert ex.status == "ok", ex.describe()
    assert ex.stdout == "first\nsecond\n"


@pytest.mark.parametrize("code", ["!exit 3", "!false"])
def test_shell_failure_is_not_an_error(kc, code):
    ex = ok(kc, code)
    assert ex.error is None


def test_several_magics_and_go_in_one_cell(kc):
    ex = ok(kc, '!echo one\n!echo two\nfmt.Println("three")')
    assert ex.stdout == "one\ntwo\nthree\n"


def test_env_set_and_get(kc):
    ok(kc, "%env MPIGO_E2E_VAR=hello world")
    assert ok(kc, 'fmt.Println(os.Getenv("MPIGO_E2E_VAR"))').stdout == "hello world\n"
    assert "hello world" in ok(kc, "%env MPIGO_E2E_VAR").stdout
    assert "MPIGO_E2E_VAR" in ok(kc, "%env").stdout


def test_env_visible_to_shell_commands(kc):
    ok(kc, "%env MPIGO_E2E_SHELL=from-env")
    assert ok(kc, "!echo $MPIGO_E2E_SHELL").stdout == "from-env\n"


def test_env_then_go_in_same_cell(kc):
    ex = ok(kc, '%env MPIGO_E2E_SAME=1\nfmt.Println(os.Getenv("MPIGO_E2E_SAME"))')
    assert ex.stdout.endswith("1\n")


def test_cd_and_pwd(kc, tmp_path):
    target = os.path.realpath(tmp_path)
    ok(kc, f"%cd {target}")
    assert ok(kc, "wd, _ := os.Getwd()\nfmt.Println(wd)").stdout == target + "\n"
    assert target in ok(kc, "%pwd").stdout
    assert ok(kc, "!pwd").stdout == target + "\n"
    # relative paths in Go code resolve against it
    (tmp_path / "data.txt").write_text("payload")
    assert ok(kc, 'b, _ := os.ReadFile("data.txt")\nfmt.Println(string(b))').stdout == "payload\n"


def test_cd_missing_dir_is_an_error(kc):
    ex = run(kc, "%cd /no/such/dir/anywhere")
    assert ex.status == "error"


def test_reset(kc):
    ok(kc, "zz := 5\nfunc zf() int { return 1 }")
    assert ok(kc, "zz").result_text == "5"
    ok(kc, "%reset")
    ex = run(kc, "zz")
    assert ex.status == "error", "zz survived %reset: " + ex.describe()
    ex = run(kc, "zf()")
    assert ex.status == "error", "zf survived %reset: " + ex.describe()
    # the session still works, and names can be declared afresh
    assert ok(kc, "zz := 6\nzz").result_text == "6"


def test_help_lists_magics(kc):
    out = ok(kc, "%help").stdout
    for magic in ("!", "%env", "%cd", "%pwd", "%reset", "%help"):
        assert magic in out, f"{magic} missing from %help:\n{out}"


def test_unknown_magic_is_an_error(kc):
    ex = run(kc, "%nosuchmagic")
    assert ex.status == "error"
    assert "nosuchmagic" in ex.error_text


def test_percent_inside_go_is_not_a_magic(kc):
    """Only lines starting at column 0 are magics."""
    ex = ok(kc, 'b := true\nc :=\n\t!b\nfmt.Printf("%d%%\\n",\n\t50)\nfmt.Println(c)')
    assert ex.stdout == "50%\nfalse\n"


def test_percent_at_column_0_inside_raw_string_is_go(kc):
    ex = ok(kc, 'fmt.Printf(`a\n%d\n!b\n`, 5)')
    assert ex.stdout == "a\n5\n!b\n"
