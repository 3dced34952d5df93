"""Cells reading os.Stdin: input_request when the front end allows stdin, EOF otherwise."""

import pytest

from helpers import ok

READERS = {
    "bufio": 'line, err := bufio.NewReader(os.Stdin).ReadString(\'\\n\')\nfmt.Printf("got %q err=%v\\n", line, err)',
    "scanln": 'var n int\n_, err := fmt.Scanln(&n)\nfmt.Println("twice:", n*2, "err:", err)',
}


def test_bufio_read_with_stdin(kc):
    ex = ok(kc, READERS["bufio"], allow_stdin=True, stdin=["42"])
    assert len(ex.input_requests) == 1
    assert ex.input_requests[0]["password"] is False
    assert ex.stdout == 'got "42\\n" err=<nil>\n', ex.describe()


def test_scanln_with_stdin(kc):
    ex = ok(kc, READERS["scanln"], allow_stdin=True, stdin=["21"])
    assert len(ex.input_requests) == 1
    assert ex.stdout == "twice: 42 err: <nil>\n", ex.describe()


def test_two_reads_two_requests(kc):
    code = 'r := bufio.NewReader(os.Stdin)\na, _ := r.ReadString(\'\\n\')\nb, _ := r.ReadString(\'\\n\')\nfmt.Print(a, b)'
    ex = ok(kc, code, allow_stdin=True, stdin=["one", "two"])
    assert len(ex.input_requests) == 2
    assert ex.stdout == "one\ntwo\n"


@pytest.mark.parametrize("reader", sorted(READERS))
def test_read_without_stdin_gets_eof(kc, reader):
    # helpers.run fails the test on any input_request when no answers are given
    ex = ok(kc, READERS[reader], allow_stdin=False)
    assert ex.input_requests == []
    assert "EOF" in ex.stdout, ex.describe()


def test_stdin_state_survives(kc):
    ok(kc, "before := 5")
    ok(kc, READERS["scanln"], allow_stdin=True, stdin=["1"])
    assert ok(kc, "before").result_text == "5"
