"""The dashboard in headless Chromium (Debian's /usr/bin/chromium driven by Playwright): a blocked
request appears in the live table, and a held request is approved with a click and completes."""

from __future__ import annotations

import random
import string
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from servers import Nginx, Wardgate, start_nginx, start_wardgate, stop

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]  # fmt: skip
TOKEN = "dashboard-test-" + "".join(random.choices(string.ascii_letters, k=24))


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    server = start_nginx(tmp_path_factory.mktemp("nginx"), {"hello.txt": b"hello from nginx\n"})
    yield server
    stop(server.process)


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wardgate]:
    base: Path = tmp_path_factory.mktemp("wardgate")
    config = "preset: balanced\napprovals: {hosts: [localhost], timeout: 30}\n"
    env = {"WARDGATE_HOME": str(base / "home"), "WARDGATE_ADMIN_TOKEN": TOKEN}
    server = start_wardgate(base, config=config, env=env)
    yield server
    stop(server.process)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, gate: Wardgate) -> Iterator[Page]:
    context = browser.new_context()
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.goto(f"http://127.0.0.1:{gate.admin}/#token={TOKEN}")
    expect(tab.locator("#app")).to_be_visible()
    assert "token=" not in tab.url  # the token leaves the address bar for sessionStorage
    yield tab
    context.close()


def test_a_blocked_request_appears_live(page: Page, upstream: Nginx, gate: Wardgate) -> None:
    expect(page.locator("#live")).to_have_text("live")
    key = "AKIA" + "".join(random.choices(string.ascii_uppercase + "234567", k=16))
    with httpx.Client(proxy=gate.proxy, timeout=10, trust_env=False) as client:
        blocked = client.post(upstream.url("/echo"), content=f"key={key}")
    assert blocked.status_code == 403
    event_id = blocked.json()["event_id"]
    row = page.locator(f'#events tbody tr[data-id="{event_id}"]')
    expect(row).to_contain_text("block")
    expect(row).to_contain_text("dlp.aws_access_key_id")
    row.click()
    detail = page.locator("#detail")
    expect(detail).to_be_visible()
    expect(detail).to_contain_text("AKIA***")
    assert key not in page.content()
    expect(page.locator("#top-rules")).to_contain_text("dlp.aws_access_key_id", timeout=15_000)


def test_a_held_request_is_approved_with_a_click(
    page: Page, upstream: Nginx, gate: Wardgate
) -> None:
    result: dict[str, httpx.Response] = {}

    def send() -> None:
        with httpx.Client(proxy=gate.proxy, timeout=30, trust_env=False) as client:
            result["r"] = client.get(f"http://localhost:{upstream.port}/hello.txt")

    thread = threading.Thread(target=send)
    thread.start()
    try:
        row = page.locator("#approvals tbody tr").first
        expect(row).to_contain_text("localhost")
        expect(row).to_contain_text("policy.approval_required")
        row.get_by_role("button", name="Approve").click()
        thread.join(15)
    finally:
        thread.join(30)
    response = result["r"]
    assert response.status_code == 200 and response.text == "hello from nginx\n"
    expect(page.locator("#approval-count")).to_have_text("0")


def test_without_a_token_the_page_asks_for_one(browser: Browser, gate: Wardgate) -> None:
    context = browser.new_context()
    try:
        tab = context.new_page()
        tab.goto(f"http://127.0.0.1:{gate.admin}/")
        expect(tab.locator("#auth")).to_be_visible()
        tab.fill("#token-input", "wrong-token-" + "x" * 20)
        tab.click("#token-form button")
        expect(tab.locator("#auth")).to_be_visible()  # a 401 sends it back to the form
        tab.fill("#token-input", TOKEN)
        tab.click("#token-form button")
        expect(tab.locator("#app")).to_be_visible()
    finally:
        context.close()
