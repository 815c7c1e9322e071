"""campaign report: one self-contained HTML file, checked in headless Chromium.

``RECORDS`` lists the records whose report is loaded in the browser: the
crafted one (with a hostile Surprise) and any shipped record under optim/
(skipped while it does not exist). Add a path to check another record.

Chromium: /usr/bin/chromium (Debian package ``chromium``). Without it the
browser tests are skipped, unless CAMPAIGN_REQUIRE_CHROMIUM=1 (CI), where
they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from campaign.cli import cli
from campaign.review.report import collect, format_text, markdown_html, render_html
from records import DEFECTS, clean_record
from suite_env import in_ci

REPO = Path(__file__).resolve().parent.parent
HOSTILE = "<script>document.title='PWNED'</script> then <img src=x onerror=\"document.title='PWNED'\">"
RECORDS = ["crafted", "optim/weight_search"]
PLOTS = ("plot-cumulative", "plot-phases", "plot-calibration", "plot-codecost")
TABLES = ("iterations-table", "codecost-table")


def chromium() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        if os.environ.get("CAMPAIGN_REQUIRE_CHROMIUM") or in_ci():
            pytest.fail(f"headless Chromium is required here but {path} does not exist")
        pytest.skip("headless Chromium not installed (apt-get install -y chromium)")
    return path


def browse(html: Path, tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={tmp / 'chromium-profile'}", *extra, html.resolve().as_uri(),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90)


class DOM(HTMLParser):
    """What the test needs from a dumped DOM: tags, ids, the title and the text."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._in_title = False
        self.title = ""
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_title = tag == "title" and not self.title

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        self.text.append(data)

    def ids(self, tag: str) -> set[str]:
        return {a.get("id") for t, a in self.tags if t == tag and a.get("id")}

    def count(self, tag: str) -> int:
        return sum(1 for t, _ in self.tags if t == tag)


@pytest.fixture(params=RECORDS)
def record(request, tmp_path) -> Path:
    if request.param == "crafted":
        return clean_record(surprise_1=HOSTILE).write(tmp_path / "crafted")
    path = REPO / request.param
    assert (path / "journal.jsonl").is_file(), f"{request.param} is shipped with the repository"
    return path


