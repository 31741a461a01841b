"""The page's front-end code lives in files (nin/ui/static), parses, and takes its values as data."""

import ast
import html
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import require

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "nin" / "ui" / "static"
SCRIPTS = sorted(STATIC.glob("*.js"))
MAX_STRING = 2000  # characters: a longer string constant in nin/ would be a file's worth of code


def node() -> str:
    found = shutil.which("node")
    require(found is not None, "node not found; apt-get install -y nodejs")
    return found


@pytest.mark.parametrize("path", SCRIPTS, ids=[path.name for path in SCRIPTS])
def test_every_script_of_the_page_parses(path):
    proc = subprocess.run([node(), "--check", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_the_page_script_as_gradio_gets_it_parses(tmp_path):
    from nin.ui.assets import page_js

    script = tmp_path / "page.js"
    script.write_text(f"const onMounted = {page_js().strip()};\n")
    proc = subprocess.run([node(), "--check", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_the_node_check_fails_on_a_script_that_does_not_parse(tmp_path):
    broken = tmp_path / "broken.js"
    broken.write_text("const x = {;\n")
    assert subprocess.run([node(), "--check", str(broken)], capture_output=True).returncode != 0


def test_the_canvas_script_reads_its_values_from_the_page_not_from_formatted_code():
    from nin.ui.canvas import html_template, script_config

    assert "%(" not in (STATIC / "canvas.js").read_text()
    config = html_template().split('data-config="', 1)[1].split('"', 1)[0]
    assert json.loads(html.unescape(config)) == script_config()


def test_no_string_constant_in_nin_is_longer_than_2000_characters():
    long = []
    for path in sorted((ROOT / "nin").rglob("*.py")):
        for node_ in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node_, ast.Constant) and isinstance(node_.value, str) and len(node_.value) > MAX_STRING:
                long.append(f"{path.relative_to(ROOT)}:{node_.lineno} ({len(node_.value)} characters)")
    assert long == []
