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
