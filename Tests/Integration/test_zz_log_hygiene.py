"""Runs last: no memory text, query, secret or token the suite sent appears in any server log."""
import pathlib

import helpers
from conftest import OUTPUT, SECRET


def test_logs_hold_no_secrets_or_memory_content(server):
    logs = sorted(pathlib.Path(OUTPUT).glob("server-*.log"))
    assert logs, "no server logs were written"
    text = "\n".join(p.read_text(errors="replace") for p in logs)
    assert "request" in text, "the logs are empty: nothing was checked"
    sent = {s for s in helpers.SENT if len(s) >= 12} | {SECRET}
    assert len(sent) > 50, f"too few sent values recorded ({len(sent)}): the check would prove nothing"
    leaked = [s for s in sent if s in text]
    assert not leaked, f"{len(leaked)} sent values appear in server logs, e.g. {leaked[0][:40]!r}…"
