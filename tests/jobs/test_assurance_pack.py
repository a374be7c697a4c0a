"""The assurance-pack job: the quarter's packs built on the fifth working day after it ends (England bank
holidays), stored once, the commissioners' PDF e-mailed to ROTA_PACK_EMAIL as an attachment; a later run
in the quarter catches a missed day up; without e-mail settings the packs are still stored; a failed build
stores nothing.

The demo database is built for a fixed day (8 January 2027, the pack day of 2026-Q4) so that the tests do
not depend on today's date."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from rota.jobs import assurance_pack
from rota.jobs import pack as pack_job
from rota.reports.quarters import Quarter, pack_day
from rota.services.access import SYSTEM
from rota.storage.alerts import job_runs
from rota.storage.db import init_db
from rota.timeutil import SERVICE_TZ
from tests.demo_db import write_demo_database
from tests.jobs.conftest import Mailbox, free_port, settings_for

DEMO_DAY = date(2027, 1, 8)
PACK_ADDRESSES = "board.secretary@example.org, chair@example.org"
FILENAME = "jar-assurance-pack-2026-Q4-commissioner.pdf"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SERVICE_TZ)


# Each quarter's pack day worked out by hand from the calendar and England's bank holidays:
# 2026: 1 Jan, 3 Apr (Good Friday), 6 Apr (Easter Monday), 4 May, 25 May, 31 Aug, 25 Dec, 28 Dec (Boxing Day
# moved from Saturday); 2027: 1 Jan, 26 Mar, 29 Mar, 3 May, 31 May, 30 Aug, 27 and 28 Dec (both moved from the
# weekend); 2028: 3 Jan (New Year's Day moved from Saturday).
PACK_DAYS = {
    # ends Tue 31/03; Wed 1, Thu 2, (Good Friday 3, weekend, Easter Monday 6), Tue 7, Wed 8, Thu 9
    "2026-Q1": date(2026, 4, 9),
    # ends Tue 30/06; Wed 1, Thu 2, Fri 3, Mon 6, Tue 7
    "2026-Q2": date(2026, 7, 7),
    # ends Wed 30/09; Thu 1, Fri 2, Mon 5, Tue 6, Wed 7
    "2026-Q3": date(2026, 10, 7),
    # ends Thu 31/12; (Fri 1/1/2027 a bank holiday, weekend), Mon 4, Tue 5, Wed 6, Thu 7, Fri 8
    "2026-Q4": date(2027, 1, 8),
    # ends Wed 31/03 (Easter 2027 is before it); Thu 1, Fri 2, Mon 5, Tue 6, Wed 7
    "2027-Q1": date(2027, 4, 7),
    # ends Wed 30/06; Thu 1, Fri 2, Mon 5, Tue 6, Wed 7
    "2027-Q2": date(2027, 7, 7),
    # ends Thu 30/09; Fri 1, Mon 4, Tue 5, Wed 6, Thu 7
    "2027-Q3": date(2027, 10, 7),
    # ends Fri 31/12; (weekend, Mon 3/1/2028 a bank holiday), Tue 4, Wed 5, Thu 6, Fri 7, Mon 10
    "2027-Q4": date(2028, 1, 10),
}


def test_the_pack_day_is_the_fifth_working_day_after_the_quarter() -> None:
    for label, day in PACK_DAYS.items():
        assert pack_day(Quarter.parse(label)) == day, label
        assert day.weekday() < 5, label  # the hand count never lands on a weekend


_BUILT: dict[tuple[object, ...], Any] = {}


@pytest.fixture(autouse=True)
def quick_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each audience's pack of a quarter is built once for this module (every test's database is a copy of
    the same demo), its planner given 1 s: what the pack holds is tested in tests/reports, here what the
    job does with it."""
    monkeypatch.setattr("rota.reports.figures.PLAN_TIME_LIMIT_S", 1.0)
    build = pack_job.build_pack

    def once(*args: Any, **kwargs: Any) -> Any:
        key = (str(kwargs["period"]), kwargs["audience"], kwargs.get("fmt"))
        if key not in _BUILT:
            _BUILT[key] = build(*args, **kwargs)
        return _BUILT[key]

    monkeypatch.setattr(pack_job, "build_pack", once)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_demo_database(tmp_path_factory.mktemp("pack-demo") / "demo.db", DEMO_DAY)


@pytest.fixture
def demo(demo_file: Path, tmp_path: Path) -> Iterator[Engine]:
    """A private copy of the demo database of DEMO_DAY."""
    copy = tmp_path / "rota.db"
    shutil.copy(demo_file, copy)
    engine = init_db(f"sqlite:///{copy}")
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def packs() -> Any:
    """The stored packs' service (rota.services.packs)."""
    from rota.services import packs

    return packs


def test_before_the_pack_day_nothing_is_built(demo: Engine, packs: Any, smtp: Mailbox) -> None:
    settings = settings_for(smtp, ROTA_PACK_EMAIL=PACK_ADDRESSES)
    for now in (local(2027, 1, 1, 6, 30), local(2027, 1, 7, 23, 59)):  # the bank holiday; the fourth day
        outcome = assurance_pack(demo, settings, now=now)
        assert outcome.status == "ok", outcome.message
        assert outcome.message == "2026-Q4's pack is due on 08/01/2027: nothing to do yet"
    # early in April 2027 it is 2027-Q1's turn, not yet due either
    outcome = assurance_pack(demo, settings, now=local(2027, 4, 6, 6, 30))
    assert outcome.message == "2027-Q1's pack is due on 07/04/2027: nothing to do yet"
    assert packs.list_packs(demo, SYSTEM).height == 0
    assert smtp.messages == []


