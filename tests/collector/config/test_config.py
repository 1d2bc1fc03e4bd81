"""collector.yaml validation: every error names the file, the key path and the reason."""
from __future__ import annotations

from pathlib import Path

import pytest

from opsmon.collector.config import DEMO_CONFIG, load_config
from opsmon.collector.core.errors import ConfigError
from tests.conftest import run_cli, write_config

GOOD = """
timezone: Asia/Shanghai
database:
  path: opsmon.db
"""


def test_demo_config_is_valid_and_cuts_time_in_shanghai() -> None:
    config = load_config(DEMO_CONFIG)
    assert config.timezone == "Asia/Shanghai"
    assert config.database.path and config.database_url().startswith("sqlite:///")


def test_relative_database_path_is_taken_from_the_config_folder(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, GOOD))
    assert config.database_url() == f"sqlite:///{tmp_path / 'opsmon.db'}"


@pytest.mark.parametrize(
    "body, key, reason",
    [
        (GOOD + "colour: blue\n", "colour", "unknown key"),
        (GOOD + "listen:\n  port: http\n", "listen.port", "valid integer"),
        (GOOD + "listen:\n  port: 70000\n", "listen.port", "less than or equal to 65535"),
        ("timezone: Mars/Olympus\ndatabase:\n  path: x.db\n", "timezone", "not an IANA time zone"),
        ("database:\n  path: a.db\n  url: postgresql://x/y\n", "database", "exactly one of"),
        ("timezone: UTC\n", "database", "required key is missing"),
        (GOOD + "timeline:\n  down_after: 0\n", "timeline.down_after", "greater than or equal to 1"),
        (GOOD + "scheduler:\n  default_interval: soon\n", "scheduler.default_interval", "not a duration"),
        (GOOD + "maintenance:\n  - id: w\n    tags: [x]\n    cron: '0 2 * * 0'\n    duration: 1h\n",
         "maintenance[0].cron", "names"),
        (GOOD + "maintenance:\n  - id: w\n    start: 2026-07-01T00:00:00\n    end: 2026-07-02T00:00:00+08:00\n"
         "    assets: [a]\n", "maintenance[0].start", "UTC offset"),
        (GOOD + "maintenance:\n  - id: w\n    cron: '0 2 * * sun'\n    duration: 1h\n", "maintenance[0]", "scope"),
        (GOOD + "inventory:\n  files: [missing.yaml]\n", "inventory.files[0]", "no such file"),
        # ldap: (docs/console.md): a server that is not LDAP, a search that cannot name the person, no group, a
        # service account without its password, a role the console does not have
        (GOOD + "ldap:\n  url: http://dc1\n  groups: {cn=g: viewer}\n", "ldap.url", "ldap:// or ldaps://"),
        (GOOD + "ldap:\n  url: ldap://dc1\n  user_filter: (uid=x)\n  groups: {cn=g: viewer}\n", "ldap",
         "must contain {name}"),
        (GOOD + "ldap:\n  url: ldaps://dc1\n", "ldap", "at least one group"),
        (GOOD + "ldap:\n  url: ldap://dc1\n  bind_dn: cn=svc\n  groups: {cn=g: viewer}\n", "ldap",
         "needs bind_password"),
        (GOOD + "ldap:\n  url: ldap://dc1\n  groups: {cn=g: root}\n", "ldap.groups.cn=g", "viewer"),
    ],
)
def test_bad_values_name_key_and_reason(tmp_path: Path, body: str, key: str, reason: str) -> None:
    path = write_config(tmp_path, body)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.keypath == key
    assert reason in err.value.reason
    assert str(path) in str(err.value)


def test_unknown_key_error_points_at_its_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, GOOD + "listen:\n  host: 127.0.0.1\n  prot: 8000\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}:7: listen.prot: unknown key"


