"""``perspose-rt bench model`` runs end to end and writes its own report section (tiny settings)."""

from __future__ import annotations

from perspose_rt.cli import main


def test_bench_model_writes_its_section(tmp_path, capsys):
    report = tmp_path / "BENCHMARKS.md"
    report.write_text("# Benchmarks\n\n<!-- bench:other -->\nkept\n<!-- /bench:other -->\n")
    rc = main(["bench", "model", "--variant", "w18s", "--batch", "1", "--iters", "1", "--warmup", "0",
               "--threads", "1", "--report", str(report)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "w18s | torch fp32 | 1 |" in out and "w18s | onnxruntime cpu fp32 | 1 |" in out
    text = report.read_text()
    assert "<!-- bench:model-cpu -->" in text and "kept" in text
    assert "onnxruntime cpu fp32 vs torch fp32" in text and "Command: `" in text
