"""Security-update age from the packages' own dates (issue 23 item 3): `ip.security-updates` passed with 93
updates pending for months on a newly installed agent, because it counted their age from its first sight. On RPM
systems the age now counts from the pending package's build time in the repository metadata."""
from __future__ import annotations

import calendar
from pathlib import Path

from opsmon.agent.baseline import packages
from opsmon.agent.baseline.host import CmdResult, Host, StubCommands, command_allowed

NOW = calendar.timegm((2026, 12, 6, 0, 0, 0))  # 1796515200
LIST = ("RHSA-2026:0101 Important/Sec. openssl-1:3.0.7-25.el9_3.x86_64\n"
        "RHSA-2026:0202 Moderate/Sec.  curl-7.76.1-29.el9_4.x86_64\n"
        "RHSA-2026:0303 Low/Sec.       vim-minimal-2:8.2.2637-21.el9.x86_64\n")
DATES = ("openssl-1:3.0.7-25.el9_3.x86_64 2026-09-01 10:00\n"   # dnf 4: UTC, to the minute
         "curl-7.76.1-29.el9_4.x86_64 1795651200\n")             # dnf 5: Unix seconds (NOW - 10 d)


def run(tmp_path: Path, dates: str | CmdResult) -> tuple[str, str]:
    commands = StubCommands({tuple(packages.DNF_SECURITY): LIST, tuple(packages.DNF_DATES): dates})
    host = Host(str(tmp_path), commands, now=float(NOW), state_dir=str(tmp_path))
    return packages._updates(host, {"manager": "dnf", "max_age_d": 30})


def test_ages_count_from_the_build_date(tmp_path: Path) -> None:
    """openssl built 2026-09-01 10:00Z: (NOW - that) / 86400 = 95.58 d -> "96 d", over 30: fails; curl 10 d;
    vim-minimal has no date in the metadata: since first seen (now), 0 d. First sight alone said 0, 0, 0: pass."""
    status, evidence = run(tmp_path, DATES)
    assert status == "fail"
    assert evidence == ("1 of 3 pending security updates older than 30 d: openssl-1:3.0.7-25.el9_3.x86_64 "
                        "(RHSA-2026:0101) 96 d; 2 of 3 aged from the package's build date, the rest since first seen")


def test_without_dates_the_first_sight_stays(tmp_path: Path) -> None:
    """repoquery unavailable (an older dnf, an error): every age since first seen, as before: 0 d, passes."""
    status, evidence = run(tmp_path, CmdResult(1, "", ""))
    assert status == "pass" and evidence.endswith("; 0 of 3 aged from the package's build date, the rest since "
                                                  "first seen")
    assert packages._dnf_dates("x-1.0-1.noarch \nbroken\ny-1-1.noarch 2026-13-45 99:99\n") == {}


def test_the_date_query_is_read_only_and_closed() -> None:
    assert command_allowed(packages.DNF_DATES)
    assert not command_allowed([*packages.DNF_DATES, "--setopt=reposdir=/tmp"])
