import pytest

from perspose_rt.bench.report import Stats, markdown_table, time_calls, write_section


def test_stats_known_answer():
    s = Stats.of([1.0, 2.0, 3.0, 4.0, 100.0])
    assert (s.n, s.p50, s.mean, s.max) == (5, 3.0, 22.0, 100.0)
    assert s.p95 == pytest.approx(80.8)
    with pytest.raises(ValueError):
        Stats.of([])


def test_write_section_replaces_only_its_own_section(tmp_path):
    report = tmp_path / "BENCH.md"
    write_section("a", "A", markdown_table(["x"], [[1]]), report=report, command="cmd a")
    write_section("b", "B", "body b", report=report, command="cmd b")
    write_section("a", "A again", "new body a", report=report, command="cmd a2")
    text = report.read_text()
    assert text.count("<!-- bench:a -->") == 1 and "new body a" in text and "| 1 |" not in text
    assert "body b" in text and "`cmd b`" in text and "Machine:" in text
    assert text.index("bench:a") < text.index("bench:b")


def test_time_calls_counts_warmup_and_timed_calls():
    calls = []
    times = time_calls(lambda: calls.append(1), n=5, warmup=3)
    assert len(calls) == 8 and len(times) == 5 and all(t >= 0 for t in times)