def write_report(record: Path, out: Path) -> Path:
    result = CliRunner().invoke(cli, ["report", str(record), "--html", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["html"] == str(out)
    return out


def test_report_renders_in_headless_chromium(record, tmp_path):
    html = write_report(record, tmp_path / "report.html")
    source = html.read_text()
    assert "http://" not in source.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in source
    proc = browse(html, tmp_path, "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = DOM(proc.stdout)
    name = collect(record)["summary"]["name"]
    assert dom.title == f"Campaign report: {name}"  # an injected script would have set it to PWNED
    assert set(PLOTS) <= dom.ids("svg")
    assert set(TABLES) <= dom.ids("table")
    assert dom.count("script") == 0 and dom.count("img") == 0 and dom.count("iframe") == 0
    iterations = [a.get("id") for t, a in dom.tags if t == "tr" and (a.get("id") or "").startswith("iter-")]
    assert iterations, "no iteration rows"
    text = "".join(dom.text)
    if record.name == "crafted":
        assert "PWNED" not in dom.title
        assert HOSTILE in text  # shown as text, in the table and in the log
        assert text.count("document.title='PWNED'") >= 4
        for n in (1, 2, 3, 4):
            assert f"iter-{n}" in iterations
        assert {"log-iter-1", "think-iter-1", "think-iter-2-2"} <= {a.get("id") for _, a in dom.tags}
        assert sum(1 for t, a in dom.tags if t == "mark" and a.get("class") == "surprise") >= 8


def test_content_security_policy_blocks_a_script_that_escaping_missed(record, tmp_path):
    """Defence in depth: even if escaping ever let a script through, the page's CSP refuses to run it."""
    html = write_report(record, tmp_path / "report.html")
    source = html.read_text()
    injected = source.replace("</body>", "<script>document.title='PWNED'</script></body>", 1)
    assert injected != source
    html.write_text(injected)
    proc = browse(html, tmp_path, "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert DOM(proc.stdout).title != "PWNED"


def test_report_screenshot(tmp_path):
    html = write_report(clean_record(surprise_1=HOSTILE).write(tmp_path / "crafted"), tmp_path / "report.html")
    png = tmp_path / "report.png"
    proc = browse(html, tmp_path, "--hide-scrollbars", "--window-size=1280,2400", f"--screenshot={png}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


# ---------------------------------------------------------------- without a browser


def test_everything_from_the_record_is_escaped(tmp_path):
    record = clean_record(surprise_1=HOSTILE)
    record.find("plan", 1)["data"]["change"] = "<b onmouseover=alert(1)>x</b>"
    record.events[0]["data"]["name"] = "<i>n</i>"
    html = render_html(collect(record.write(tmp_path / "r")))
    assert "<script>document" not in html and "<img" not in html and "<b onmouseover" not in html and "<i>n</i>" not in html
    assert "&lt;script&gt;document.title=&#39;PWNED&#39;&lt;/script&gt;" in html
    assert html.count("<script") == 0


def test_phase_names_are_escaped_in_svg(tmp_path):
    b = clean_record()
    for e in b.events:
        if e["type"] == "profile":
            e["data"]["phases"]["<svg onload=alert(1)>"] = 0.1
    html = render_html(collect(b.write(tmp_path / "r")))
    assert "<svg onload" not in html and "&lt;svg onload=alert(1)&gt;" in html


def test_report_of_sparse_record(tmp_path):
    """A record that stops after the baseline still gives a report (empty plots say why)."""
    b = clean_record()
    b.events[:] = b.events[:2]
    (b.write(tmp_path / "r") / "thinking_log.md").unlink()
    result = collect(tmp_path / "r")
    html = render_html(result)
    for plot in PLOTS:
        assert f'id="{plot}"' in html
    thinking = result["logs"]["thinking_log"]  # the deleted log is re-rendered from the journal, not swallowed
    assert thinking is not None and "Thinking" in thinking, thinking


def test_missing_logs_are_rendered_from_the_journal(tmp_path):
    record = clean_record(surprise_1=HOSTILE).write(tmp_path / "r")
    (record / "optimization_log.md").unlink()
    (record / "thinking_log.md").unlink()
    html = render_html(collect(record))
    assert 'id="log-iter-1"' in html and 'id="think-iter-2-2"' in html  # the postmortem heading
    assert "<script>document" not in html
    assert "not rendered in this record" not in html


def test_findings_appear_in_report(tmp_path):
    b = clean_record()
    DEFECTS["kept-without-evidence"](b)
    html = render_html(collect(b.write(tmp_path / "r")))
    assert 'id="findings-table"' in html and "kept-without-evidence" in html and 'href="#iter-3"' in html


def test_markdown_is_minimal_and_escaped():
    html, ids = markdown_html(
        "# T\n\n## Iteration 2: a <b>\n**Surprise:** <script>x</script>\n- **k:** `v<1`\n\n```\n<raw>\n```\n", "log"
    )
    assert ids == {"log-iter-2"}
    assert '<h3 id="log-iter-2">Iteration 2: a &lt;b&gt;' in html
    assert '<mark class="surprise"><strong>Surprise:</strong> &lt;script&gt;x&lt;/script&gt;</mark>' in html
    assert "<li><strong>k:</strong> <code>v&lt;1</code></li>" in html
    assert "&lt;raw&gt;" in html and "<raw>" not in html


def test_report_cli_bad_input(tmp_path):
    result = CliRunner().invoke(cli, ["report", str(tmp_path / "nope"), "--html", str(tmp_path / "r.html")])
    assert result.exit_code == 1 and "not a directory" in result.output
    assert not (tmp_path / "r.html").exists()


def test_report_declares_a_policy_that_allows_no_script(tmp_path):
    """The CSP is the first thing in <head>, allows nothing by default and no script source at all."""
    import re

    html = render_html(collect(clean_record().write(tmp_path / "r")))
    head = html.split("</head>", 1)[0]
    metas = re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', head)
    assert len(metas) == 1, metas
    policy = {d.split()[0]: d.split()[1:] for d in (p.strip() for p in metas[0].split(";")) if d}
    assert policy["default-src"] == ["'none'"]
    assert "script-src" not in policy and "connect-src" not in policy
    assert head.index("Content-Security-Policy") < head.index("<style")


# ---------------------------------------------------------------- what a reviewer needs first (issue 12, item 8)


class SVG(HTMLParser):
    """Every element of the page with its attributes, in order (the SVG marks included)."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def with_class(self, cls: str) -> list[dict[str, str | None]]:
        return [a for _, a in self.elements if cls in (a.get("class") or "").split()]


def _test_failed(b, record: Path, n: int, message: str) -> None:
    """Turn iteration ``n`` of a written crafted record into a TEST failure (no benchmark, reverted)."""
    b.find("test", n)["data"].update(passed=False, failures=[{"output": "total", "message": message}])
    b.events.remove(b.find("benchmark", n))
    b.find("log", n)["data"]["kept"] = False
    b.find("commit", n).update(type="revert", data={"to_commit": "0000001abc", "reason": "test-failed", "patch": None})
    for seq, event in enumerate(b.events, start=1):
        event["seq"] = seq
    (record / "journal.jsonl").write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in b.events))


def test_headline_is_the_full_case_result(tmp_path):
    b = clean_record()
    b.find("finish", None)["data"]["validation"] = {"case": "full", "commit": "c4", "passed": True}
    result = collect(b.write(tmp_path / "checked"))
    html = render_html(result)
    headline = html.split('id="headline"')[1].split("</div></div>")[0]
    assert "2.80x" in headline and "<code>full</code>" in headline and "outputs match the baseline" in headline
    assert format_text(result, width=200).splitlines()[1] == (
        "full case full: 2.80x [2.60x, 3.00x] vs the baseline; outputs match the baseline's")

    old = render_html(collect(clean_record().write(tmp_path / "older")))  # a finish without a validation
    assert "outputs not checked at FINISH" in old.split('id="headline"')[1].split("</div></div>")[0]

    failed = clean_record()
    failed.events.remove(failed.find("finish", None))
    failed.add("validate", None, case="full", commit="c4", passed=False, test_command=None,
               failures=[{"output": "total", "message": "total: expected 10, got 11"}])
    html = render_html(collect(failed.write(tmp_path / "failed")))
    headline = html.split('id="headline"')[1].split("</div></div>")[0]
    assert "DIFFER" in headline and "expected 10, got 11" in headline and "card headline bad" in html


def test_every_failed_test_is_marked_and_cumulative_follows_kept_changes(tmp_path):
    b = clean_record()
    record = b.write(tmp_path / "r")
    _test_failed(b, record, 3, "total: expected 1, got <2>")
    html = render_html(collect(record))
    dom = SVG(html)
    assert len(dom.with_class("test-failed")) == 2  # the table's tag and the plot's mark, for iteration 3 only
    assert "expected 1, got &lt;2&gt;" in html
    row = html.split('id="iter-2"')[1].split("</tr>")[0]  # reverted: no cumulative of its own
    assert row.count('class="num">–</td>') >= 1 and "1.71x" not in row
    kept = dom.with_class("kept")
    kept_points = [a for a in kept if "point" in (a.get("class") or "")]
    level_after_1 = kept_points[0]["cy"]
    reverted = next(a for t, a in dom.elements if t == "g" and a.get("class") == "point reverted")
    following = dom.elements[dom.elements.index(("g", reverted)) + 2][1]  # its circle (after the <title>)
    assert following["cy"] == level_after_1  # drawn at the level iteration 1 left, not below it


def test_phase_bars_are_log_scale_so_a_100x_phase_stays_visible(tmp_path):
    b = clean_record()
    b.events.append({"schema": 1, "type": "profile", "iteration": None, "data": {
        "phases": {"load": 0.2, "compute": 0.007}, "shares": {}, "top_functions": [], "lines": {}}})
    dom = SVG(render_html(collect(b.write(tmp_path / "r"))))
    bars = {(a["data-phase"], "after" if "after" in a["class"] else "before"): float(a["height"])
            for a in dom.with_class("phase-bar")}
    assert bars[("compute", "after")] > 0.1 * bars[("compute", "before")] and bars[("compute", "after")] > 20  # 1% (2 px) on a linear scale


def test_each_iteration_patch_and_profile_open_in_the_page(tmp_path):
    b = clean_record()
    record = b.write(tmp_path / "r")
    patch = record / "patches" / "iter-01-kept.patch"
    patch.write_text(patch.read_text() + "+# <script>alert('patch')</script>\n")
    html = render_html(collect(record))
    section = html.split('id="patch-iter-1"')[1].split("</details>")[0]
    assert '<pre class="diff">' in section and "diff --git a/pkg/core.py" in section
    assert '<span class="add">+# &lt;script&gt;' in section  # coloured by line, still escaped
    assert "&lt;script&gt;alert(&#39;patch&#39;)&lt;/script&gt;" in section and "<script>" not in html
    profile = html.split('id="profile-iter-2"')[1].split("</details>")[0]
    assert "compute" in profile and "0.37" in profile
    assert 'href="#patch-iter-4"' in html  # linked from the iterations table
    assert "Content-Security-Policy\" content=\"default-src 'none'" in html and html.count("<script") == 0


def test_raw_html_in_a_log_stays_text():
    html, _ = markdown_html("**Surprise:** <div onclick=x>hi</div>\n\n<div>\nblock\n</div>\n\n<!-- c -->\n", "log")
    assert "<div" not in html and "<!--" not in html
    assert "&lt;div onclick=x&gt;hi&lt;/div&gt;" in html and "&lt;div&gt;" in html


def test_every_stopping_reason_and_exhausted_why_is_in_the_report(tmp_path):
    b = clean_record()
    b.find("decide", 2)["data"].update(exhausted=True, phase="load", why="every <path> is read once")
    b.find("decide", 4)["data"].update(stop=True, rule="declared", reason="stopped by decision: out of time")
    result = collect(b.write(tmp_path / "r"))
    html = render_html(result)
    stopping = html.split('id="stopping"')[1].split("</div>")[0]
    assert "stopped by decision: out of time" in stopping
    assert "Phase <code>load</code> declared exhausted (iteration 2): every &lt;path&gt; is read once" in stopping
    text = format_text(result)
    assert "stopped: stopped by decision: out of time" in text and "every <path> is read once" in text