def test_malformed_yaml_gives_line_and_column(tmp_path: Path) -> None:
    path = write_config(tmp_path, "database:\n  path: [unclosed\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value) and "invalid YAML" in str(err.value)
    assert f"{path}:3:" in str(err.value) or f"{path}:2:" in str(err.value)


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, GOOD + "timezone: UTC\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.keypath == "timezone" and "duplicate key (first at line 2)" in err.value.reason


def test_check_config_cli_exits_2_with_one_line_and_creates_nothing(tmp_path: Path) -> None:
    path = write_config(tmp_path, GOOD + "colour: blue\n")
    proc = run_cli("check-config", str(path))
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"opsmon: config error: {path}:5: colour: unknown key"
    assert not (tmp_path / "opsmon.db").exists()


def test_check_config_ok_and_config_from_environment(tmp_path: Path) -> None:
    path = write_config(tmp_path, GOOD)
    proc = run_cli("check-config", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stdout
    import os

    env = dict(os.environ, OPSMON_CONFIG=str(write_config(tmp_path, "nonsense: [", "bad.yaml")))
    proc = run_cli("check-config", env=env)
    assert proc.returncode == 2 and "bad.yaml" in proc.stderr
    assert not (tmp_path / "opsmon.db").exists()


@pytest.mark.parametrize("written, seconds", [
    ("30", 30.0), ("'30'", 30.0), ("'1.5'", 1.5), ("'30s'", 30.0), ("'5m'", 300.0), ("'1h30m'", 5400.0),
    ("'7d'", 604800.0), ("'2w'", 1209600.0), ("'500ms'", 0.5), ("' 1H '", 3600.0)])
def test_agent_toml_and_collector_yaml_take_one_duration_syntax(tmp_path: Path, written: str, seconds: float) -> None:
    """One grammar (opsmon.agent.durations) for both files: what one accepts, the other reads the same."""
    from opsmon.agent.config import load as load_agent_config

    agent = tmp_path / "agent.toml"
    agent.write_text(f'collector_url = "http://127.0.0.1:1"\ntoken = "opsmon_agent_x"\ninterval = {written}\n'
                     f"baseline = false\n")
    agent.chmod(0o600)
    assert load_agent_config(agent).interval == seconds
    collector = load_config(write_config(tmp_path, f"database:\n  path: o.db\nagents:\n  interval: {written}\n"))
    assert collector.agents.interval == seconds


@pytest.mark.parametrize("written", ["'soon'", "'30 s'", "'1x'", "'-5m'", "''"])
def test_both_files_refuse_what_is_not_a_duration(tmp_path: Path, written: str) -> None:
    from opsmon.agent.config import load as load_agent_config
    from opsmon.agent.errors import ConfigError as AgentConfigError

    agent = tmp_path / "agent.toml"
    agent.write_text(f'collector_url = "http://127.0.0.1:1"\ntoken = "opsmon_agent_x"\ninterval = {written}\n')
    agent.chmod(0o600)
    with pytest.raises(AgentConfigError) as e:
        load_agent_config(agent)
    assert e.value.key == "interval"
    with pytest.raises(ConfigError) as c:
        load_config(write_config(tmp_path, f"database:\n  path: o.db\nagents:\n  interval: {written}\n"))
    assert "agents.interval" in str(c.value)


def test_check_config_and_serve_list_every_problem_of_every_file(tmp_path: Path) -> None:
    """Issue 19, item 4: every problem of every file in one pass, one a line, each naming file, line, key and
    reason; `opsmon serve` refuses with the same list. Before: the first problem, then "(and 1 more problem)".

    By hand, file by file, line by line:
    - collector.yaml line 5 `prot` (unknown key under listen), line 7 `soon` (not a duration);
    - oncall.yaml line 7: the level's channel `wecom`, which collector.yaml has no notify.channels for;
    - assets.yaml line 4 criticality `extreme`; line 5, asset db (its item starts there) has no category;
      line 10, sw's snmp check names credential `nope`, not under snmp.credentials (checked although db and web
      are invalid: the valid assets of a file are still cross-checked);
    - more.yaml line 4 parent `nowhere`; line 5 the id `app` again.
    8 problems in 4 files. The on-call file comes before the inventory files: collector.yaml names it, and
    files are listed in the order their first problem was found."""
    write_config(tmp_path, "assets:\n  - id: web\n    category: server\n    criticality: extreme\n"
                           "  - id: db\n    site: hq\n  - id: sw\n    category: network\n    address: 127.0.0.1\n"
                           "    checks: [{type: snmp, credential: nope}]\n", "assets.yaml")
    write_config(tmp_path, "assets:\n  - id: app\n    category: server\n    parent: nowhere\n"
                           "  - id: app\n    category: server\n", "more.yaml")
    write_config(tmp_path, "people:\n  li: {name: Li Lei}\npolicies:\n  default:\n    levels:\n"
                           "      - notify: ['person:li']\n        channels: [wecom]\nroutes:\n  - policy: default\n",
                 "oncall.yaml")
    path = write_config(tmp_path, "timezone: Asia/Shanghai\ndatabase:\n  path: opsmon.db\nlisten:\n  prot: 8000\n"
                                  "scheduler:\n  default_interval: soon\n"
                                  "inventory:\n  files: [assets.yaml, more.yaml]\n"
                                  "incidents:\n  oncall_file: oncall.yaml\n")
    d = tmp_path
    expected = [
        "opsmon: config error: 8 problems in 4 files:",
        f"{path}:5: listen.prot: unknown key",
        f"{path}:7: scheduler.default_interval: 'soon' is not a duration; use forms like 30s, 5m, 1h30m, 7d",
        f"{d}/oncall.yaml:7: policies.default.levels[0].channels[0]: channel 'wecom' is not defined under "
        f"notify.channels in {path}",
        f"{d}/assets.yaml:4: assets[0].criticality: Input should be 'low', 'medium', 'high' or 'critical' "
        "(got 'extreme')",
        f"{d}/assets.yaml:5: assets[1].category: required key is missing",
        f"{d}/assets.yaml:10: assets[2].checks[0].credential: 'nope' is not defined under snmp.credentials "
        "(asset sw, check snmp)",
        f"{d}/more.yaml:4: assets[0].parent: parent 'nowhere' is not a known asset",
        f"{d}/more.yaml:5: assets[1].id: duplicate id 'app' (first at assets[0])",
    ]
    proc = run_cli("check-config", str(path))
    assert (proc.returncode, proc.stderr.splitlines(), proc.stdout) == (2, expected, ""), proc.stderr
    proc = run_cli("--config", str(path), "serve")
    assert (proc.returncode, proc.stderr.splitlines()) == (2, expected), proc.stderr
    assert not (tmp_path / "opsmon.db").exists()
SURVEY = GOOD + """notify:
  channels:
    mail: {type: email, host: 127.0.0.1, sender: opsmon@it.example.gov.cn}
    hook: {type: webhook, url: 'https://itsm.example.gov.cn/h', secret: s3cret-s3cret}
survey:
  channel: mail
  departments:
    law:
      name_zh: 执法局
      contacts:
        - {name: 张三, email: zhang@env.example.gov.cn}
"""


@pytest.mark.parametrize("edit, line, key, reason", [
    (("channel: mail", "channel: hook"), None, "(top level)", "survey.channel 'hook' must name an e-mail channel"),
    (("name_zh: 执法局", "name_zh: 执法局\n      head: 李四"), 14, "survey.departments.law.head", "unknown key"),
    (("zhang@env", "zhang at env"), 15, "survey.departments.law.contacts[0].email", "should match pattern"),
    (("- {name: 张三, email: zhang@env.example.gov.cn}",
      "- {name: 张三, email: zhang@env.example.gov.cn}\n        - {name: 张三, email: ZHANG@env.example.gov.cn}"),
     9, "survey", "listed twice under 'law'"),
    (("      contacts:\n        - {name: 张三, email: zhang@env.example.gov.cn}\n", "      contacts: []\n"), 14,
     "survey.departments.law.contacts", "at least 1 item"),
])
def test_survey_section_errors_name_file_line_and_key(tmp_path: Path, edit: tuple[str, str], line: int | None,
                                                      key: str, reason: str) -> None:
    """The survey's contacts are checked like every key of the file: file, line, key path and reason."""
    assert load_config(write_config(tmp_path, SURVEY)).survey.contacts()[0][0] == "law"
    path = write_config(tmp_path, SURVEY.replace(*edit))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    # Every problem is listed (issue 19 item 4): the one this edit makes is among them, with its line and key.
    found = [p for p in getattr(err.value, "problems", [err.value]) if p.keypath == key]
    assert found and reason in found[0].reason, str(err.value)
    assert str(found[0]).startswith(f"{path}:{line}:" if line else str(path))


def test_a_read_validates_only_the_sections_it_uses(tmp_path: Path) -> None:
    """config/basics.load_basics (what `status`, `incidents list` and `sla` read): a mistake in a section they use
    is the same ConfigError as load_config's, naming file, line, key and reason; a mistake elsewhere (snmp.timeout,
    line 5, and an unknown key under notify) is load_config's alone. The basics agree with the whole model on the
    same file: the zone, the language, the database URL (relative to the config's folder), the target table."""
    from opsmon.collector.config.basics import load_basics

    bad_zone = write_config(tmp_path, "timezone: Mars/Olympus\ndatabase:\n  path: opsmon.db\n", "zone.yaml")
    for load in (load_basics, load_config):
        with pytest.raises(ConfigError) as raised:
            load(bad_zone)
        assert str(raised.value).startswith(f"{bad_zone}:1: timezone: 'Mars/Olympus' is not an IANA time zone name")
    (tmp_path / "t.yaml").touch()  # load_config checks that the target table is there
    elsewhere = write_config(tmp_path, "lang: en\ntimezone: Asia/Shanghai\ndatabase:\n  path: opsmon.db\n"
                                       "snmp:\n  timeout: -1s\nnotify:\n  nonsense: 1\nsla:\n  targets_file: t.yaml\n",
                             "elsewhere.yaml")
    with pytest.raises(ConfigError) as raised:
        load_config(elsewhere)
    assert f"{elsewhere}:6: snmp.timeout: '-1s' is not a duration" in str(raised.value)
    basics = load_basics(elsewhere)
    whole = load_config(write_config(tmp_path, "lang: en\ntimezone: Asia/Shanghai\ndatabase:\n  path: opsmon.db\n"
                                               "sla:\n  targets_file: t.yaml\n", "whole.yaml"))
    assert (basics.timezone, basics.lang) == (whole.timezone, whole.lang) == ("Asia/Shanghai", "en")
    assert basics.database_url() == whole.database_url() == f"sqlite:///{tmp_path / 'opsmon.db'}"
    assert basics.targets_path() == whole.targets_path() == tmp_path / "t.yaml"
    # a target table named but absent: load_config's words from both, line 5 (main's load_basics left it to the
    # table's reader, "<table>: file not found", without the line or the key)
    no_table = write_config(tmp_path, "timezone: UTC\ndatabase:\n  path: opsmon.db\nsla:\n  targets_file: gone.yaml\n",
                            "no-table.yaml")
    for load in (load_basics, load_config):
        with pytest.raises(ConfigError) as raised:
            load(no_table)
        assert str(raised.value) == f"{no_table}:5: sla.targets_file: no such file: {tmp_path / 'gone.yaml'}"


def test_a_read_refuses_a_misspelt_section_as_the_whole_schema_does(tmp_path: Path) -> None:
    """A top-level key that is no section of collector.yaml (`timezon:` for `timezone:`, line 1) is not left
    unread by a read command's basics: ignored, its default (UTC) would stand in silently and every time printed
    would be in the wrong zone. load_basics says it in load_config's words, with every other problem of its own
    sections at once (lang on line 4); and SECTIONS is the whole schema's top level, key for key."""
    from opsmon.collector.config.basics import SECTIONS, load_basics
    from opsmon.collector.config.basics_oncall import OncallBasics
    from opsmon.collector.config.schema import CollectorConfig
    from opsmon.collector.core.errors import ConfigProblems

    assert frozenset(CollectorConfig.model_fields) == SECTIONS
    typo = write_config(tmp_path, "timezon: Asia/Shanghai\ndatabase:\n  path: opsmon.db\n", "typo.yaml")
    for load in (load_basics, load_config):
        with pytest.raises(ConfigError) as raised:
            load(typo)
        assert str(raised.value).startswith(f"{typo}:1: timezon: unknown key"), str(raised.value)
    both = write_config(tmp_path, "timezon: Asia/Shanghai\ndatabase:\n  path: opsmon.db\nlang: fr\n", "both.yaml")
    with pytest.raises(ConfigProblems) as raised:
        load_basics(both, OncallBasics)
    assert [(p.keypath, str(p).split(": ")[0]) for p in raised.value.problems] == [
        ("timezon", f"{both}:1"), ("lang", f"{both}:4")]


def test_every_loader_says_several_problems_in_one_wording(tmp_path: Path) -> None:
    """collector.yaml's sections, the on-call file and the work calendar name several problems behind one summary,
    '<n> problems in <file>' (core/errors.problems_error), each problem on its own line after it. The on-call
    file's said '<file>: <n> problems' before its loader used the shared one."""
    from opsmon.collector.config.oncall import load_oncall
    from opsmon.collector.core.errors import ConfigProblems

    bad = tmp_path / "oncall.yaml"
    bad.write_text("people: {}\nschedules: 3\n", encoding="utf-8")
    with pytest.raises(ConfigProblems) as caught:
        load_oncall(str(bad))
    n = len(caught.value.problems)
    assert n >= 2 and str(caught.value).splitlines()[0] == f"{n} problems in {bad}:"
