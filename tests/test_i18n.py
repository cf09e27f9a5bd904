"""Languages per request: the production server (waitress, 8 threads) serving zh-CN and English
at once never answers a request in the other request's language."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gridroute.app import create_app

HEADINGS = {"en": "<h1>Loaded grid</h1>", "zh-CN": "<h1>已加载网格</h1>"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_serving(server: subprocess.Popen, port: int) -> None:
    for _ in range(600):
        assert server.poll() is None, server.communicate()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("gridroute serve did not start")


def test_eight_threads_alternating_languages_each_get_their_own(seeded_db_url):
    port = _free_port()
    env = {**os.environ, "GRIDROUTE_DATABASE_URL": seeded_db_url}
    # `gridroute serve` is the production server: waitress with 8 threads.
    server = subprocess.Popen([str(Path(sys.executable).parent / "gridroute"), "serve",
                               "--port", str(port), "--no-scheduler"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def fetch(i: int) -> tuple[str, str]:
        lang = ("en", "zh-CN")[i % 2]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/grid?lang={lang}", timeout=30) as r:
            return lang, r.read().decode()

    try:
        _wait_until_serving(server, port)
        with ThreadPoolExecutor(8) as pool:
            pages = list(pool.map(fetch, range(240)))
    finally:
        server.terminate()
        server.communicate(timeout=10)
    wrong = [(lang, i) for i, (lang, html) in enumerate(pages)
             if HEADINGS[lang] not in html or f'<html lang="{lang}">' not in html]
    assert wrong == []
    other = {"en": HEADINGS["zh-CN"], "zh-CN": HEADINGS["en"]}
    assert not any(other[lang] in html for lang, html in pages)


def test_a_message_with_variables_is_formatted_in_the_request_language(app_ctx):
    from flask import render_template_string

    app = create_app(context=app_ctx)
    with app.test_request_context("/?lang=zh-CN"):
        app.preprocess_request()
        assert render_template_string('{{ _("Loaded grid") }}') == "已加载网格"
        assert render_template_string('{{ _("%(n)s cells", n=3) }}') == "3 cells"
    with app.test_request_context("/?lang=en"):
        app.preprocess_request()
        assert render_template_string('{{ _("Loaded grid") }}') == "Loaded grid"
