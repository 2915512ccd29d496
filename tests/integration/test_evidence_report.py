"""The HTML report, rendered by real headless Chromium and checked on its screenshot.

Needs Debian's chromium package (scripts/packages/report.txt); without it the
test fails, it does not skip. The page is checked for what it shows: the four
gate cards side by side in their verdicts' colours, in order, and the banners.
"""

import os
import shutil
import struct
import subprocess
import zlib
from datetime import date

import pytest

from e5ops.evidence import EvidenceStore, step
from e5ops.evidence.keys import create_key, public_key
from e5ops.evidence.session import EvidenceConfig
from e5ops.evidence.verify import verify_directory
from e5ops.gates.review import assess, authorize, define_scope, open_verified_store, review_gate
from e5ops.gates.scope import load_scope
from e5ops.report import gather, render_html, write_report

GREEN, AMBER, RED, GREY = (
    (0x1A, 0x7F, 0x37),
    (0xBF, 0x87, 0x00),
    (0xCF, 0x22, 0x2E),
    (0x6E, 0x77, 0x81),
)
WIDTH = 1280

SCOPE = """\
environment: lab
inventory: inventories/lab
gates:
  01a:
    criteria:
      - {id: deploy, description: Deployment automation functional, check: playbook_succeeded,
         params: {playbook: playbooks/deploy.yml}, severity: critical}
  02a:
    criteria:
      - {id: backup, description: Backup procedures implemented, check: backup_restored,
         severity: critical}
  03a:
    criteria:
      - {id: lb, description: Load balancing operational, check: metric_within,
         params: {metric: backends_serving_ratio, min: 1.0}, severity: critical}
  04a:
    criteria:
      - {id: requests, description: No failed request, check: failed_requests_at_most,
         params: {max: 0}, severity: critical}
waivers:
  - {criterion: backup, reason: restore host arrives Monday, approver: Grace Hopper,
     expires: "2030-06-30"}
"""


def _run(playbook, published):
    stats = {
        "ok": 4,
        "changed": 1,
        "failures": 0,
        "unreachable": 0,
        "skipped": 0,
        "rescued": 0,
        "ignored": 0,
    }
    return {
        "run": {
            "playbook": playbook,
            "inventory": "inventories/lab",
            "limit": None,
            "tags": None,
            "check": False,
            "status": "successful",
            "rc": 0,
            "started": "2026-01-01T00:00:00+00:00",
            "ended": "2026-01-01T00:00:09+00:00",
            "seconds": 9.0,
            "hosts": {"web1": stats, "web2": stats},
            "tasks": [],
            "published": published,
        }
    }


@pytest.fixture(scope="module")
def evidence(tmp_path_factory):
    base = tmp_path_factory.mktemp("report")
    keys = create_key(private=base / "keys" / "evidence.key")
    (base / "scope.yml").write_text(SCOPE)
    store = open_verified_store(EvidenceConfig(base=base, directory=base / "e5", key=keys.private))
    define_scope(store, load_scope(base / "scope.yml"))
    store.write(
        step=step("01"), body=_run("playbooks/deploy.yml", {}), subjects=[], recorder="runner"
    )
    store.write(
        step=step("02"),
        body=_run("playbooks/backup.yml", {"restore_verified": False}),
        subjects=[],
        recorder="runner",
    )
    store.write(
        step=step("03"),
        body=_run("playbooks/scale.yml", {"backends_serving_ratio": 0.5}),
        subjects=[],
        recorder="runner",
    )
    for gate in ("01a", "02a", "03a"):
        review_gate(store, gate, today=date(2030, 1, 1))
    assess(store)
    authorize(store, approver="Ada Lovelace", decision="deny")
    verification = verify_directory(store.directory, key=public_key(keys.public))
    assert verification.ok
    return write_report(gather(store, verification), store.directory / "report.html")


def _png_pixels(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8
    assert interlace == 0
    assert colour in (2, 6)
    channels = 4 if colour == 6 else 3
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        kind, row = line[0], bytearray(line[1:])
        for i in range(stride):
            left = row[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                row[i] = (row[i] + left) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + up) & 0xFF
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                row[i] = (row[i] + pred) & 0xFF
        rows.append([tuple(row[x * channels : x * channels + 3]) for x in range(width)])
        previous = row
    return rows


def _runs(row, colour):
    """Return (start, length) of each horizontal run of ``colour`` in a pixel row."""
    found, start = [], None
    for x, pixel in enumerate([*row, None]):
        if pixel == colour and start is None:
            start = x
        elif pixel != colour and start is not None:
            found.append((start, x - start))
            start = None
    return found


def test_the_page_is_self_contained(evidence):
    html = evidence.read_text()
    for outside in ("http://", "https://", "<script", "<link", "@import", "url("):
        assert outside not in html
    assert 'href="01a_production_deployment_gate_review.dsse.json"' in html
    assert "06_e5_authorization_decision" in html


def test_chromium_shows_the_gate_dashboard(evidence, tmp_path):
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium package is needed: scripts/packages/report.txt"
    shot = tmp_path / "report.png"
    # Kept for people to look at, too: E5OPS_REPORT_SCREENSHOT=path copies it there.
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--window-size={WIDTH},2200",
            f"--screenshot={shot}",
            evidence.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    keep = os.environ.get("E5OPS_REPORT_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)
    rows = _png_pixels(shot.read_bytes())
    assert len(rows[0]) == WIDTH

    # Full-width banners: "verified" in green, then the assessment and decision in red.
    banners = [
        (y, colour)
        for y, row in enumerate(rows)
        for colour in (GREEN, RED)
        if any(length > 1000 for _, length in _runs(row, colour))
    ]
    first_banner = [colour for _, colour in banners][:1]
    assert first_banner == [GREEN]
    assert RED in {colour for _, colour in banners}

    # Gate cards: headers about 560 px wide, two to a row, 01a to 04a in order.
    cards = {}
    for y, row in enumerate(rows):
        for colour in (GREEN, AMBER, RED, GREY):
            for start, length in _runs(row, colour):
                if 500 <= length <= 600:
                    cards.setdefault(colour, (y, start))
    assert set(cards) == {GREEN, AMBER, RED, GREY}, cards
    (y1, x1), (y2, x2), (y3, x3), (y4, x4) = (cards[c] for c in (GREEN, AMBER, RED, GREY))
    # 01a (PASS, green) then 02a (CONDITIONAL, amber) side by side; below them
    # 03a (FAIL, red) then 04a (not reviewed, grey).
    assert y1 == y2
    assert x1 < x2
    assert y3 == y4
    assert x3 < x4
    assert y3 > y1 + 40
    assert x1 == x3


def test_the_report_shows_a_tampered_directory(evidence):
    html = render_html(gather_after_tamper(evidence))
    assert "The evidence does NOT verify" in html
    assert "02_operations_infrastructure.md: changed after signing" in html


def gather_after_tamper(report):
    directory = report.parent
    target = directory / "02_operations_infrastructure.md"
    original = target.read_bytes()
    target.chmod(0o644)
    target.write_bytes(original + b"\nall fine, trust me\n")
    try:
        key = public_key(directory.parent / "keys" / "evidence.pub")
        return gather(EvidenceStore(directory), verify_directory(directory, key=key))
    finally:
        target.write_bytes(original)
