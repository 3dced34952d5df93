"""Package display: one display_data per call with the right MIME type and a
text/plain fallback; Update for output that changes in place."""

import pytest

from helpers import b64decode, ok, png_size, text

# small images built in the cell
MAKE_IMG = "img := image.NewRGBA(image.Rect(0, 0, 3, 2))\nimg.Set(1, 1, color.RGBA{255, 0, 0, 255})\n"

CASES = [
    # (id, code, mime, expected value or None to check separately)
    ("HTML", 'display.HTML("<b>bold</b>")', "text/html", "<b>bold</b>"),
    ("Markdown", 'display.Markdown("# Title\\n*em*")', "text/markdown", "# Title\n*em*"),
    ("SVG", 'display.SVG(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>`)',
     "image/svg+xml", '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'),
    ("Latex", "display.Latex(`$\\sum_i x_i$`)", "text/latex", "$\\sum_i x_i$"),
    ("JavaScript", 'display.JavaScript("console.log(1)")', "application/javascript", "console.log(1)"),
    ("Text", 'display.Text("just text")', "text/plain", "just text"),
    ("JSON", 'display.JSON(map[string]any{"a": 1, "b": []string{"x"}})', "application/json", {"a": 1, "b": ["x"]}),
    ("PNG", MAKE_IMG + "var buf bytes.Buffer\npng.Encode(&buf, img)\ndisplay.PNG(buf.Bytes())", "image/png", None),
    ("JPEG", MAKE_IMG + "var buf bytes.Buffer\njpeg.Encode(&buf, img, nil)\ndisplay.JPEG(buf.Bytes())", "image/jpeg", None),
    ("Image", MAKE_IMG + "display.Image(img)", "image/png", None),
    ("Data", 'display.Data(map[string]any{"text/html": "<i>x</i>", "text/csv": "a,b"})', "text/csv", "a,b"),
]


@pytest.mark.parametrize("code, mime, want", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_display_function(kc, code, mime, want):
    ex = ok(kc, code)
    assert len(ex.display_data) == 1, ex.describe()
    d = ex.display_data[0]
    assert mime in d["data"], d["data"].keys()
    plain = d["data"].get("text/plain")
    assert isinstance(text(plain), str) and text(plain) != "", f"no text/plain fallback: {d['data']}"
    if want is not None:
        assert (text(d["data"][mime]) if isinstance(want, str) else d["data"][mime]) == want
    if mime == "image/png":
        assert png_size(b64decode(d["data"][mime])) == (3, 2)
    if mime == "image/jpeg":
        assert b64decode(d["data"][mime])[:3] == b"\xff\xd8\xff"
    assert "metadata" in d and "transient" in d
    assert ex.execute_result is None, "a display call must not also produce a value"


def test_html_fallback_is_readable(kc):
    ex = ok(kc, 'display.HTML("<table><tr><td>cell</td></tr></table>")')
    plain = text(ex.display_data[0]["data"]["text/plain"])
    assert "cell" in plain


def test_data_keeps_every_mime_type(kc):
    ex = ok(kc, 'display.Data(map[string]any{"text/html": "<i>x</i>", "text/plain": "x", "text/markdown": "_x_"})')
    assert ex.display_data[0]["data"] == {"text/html": "<i>x</i>", "text/plain": "x", "text/markdown": "_x_"}


def test_display_order_with_text(kc):
    """Displays come out in order with printed text around them."""
    ex = ok(kc, 'fmt.Println("before")\ndisplay.Text("middle")\nfmt.Println("after")')
    order = []
    for m in ex.messages:
        if m["msg_type"] == "stream":
            order += [("stream", line) for line in m["content"]["text"].splitlines()]
        elif m["msg_type"] == "display_data":
            order.append(("display", text(m["content"]["data"]["text/plain"])))
    assert order == [("stream", "before"), ("display", "middle"), ("stream", "after")]


def test_display_from_declared_func(kc):
    ok(kc, 'func show(s string) { display.Markdown("**" + s + "**") }')
    ex = ok(kc, 'show("x")')
    assert ex.display_data[0]["data"]["text/markdown"] == "**x**"


def test_update_in_one_cell(kc):
    code = """\
for i := 0; i <= 2; i++ {
	display.Update("progress", map[string]any{"text/plain": fmt.Sprintf("step %d", i)})
}"""
    ex = ok(kc, code)
    assert len(ex.display_data) == 1, ex.describe()
    first = ex.display_data[0]
    assert first["transient"]["display_id"] == "progress"
    assert first["data"]["text/plain"] == "step 0"
    updates = ex.update_display_data
    assert [u["data"]["text/plain"] for u in updates] == ["step 1", "step 2"]
    for u in updates:
        assert u["transient"]["display_id"] == "progress"
    # display_data comes before the updates
    types = [t for t in ex.msg_types if t.endswith("display_data")]
    assert types == ["display_data", "update_display_data", "update_display_data"]


def test_update_has_text_fallback(kc):
    ex = ok(kc, 'display.Update("u", map[string]any{"text/html": "<b>1</b>"})\ndisplay.Update("u", map[string]any{"text/html": "<b>2</b>"})')
    assert "text/plain" in ex.display_data[0]["data"]
    assert "text/plain" in ex.update_display_data[0]["data"]
    assert ex.update_display_data[0]["data"]["text/html"] == "<b>2</b>"


def test_update_across_cells(kc):
    ok(kc, 'display.Update("later", map[string]any{"text/plain": "v1"})')
    ex = ok(kc, 'display.Update("later", map[string]any{"text/plain": "v2"})')
    msgs = ex.display_data + ex.update_display_data
    assert len(msgs) == 1
    assert msgs[0]["transient"]["display_id"] == "later"
    assert msgs[0]["data"]["text/plain"] == "v2"
