# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""roles/airflow/files/wait_for_migrations.py: the head read from alembic version files,
the polling loop against a real (sqlite) alembic_version table, the fall-back to the Airflow
command, and the file run the way the init container runs it (`python -c <content> <timeout>`)."""

import ast
import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "airflow" / "files" / "wait_for_migrations.py"


def load():
    spec = importlib.util.spec_from_file_location("wait_for_migrations", str(SCRIPT))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


wfm = load()


def migration(directory, name, revision, down_revision):
    """An alembic version file the way Airflow writes them."""
    (directory / name).write_text(textwrap.dedent('''\
        """%s"""

        from __future__ import annotations

        import sqlalchemy as sa
        from alembic import op

        # revision identifiers, used by Alembic.
        revision = "%s"
        down_revision = %s
        branch_labels = None
        depends_on = None
        airflow_version = "3.0.0"


        def upgrade():
            """Apply %s."""
            op.add_column("dag", sa.Column("x", sa.String(10)))


        def downgrade():
            op.drop_column("dag", "x")
        ''') % (name, revision, down_revision, name))


@pytest.fixture
def versions(tmp_path):
    directory = tmp_path / "versions"
    directory.mkdir()
    (directory / "__init__.py").write_text("")
    return directory


def linear(versions):
    migration(versions, "0001_3_0_0_first.py", "aaaa00000001", "None")
    migration(versions, "0002_3_0_0_second.py", "bbbb00000002", '"aaaa00000001"')
    migration(versions, "0003_3_0_0_third.py", "cccc00000003", "'bbbb00000002'")


def test_the_head_of_a_linear_chain_is_its_last_revision(versions):
    linear(versions)
    assert wfm.migration_heads(str(versions)) == {"cccc00000003"}
    assert wfm.migration_head(str(versions)) == "cccc00000003"


def test_a_merge_revision_with_a_tuple_down_revision_is_the_single_head(versions):
    linear(versions)
    migration(versions, "0004_3_0_0_branch.py", "dddd00000004", '"bbbb00000002"')
    migration(versions, "0005_3_0_0_merge.py", "eeee00000005", '("cccc00000003", "dddd00000004")')
    assert wfm.migration_head(str(versions)) == "eeee00000005"


def test_two_heads_give_no_head(versions):
    linear(versions)
    migration(versions, "0004_3_0_0_branch.py", "dddd00000004", '"bbbb00000002"')
    assert wfm.migration_heads(str(versions)) == {"cccc00000003", "dddd00000004"}
    assert wfm.migration_head(str(versions)) is None


def test_an_empty_or_missing_directory_gives_no_head(versions, tmp_path):
    assert wfm.migration_heads(str(versions)) == set()
    assert wfm.migration_head(str(versions)) is None
    assert wfm.migration_head(str(tmp_path / "missing")) is None


def test_only_assignments_at_the_start_of_a_line_count(versions):
    """A revision named in a docstring or an indented line is not a revision of the file."""
    linear(versions)
    (versions / "0004_notes.py").write_text('"""Notes.\n\n    revision = "ffff00000009"\n"""\n'
                                            'x = 1  # down_revision = "cccc00000003"\n')
    assert wfm.migration_head(str(versions)) == "cccc00000003"


class Clock:
    """time.time and time.sleep for the loop: sleeping advances the clock, and may act."""
    def __init__(self, on_sleep=None):
        self.now, self.sleeps, self.on_sleep = 1000.0, [], on_sleep

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep:
            self.on_sleep(len(self.sleeps))


def test_the_loop_returns_at_once_when_the_schema_is_at_head():
    clock = Clock()
    assert wfm.wait_for_head("abc", lambda: {"abc"}, 600, clock.time, clock.sleep) is None
    assert clock.sleeps == []


def test_the_loop_polls_until_the_schema_reaches_head():
    answers = iter(["no answer (OperationalError)", set(), {"old"}, {"abc"}])
    clock = Clock()
    assert wfm.wait_for_head("abc", lambda: next(answers), 600, clock.time, clock.sleep) is None
    assert clock.sleeps == [2, 2, 2]


def test_the_loop_gives_up_after_the_timeout_naming_head_and_last_answer():
    clock = Clock()
    message = wfm.wait_for_head("abc", lambda: {"old"}, 10, clock.time, clock.sleep)
    assert message == "schema not at head abc after 10 s: {'old'}"
    assert clock.now > 1010 and len(clock.sleeps) == 6


def test_a_table_with_head_and_another_revision_is_not_at_head():
    clock = Clock()
    assert wfm.wait_for_head("abc", lambda: {"abc", "old"}, 4, clock.time, clock.sleep).startswith(
        "schema not at head abc")


@pytest.fixture
def fallback(monkeypatch):
    """Record calls of the Airflow command instead of running it."""
    calls = []

    def call(cmd):
        calls.append(cmd)
        return 7
    monkeypatch.setattr(wfm, "subprocess", SimpleNamespace(call=call))
    return calls


def test_two_heads_fall_back_to_the_airflow_command(versions, fallback):
    linear(versions)
    migration(versions, "0004_3_0_0_branch.py", "dddd00000004", '"bbbb00000002"')
    env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://u:p@db/airflow"}
    assert wfm.main(["600"], env, str(versions)) == 7
    assert fallback == [["airflow", "db", "check-migrations", "--migration-wait-timeout=600"]]


def test_no_migration_files_fall_back_to_the_airflow_command(versions, fallback):
    env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://u:p@db/airflow"}
    assert wfm.main(["30"], env, str(versions)) == 7
    assert fallback == [["airflow", "db", "check-migrations", "--migration-wait-timeout=30"]]


def test_no_database_url_falls_back_to_the_airflow_command(versions, fallback):
    linear(versions)
    assert wfm.main(["600"], {}, str(versions)) == 7
    assert wfm.main(["600"], {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": ""}, str(versions)) == 7
    assert len(fallback) == 2


# The loop against a real database: sqlite through SQLAlchemy, as in the pod (PostgreSQL there).
@pytest.fixture
def sa():
    return pytest.importorskip("sqlalchemy")


def database(sa, tmp_path, *revisions):
    """A sqlite database with an alembic_version table holding revisions; returns its URL."""
    url = "sqlite:///%s" % (tmp_path / "airflow.db")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
        for revision in revisions:
            conn.execute(sa.text("INSERT INTO alembic_version VALUES (:r)"), {"r": revision})
    engine.dispose()
    return url


def set_revision(sa, url, revision):
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    engine.dispose()


def test_the_reader_returns_the_revisions_of_the_table(sa, tmp_path):
    assert wfm.schema_reader(database(sa, tmp_path, "cccc00000003"))() == {"cccc00000003"}


def test_the_reader_reports_a_database_without_the_table_as_no_answer(sa, tmp_path):
    url = "sqlite:///%s" % (tmp_path / "empty.db")
    assert wfm.schema_reader(url)() == "no answer (OperationalError)"


def test_main_succeeds_when_the_database_is_at_head(sa, versions, tmp_path, fallback, capsys):
    linear(versions)
    env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database(sa, tmp_path, "cccc00000003")}
    assert wfm.main(["600"], env, str(versions)) == 0
    assert capsys.readouterr().out == "schema at head cccc00000003\n"
    assert fallback == []


def test_main_waits_while_the_migration_moves_the_table_to_head(sa, versions, tmp_path, monkeypatch, capsys):
    """Each poll reads the real table; after each read the migration advances it one revision."""
    linear(versions)
    url = database(sa, tmp_path, "aaaa00000001")
    seen, later = [], ["bbbb00000002", "cccc00000003"]
    real_reader = wfm.schema_reader

    def migrating_reader(reader_url):
        read = real_reader(reader_url)

        def poll():
            seen.append(read())
            if later:
                set_revision(sa, url, later.pop(0))
            return seen[-1]
        return poll
    monkeypatch.setattr(wfm, "schema_reader", migrating_reader)
    monkeypatch.setattr(wfm, "POLL_SECONDS", 0)
    assert wfm.main(["600"], {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url}, str(versions)) == 0
    assert seen == [{"aaaa00000001"}, {"bbbb00000002"}, {"cccc00000003"}]
    assert capsys.readouterr().out == "schema at head cccc00000003\n"


def test_main_fails_with_the_last_answer_when_the_schema_stays_behind(sa, versions, tmp_path, monkeypatch):
    linear(versions)
    env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database(sa, tmp_path, "bbbb00000002")}
    monkeypatch.setattr(wfm, "POLL_SECONDS", 0)
    assert wfm.main(["0"], env, str(versions)) == "schema not at head cccc00000003 after 0 s: {'bbbb00000002'}"


def test_main_fails_naming_the_error_while_the_database_cannot_be_read(sa, versions, tmp_path, monkeypatch):
    linear(versions)
    env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite:///%s" % (tmp_path / "empty.db")}
    monkeypatch.setattr(wfm, "POLL_SECONDS", 0)
    assert wfm.main(["0"], env, str(versions)) == \
        "schema not at head cccc00000003 after 0 s: no answer (OperationalError)"


def run_as_init_container(env, *args):
    """`python -c <file content> <args>`, as the manifest runs it (no __file__, no module name)."""
    return subprocess.run([sys.executable, "-c", SCRIPT.read_text()] + list(args), env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def fake_airflow(tmp_path):
    """A directory holding an `airflow` package with migration files, for PYTHONPATH."""
    root = tmp_path / "site"
    versions = root / "airflow" / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "airflow" / "__init__.py").write_text("raise RuntimeError('the script must not import airflow')\n")
    linear(versions)
    return root


def test_the_file_runs_as_a_c_string_and_exits_0_at_head(sa, tmp_path):
    root = fake_airflow(tmp_path)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root)] + sys.path),
               AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=database(sa, tmp_path, "cccc00000003"))
    run = run_as_init_container(env, "600")
    assert (run.returncode, run.stdout, run.stderr) == (0, "schema at head cccc00000003\n", "")


def test_the_file_run_as_a_c_string_exits_1_with_the_message_when_the_time_is_up(sa, tmp_path):
    root = fake_airflow(tmp_path)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root)] + sys.path),
               AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=database(sa, tmp_path, "aaaa00000001"))
    run = run_as_init_container(env, "0")
    assert run.returncode == 1
    assert run.stderr == "schema not at head cccc00000003 after 0 s: {'aaaa00000001'}\n"


def test_the_file_is_python_3_9_syntax():
    ast.parse(SCRIPT.read_text(), feature_version=(3, 9))


def test_the_database_wait_polls_every_second_until_the_database_answers():
    answers = iter(["no answer (OperationalError)", "no answer (OperationalError)", True])
    clock = Clock()
    assert wfm.wait_for_database(lambda: next(answers), 600, clock.time, clock.sleep) is None
    assert clock.sleeps == [1, 1]


def test_the_database_wait_gives_up_after_the_timeout_naming_the_last_answer():
    clock = Clock()
    message = wfm.wait_for_database(lambda: "no answer (OperationalError)", 5, clock.time, clock.sleep)
    assert message == "database not answering after 5 s: no answer (OperationalError)"


def test_the_database_mode_answers_on_a_real_database_without_a_schema(sa, tmp_path, capsys):
    url = "sqlite:///%s" % (tmp_path / "empty.db")
    assert wfm.main(["5", "database"], {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url}) == 0
    assert capsys.readouterr().out == "database answers\n"


def test_the_database_mode_without_a_url_does_not_wait(capsys):
    assert wfm.main(["5", "database"], {}) == 0
    assert "not waiting" in capsys.readouterr().out
