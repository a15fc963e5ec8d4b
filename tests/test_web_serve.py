"""``pelvic-spread serve``: a bad scene is refused before anything is served."""

from __future__ import annotations

from tests.conftest import run_cli


def test_serve_refuses_a_bad_scene_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: pelvic-spread/1\nnodes:\n  - id: Not An Id\n    kind: mesh\n")
    result = run_cli("serve", str(bad), "--port", "0", timeout=120)
    assert result.returncode == 2
    assert f"{bad}:3:" in result.stderr
    assert "Serving" not in result.stdout


def test_serve_refuses_a_missing_scene(tmp_path):
    result = run_cli("serve", str(tmp_path / "nowhere.yaml"), "--port", "0", timeout=120)
    assert result.returncode != 0
    assert "nowhere.yaml" in result.stderr and "Serving" not in result.stdout


def test_serving_beyond_this_machine_warns_that_any_page_drives_the_view(tmp_path):
    from app.web.server import is_loopback

    bad = tmp_path / "bad.yaml"
    bad.write_text("format: pelvic-spread/1\nnodes: 3\n")  # stops serve right after the warning
    opened = run_cli("serve", str(bad), "--host", "0.0.0.0", "--port", "0", timeout=120)
    assert "every page that can reach this address can drive the view" in opened.stderr
    assert "--lecture" in opened.stderr and "presenter's key" in opened.stderr
    local = run_cli("serve", str(bad), "--port", "0", timeout=120)
    assert "Warning" not in local.stderr
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert is_loopback("127.0.1.1") and is_loopback("[::1]")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.20")
    assert not is_loopback("::") and not is_loopback("lecture-hall.example")


def test_export_limit_flag(tmp_path):
    from app.case import DEFAULT_SCENE
    from app.export.jobs import DEFAULT_LIMIT_BYTES
    from app.web.server import make_server

    bad = run_cli("serve", "--export-limit", "lots", "--port", "0", timeout=120)
    assert bad.returncode == 2 and "--export-limit" in bad.stderr and "500M or 2G" in bad.stderr
    server, app = make_server(str(DEFAULT_SCENE), tmp_path, name="limit-test",
                              build_later=True, export_limit=500 * 2**20)
    try:
        assert app.export.jobs.max_bytes == 500 * 2**20 != DEFAULT_LIMIT_BYTES
    finally:
        app.engine.close()


def test_the_index_names_the_bundle_and_loads_the_player_in_its_head():
    from app.web.early import HEAD_SCRIPTS, early_index, trame_index

    template = trame_index()
    hint = {"bundle": "/bundle/case.0123456789abcdef.bin", "time": 12.5, "camera": None,
            "labels": False, "looks": {"sacrum": [0, 1.0, "#e8dcc0"]}}
    page = early_index(template, hint)
    head, body = page.split("</head>", 1)
    assert body == template.split("</head>", 1)[1]  # trame's own page, otherwise unchanged
    assert ('window.PS_EARLY = {"bundle": "/bundle/case.0123456789abcdef.bin", "time": 12.5, '
            '"camera": null, "labels": false, "looks": {"sacrum": [0, 1.0, "#e8dcc0"]}};'
            ) in head
    assert 'rel="preload" as="fetch" crossorigin href="/bundle/case.0123456789abcdef.bin"' in head
    # after trame's own module script, in this order: the player, then what uses it
    at = [head.index(f'<script defer src="{s}">') for s in HEAD_SCRIPTS]
    assert head.index("assets/index-") < at[0] < at[1]
    # no bundle yet (a new scene's first start): the page starts as trame's does
    bare = early_index(template, {"bundle": None, "time": 0.0})
    assert "window.PS_EARLY = {};" in bare and "preload" not in bare
    # a name cannot end the script early
    assert "</script><script>" not in early_index(template, {"bundle": "/b/</script><script>x"})
