

def test_the_size_column_never_cuts_a_unit() -> None:
    from gembatch_tui.tui.resources.table import short_bytes

    assert [short_bytes(n) for n in (999, 1536, 144_389_939, 1023 * 1024 + 1000, 2000 * 1024 ** 4)] == [
        "999B", "1.5KiB", "137MiB", "1024KiB", "2000TiB"]  # 137.7 MiB was cut to "137.7 Mi"
    assert all(len(short_bytes(10 ** k)) <= 8 for k in range(16))
