"""A certificate from end to end, on both stores: issued over HTTP, its PDF read back with
poppler and zbar, its bundle saved, the server stopped, and then `timebank verify` run as a
process with nothing but the bundle and the log's public key: it passes, and a bundle with one
minute changed is refused."""

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ledger.context import Role
from tests.conftest import make_settings
from tests.http import Town, serve
from tests.test_certificates import backfill
from timebank.certificate_pdf import duration_text
from timebank.runtime import Runtime

ZONE = ZoneInfo("Asia/Shanghai")  # the default rules' time zone


def ok(r: Any, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    return body


def tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is missing: .ci/run installs poppler-utils and zbar-tools"
    return found


def verify(bundle: Path, key: str, *kept: Path) -> subprocess.CompletedProcess[str]:
    """`timebank verify` in a process of its own that knows no database, no server and no
    secret: only what a third party holds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMEBANK_")}
    args = [str(bundle), "--key", key, *[a for path in kept for a in ("--checkpoint", str(path))]]
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "verify", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_a_certificate_is_checked_offline_after_the_server_has_stopped(
    database_url: str, tmp_path: Path
) -> None:
    rt = Runtime(make_settings(database_url))
    try:
        rt.start()
        with serve(rt) as base_url:
            town = Town(rt, base_url)
            volunteer = town.volunteer(name="王秀英")
            town.earn(volunteer, 95)
            backfill(town, volunteer, 40, town.client(Role.COORDINATOR, town.street))
            kept = tmp_path / "kept-checkpoint.txt"  # what an auditor fetched earlier
            rt.log_tree.catch_up()
            rt.log_tree.sign_checkpoint()
            kept.write_text(ok_text(town, "/v1/log/checkpoint"))
            key = ok(town.admin.get("/v1/log/public-key"))["verifier_key"]

            today = datetime.now(ZONE).date()
            made = ok(
                town.client(Role.COORDINATOR, town.team).post(
                    "/v1/certificates",
                    {
                        "volunteer_id": volunteer,
                        "org_id": town.team,
                        "from": (today - timedelta(days=7)).isoformat(),
                        "to": today.isoformat(),
                    },
                ),
                201,
            )
            assert made["total_minutes"] == 135
            owner = town.client(Role.VOLUNTEER, volunteer)
            pdf = owner.get(f"/v1/certificates/{made['id']}.pdf", min_position=made["position"])
            assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
            kept_size = int(kept.read_text().split("\n")[1])
            bundle = ok(
                owner.get(f"/v1/certificates/{made['id']}/bundle", consistent_with=kept_size)
            )
    finally:
        rt.close()

    # The PDF, read back.
    (tmp_path / "certificate.pdf").write_bytes(pdf.content)
    text = subprocess.run(
        [tool("pdftotext"), "-layout", str(tmp_path / "certificate.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "王秀英" in text and made["number"] in text, text
    assert duration_text(135) in text, text
    subprocess.run(
        [
            tool("pdftoppm"),
            *("-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile"),
            str(tmp_path / "certificate.pdf"),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    qr = subprocess.run(
        [tool("zbarimg"), "--quiet", "--raw", str(tmp_path / "page.png")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert qr.endswith(f"/app/check?number={made['number']}#sha256={made['digest']}")

    # The bundle, checked with the server gone.
    saved = tmp_path / "bundle.json"
    saved.write_text(json.dumps(bundle, ensure_ascii=False))
    passed = verify(saved, key, kept)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "FAIL" not in passed.stdout and "kept checkpoint" in passed.stdout, passed.stdout

    forged = json.loads(saved.read_text())
    forged["content"]["services"][0]["minutes"] += 1
    forged["content"]["total_minutes"] += 1
    (tmp_path / "forged.json").write_text(json.dumps(forged, ensure_ascii=False))
    refused = verify(tmp_path / "forged.json", key)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    failed = [line for line in refused.stdout.splitlines() if line.startswith("FAIL")]
    assert any(line.startswith("FAIL digest") for line in failed), refused.stdout
    assert any(line.startswith("FAIL minutes") for line in failed), refused.stdout


def ok_text(town: Town, path: str) -> str:
    r = town.admin.get(path)
    assert r.status_code == 200, r.text
    return r.text