def test_on_the_pack_day_both_packs_are_stored_and_the_board_gets_its_pdf_once(
    demo: Engine, packs: Any, smtp: Mailbox
) -> None:
    settings = settings_for(smtp, ROTA_PACK_EMAIL=PACK_ADDRESSES)
    outcome = assurance_pack(demo, settings, now=local(2027, 1, 8, 6, 30))
    assert outcome.status == "ok", outcome.message
    assert outcome.message == (
        "stored 2026-Q4's pack for commissioners and the board and for the CDOP manager; "
        "e-mailed the commissioners' pack to 2 addresses (ROTA_PACK_EMAIL)"
    )
    stored = packs.list_packs(demo, SYSTEM).sort("audience")
    assert stored.select("period", "audience", "agency", "created_by", "media_type").rows() == [
        ("2026-Q4", "commissioner", None, "system", "application/pdf"),
        ("2026-Q4", "manager", None, "system", "application/pdf"),
    ]
    name, media_type, content = packs.pack_file(demo, SYSTEM, int(stored["id"][0]))
    assert (name, media_type) == (FILENAME, "application/pdf") and content.startswith(b"%PDF-")

    assert len(smtp.messages) == 1
    assert smtp.recipients == [["board.secretary@example.org", "chair@example.org"]]
    mail = smtp.messages[0]
    assert mail["Subject"] == "CDOP rota: assurance pack 2026-Q4 (October to December 2026)"
    parts = list(mail.walk())
    text = next(p for p in parts if p.get_content_type() == "text/plain").get_payload(decode=True)
    assert b"assurance pack for 2026-Q4 (October to December 2026) is attached" in text
    assert b"built it on 08/01/2027 06:30 GMT" in text
    attached = [p for p in parts if p.get_filename() is not None]
    assert [(p.get_filename(), p.get_content_type()) for p in attached] == [(FILENAME, "application/pdf")]
    pdf = attached[0].get_payload(decode=True)
    assert pdf.startswith(b"%PDF-") and pdf == content  # the stored commissioners' pack, not the manager's

    # later the same day (and any day after, in this quarter): already stored, nothing built or sent
    again = assurance_pack(demo, settings, now=local(2027, 1, 8, 18, 0))
    assert again.status == "ok" and again.message == "2026-Q4's pack is already stored: nothing to do"
    assert packs.list_packs(demo, SYSTEM).height == 2 and len(smtp.messages) == 1
    assert job_runs(demo, "assurance-pack")["status"].to_list() == ["ok", "ok"]


def test_a_missed_pack_day_is_caught_up_and_stored_without_mail_settings(
    demo: Engine, packs: Any, smtp: Mailbox
) -> None:
    """The scheduler was down on 08/01/2027: the run of 15/02/2027 builds 2026-Q4's packs. No SMTP server is
    configured: the packs are stored all the same and the run says why nothing was sent."""
    outcome = assurance_pack(demo, settings_for(), now=local(2027, 2, 15, 6, 30))
    assert outcome.status == "ok", outcome.message
    assert outcome.message.endswith("; not e-mailed: set ROTA_SMTP_HOST and ROTA_PACK_EMAIL to send it")
    stored = packs.list_packs(demo, SYSTEM)
    assert sorted(stored["audience"]) == ["commissioner", "manager"] and set(stored["period"]) == {"2026-Q4"}
    # with an SMTP server but no ROTA_PACK_EMAIL the pack is not sent to the alert addresses either
    _, media_type, content = packs.pack_file(demo, SYSTEM, int(stored["id"][0]))
    said = pack_job.email_pack(
        settings_for(smtp), Quarter(2026, 4), (FILENAME, media_type, content), local(2027, 2, 15, 6, 30)
    )
    assert said == "not e-mailed: set ROTA_PACK_EMAIL to send it" and smtp.messages == []


def test_a_failed_build_stores_nothing_and_says_why(
    demo: Engine, packs: Any, smtp: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commissioners' pack builds, then the CDOP manager's fails: neither is stored, nothing is sent,
    the run is recorded as failed, and the next run tries again."""
    real = pack_job.build_pack

    def manager_fails(*args: Any, **kwargs: Any) -> Any:
        if kwargs["audience"] == "manager":
            raise OSError("No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(pack_job, "build_pack", manager_fails)
    settings = settings_for(smtp, ROTA_PACK_EMAIL=PACK_ADDRESSES)
    outcome = assurance_pack(demo, settings, now=local(2027, 1, 8, 6, 30))
    assert outcome.status == "failed"
    assert outcome.message == (
        "could not build 2026-Q4's pack (OSError: No space left on device); nothing stored, "
        "the next run tries again"
    )
    assert packs.list_packs(demo, SYSTEM).height == 0 and smtp.messages == []
    assert job_runs(demo, "assurance-pack")["status"].to_list() == ["failed"]
    assert not packs.stored_pack_exists(demo, "2026-Q4", "commissioner")

    # the next run builds again; this time the relay is down: the packs are stored, the run failed, and it
    # says how to get the pack to the board
    monkeypatch.setattr(pack_job, "build_pack", real)
    down = settings_for(
        ROTA_SMTP_HOST="127.0.0.1", ROTA_SMTP_PORT=str(free_port()), ROTA_PACK_EMAIL=PACK_ADDRESSES
    )
    outcome = assurance_pack(demo, down, now=local(2027, 1, 9, 6, 30))
    assert outcome.status == "failed"
    assert outcome.message.startswith(
        "stored 2026-Q4's pack for commissioners and the board and for the CDOP manager; "
        "e-mail via 127.0.0.1:"
    )
    assert outcome.message.endswith("(not tried again: download it from the Admin page and send it by hand)")
    assert sorted(packs.list_packs(demo, SYSTEM)["audience"]) == ["commissioner", "manager"]
