"""The report a reviewer reads first (issue: "Results a reviewer can merge").

On the shipped record: the agent is named, and a scripted one is called a
script; every case has its absolute times before and after, and which case
each number is; the goal sentinel is explained, never ``1e+06x``; the level
gets its one line; no path of the recording machine in the profile tables;
chart legends sit above the data. Looked at in headless Chromium at two
widths: the page never overflows sideways (wide tables scroll in their own
box) and the Surprise column keeps room to be read.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from pathlib import Path

import pytest

from campaign.review.report import collect, display_path, render_html
from test_report import browse

SHIPPED = Path(__file__).resolve().parents[1] / "optim" / "weight_search"


@pytest.fixture(scope="module")
def page():
    return render_html(collect(SHIPPED))


def text_of(html: str) -> str:
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_the_agent_is_named_and_a_script_is_called_one(page):
    agent = page.split('id="agent"')[1].split("</p>")[0]
    assert "playbook" in agent and "a script" in agent and "no language model" in agent


def test_every_case_has_its_absolute_times_and_its_name(page):
    table = text_of(page.split('id="cases-table"')[1].split("</table>")[0])
    assert "fast 168 ms 1.84 ms 91.4x [40.8x, 205x]" in table
    assert "full 1.37 s ≈ 494 us 2,777x [2,033x, 3,793x]" in table and "÷ the speedup" in table
    final = text_of(page.split('id="final-card"')[1].split("</div></div>")[0])
    assert "case fast" in final


def test_no_unexplained_sentinel_and_the_level_in_one_line(page):
    text = text_of(page)
    assert "1e+06" not in text and "e+0" not in text
    assert "set out of reach, 1,000,000x, so the campaign stops on its own rules" in text
    level = text_of(page.split("id=\"level-line\">")[1].split("</p>")[0])
    assert level.startswith("99.958% is the confidence of each interval") and "0.042%" in level


def test_profile_tables_hold_no_machine_path(page):
    attachments = html_lib.unescape(page.split('id="attachments"')[1].split("</section>")[0])
    assert "/root/" not in attachments and "/work/" not in attachments and "/home/" not in attachments
    assert "site-packages/numpy/" in attachments and "kernel.py" in attachments
    assert display_path("/home/u/.venv/lib/python3.12/site-packages/x/y.py") == "site-packages/x/y.py"
    assert display_path("/usr/lib/python3.11/inspect.py") == "python/inspect.py"


def test_chart_legends_sit_above_the_data(page):
    for plot in ("plot-cumulative", "plot-phases"):
        svg = page.split(f'id="{plot}"')[1].split("</svg>")[0]
        legend_y = float(re.search(r'class="legend" transform="translate\([\d.]+ ([\d.]+)\)', svg).group(1))
        area_top = float(re.search(r'class="plot-area" x="[\d.]+" y="([\d.]+)"', svg).group(1))
        assert legend_y + 8 <= area_top, plot  # the legend's row ends before the plot area (the data) begins


MEASURE = """<script>
(function(){
  var out = {vw: window.innerWidth, sw: document.documentElement.scrollWidth, surprise: []};
  document.querySelectorAll('td.surprise').forEach(function(e){ out.surprise.push(e.getBoundingClientRect().width); });
  out.legends = [];
  document.querySelectorAll('svg g.legend').forEach(function(g){
    var spans = [];
    Array.prototype.forEach.call(g.children, function(c){ var r = c.getBoundingClientRect(); spans.push([r.left, r.right]); });
    out.legends.push(spans);
  });
  document.title = 'M' + JSON.stringify(out);
})();
</script>"""


@pytest.mark.parametrize("width", [1280, 500])
def test_in_chromium_the_page_fits_and_the_surprise_has_room(page, tmp_path, width):
    """The page's own policy allows no script, so a copy without it carries one that measures the layout."""
    measured = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page).replace("</body>", MEASURE + "</body>")
    html = tmp_path / "measured.html"
    html.write_text(measured, encoding="utf-8")
    proc = browse(html, tmp_path, "--hide-scrollbars", f"--window-size={width},2000", "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    title = html_lib.unescape(re.search(r"<title>(.*?)</title>", proc.stdout, re.S).group(1))
    assert title.startswith("M"), title
    m = json.loads(title[1:])
    assert m["sw"] <= m["vw"], m  # nothing overflows the page sideways: wide tables scroll in their box
    assert m["surprise"] and min(m["surprise"]) >= 200, m  # not a 9-line-tall sliver
    assert len(m["legends"]) >= 2
    for spans in m["legends"]:  # each legend's marks and labels side by side: no label runs into the next mark
        for (_, right), (left, _) in zip(spans, spans[1:]):
            assert right <= left + 0.5, spans


# -- the defects a reviewer saw (issue 26), each with its test --------------------------------------------------


def test_what_dominates_now_accounts_for_the_whole_run():
    """The shipped summary listed 62% + 6% + 2% = 70%: the rest of the run, outside the phases, has its own row."""
    from campaign.loop.journal import Journal
    from campaign.loop.render import render_all

    summary = render_all(Journal(SHIPPED).events())["summary.md"]
    assert summary == (SHIPPED / "summary.md").read_text()  # the shipped file is the re-render
    section = summary.split("## What dominates now")[1].split("##")[0]
    shares = [int(m) for m in re.findall(r": (\d+)%", section)]
    assert sum(shares) == 100 and "outside the named phases" in section and "shares of the whole run" in section


def test_a_per_phase_ratio_comes_with_its_times_and_says_slower(page):
    """Kept iteration 3's "select 0.02x" is select going from 28 us to 1.54 ms: shown, and called slower."""
    table = page.split('id="phases-iter-3"')[1].split('id="phases-iter-5"')[0]
    select_3 = next(text_of(row) for row in table.split("<tr")[1:] + [table.split("<tr")[0]] if ">select<" in row)
    assert "28 us" in select_3 and "1.54 ms" in select_3 and "0.02x" in select_3 and "slower" in select_3
    assert "55× the time" in select_3
    explanation = text_of(page.split('id="phase-explanation">')[1].split("</p>")[0])
    assert "before ÷ after" in explanation and "below 1 it got slower" in explanation
    row_3 = page.split('id="iter-3"')[1].split("</tr>")[0]
    assert 'href="#phases-iter-3"' in row_3 and 'id="phases-iter-3"' in page


def test_no_machine_path_anywhere_in_the_page(page):
    """The logs quoted the recording workspace (/tmp/rec-ws/kernel.py) and interpreter (/tmp/rec-venv/bin/python)."""
    from campaign.review.report import scrub

    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", page))
    leaks = re.findall(r"(?:^|[\s(`\"'=])(/(?:tmp|home|root|work|usr|opt|var|Users|private)/\S*)", text)
    assert leaks == []
    assert "python -m targets.weight_search.check" in text and "kernel.py:93: RuntimeWarning" in text
    assert scrub("see /tmp/ws/a/b.py:3 and /dev/null, https://x.org/a/b and 1/2", ["/tmp/ws"]) == \
        "see a/b.py:3 and /dev/null, https://x.org/a/b and 1/2"


def test_each_iteration_shows_its_guards_and_what_it_cost(page):
    cells = [text_of(c) for c in re.findall(r'<td class="guards-cost">(.*?)</td>', page, re.S)]
    assert len(cells) == 7
    assert cells[0].startswith("guards: not recorded")  # never silently absent
    assert 'title="this record was made before campaign recorded its guards' in page
    assert "BENCHMARK: 3 blocks, ~" in cells[0] and "code: +11 −13, complexity 17 → 18" in cells[0]
    assert cells[3].startswith("guards: none ran (no BENCHMARK)")  # iteration 4 failed TEST
    assert "BENCHMARK:" not in cells[3]
