"""CSV exports hold what a spreadsheet reads, not Python's spellings."""

from datetime import UTC, datetime

from bpm.files import csv_response


def test_a_csv_export_writes_booleans_nothing_and_numbers_as_a_spreadsheet_reads_them():
    rows = [
        {"ok": False, "late": True, "target_s": None, "avg_s": 12.3456789, "rate": 0.1, "n": 3, "zero": 0.0},
        {"ok": True, "late": False, "target_s": 3600, "avg_s": 1e-05, "rate": 1.0, "n": 0, "zero": 0.0},
    ]
    lines = csv_response("figures", rows).content.decode().splitlines()
    assert lines == [
        "ok,late,target_s,avg_s,rate,n,zero",
        "false,true,,12.346,0.1,3,0",
        "true,false,3600,0,1,0,0",
    ]


def test_a_csv_export_writes_times_in_iso_8601():
    lines = csv_response("t", [{"at": datetime(2026, 12, 1, 9, 30, tzinfo=UTC)}]).content.decode().splitlines()
    assert lines[1] == "2026-12-01T09:30:00+00:00"
