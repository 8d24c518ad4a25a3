"""The benchmark is a tool users run: keep it runnable (no timing is asserted)."""

from engine import bench


def test_bench_runs_and_reports_a_ratio(capsys, monkeypatch):
    import engine.presets as presets

    real = presets.load_preset

    def tiny(name):
        cfg = real(name)
        cfg["generator"]["hidden"] = [8]
        cfg["discriminator"]["hidden"] = [8]
        cfg["generator"]["width"] = 4
        cfg["discriminator"]["width"] = 4
        cfg["train"]["batch_size"] = 16
        cfg["train"]["metrics_every"] = 0
        return cfg

    monkeypatch.setattr(bench, "load_preset", tiny)
    bench.main(["--rounds", "2", "--seconds", "0.02", "--device", "cpu"])
    out = capsys.readouterr().out
    assert "preset ring8" in out and "preset dcgan_digits" in out  # both by default
    assert out.count("plain PyTorch loop") == 2 and "engine Session" in out
    assert "ratio engine / plain" in out and "ratio metrics on / off" in out
    assert "images/s" in out  # the image preset reports throughput


def test_batch_size_overrides_the_presets_and_a_bad_one_is_refused(capsys):
    import pytest

    bench.main(["--preset", "ring8", "--rounds", "1", "--seconds", "0.02", "--device", "cpu",
                "--batch-size", "4"])
    assert "preset ring8, batch 4," in capsys.readouterr().out
    with pytest.raises(SystemExit):
        bench.main(["--batch-size", "0"])
    assert "--batch-size: must be at least 1, got 0" in capsys.readouterr().err
