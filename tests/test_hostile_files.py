"""Hostile files and values, end to end (issue 11): each ends in a usage error (exit 4), or in an
``ERROR: memguard:`` line with the old file intact, or in files written and readable back;
never an INTERNALERROR, a traceback or a hang."""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path

import pytest

FAST = "@pytest.mark.memguard(iterations=16, warmup=1)"

GUARDED = f"""
import pytest

{FAST}
def test_a():
    pass

{FAST}
def test_b():
    pass
"""

#: A label with a lone surrogate, as a decorator or a hand-made ``__qualname__`` can give.
SURROGATE_LABEL = """
def parse():
    pass

parse.__qualname__ = "parse\\udcff"

def test_label(memguard):
    memguard.run(parse, iterations=16, warmup=1)
"""

OLD = {
    "version": 1,
    "metadata": {"python": "3.11", "platform": "linux"},
    "tests": {"test_gone.py::test_old": {"growth_kb": 1.5, "types": []}},
}


def char_device(directory: Path) -> Path:
    """A character device to aim outputs at, which a regression may replace harmlessly.

    As root, a private node of /dev/null's kind in ``directory``: a plugin that wrongly
    replaced it must not replace the machine's own /dev/null.  Otherwise /dev/null itself,
    which only root could replace.
    """
    if os.geteuid() != 0:
        return Path(os.devnull)
    device = directory / "null-device"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    return device


def clean(result: pytest.RunResult) -> str:
    """All output, after checking it holds no INTERNALERROR and no traceback."""
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output
    assert "Traceback" not in output
    return output


def write_old(path: Path) -> str:
    text = json.dumps(OLD, indent=2) + "\n"
    path.write_text(text)
    return text


def keys(path: Path) -> list[str]:
    return list(json.loads(path.read_text(encoding="utf-8"))["tests"])


# --- lone surrogates ------------------------------------------------------------------------


def test_a_label_with_a_lone_surrogate_is_written_to_every_output(
    sub, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONIOENCODING", "utf-8")  # strict, unlike the C locale's stdout
    result = sub(
        "--memguard-report",
        "--memguard-json=r.json",
        "--memguard-html=r.html",
        "--memguard-save-baseline=b.json",
        test_s=SURROGATE_LABEL,
    )
    clean(result)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["test_s.py::test_label [[]run(parse\\udcff)[]]  PASSED  *"])
    report = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    assert [t["label"] for t in report["tests"]] == ["run(parse\udcff)"]
    assert "run(parse\\udcff)" in (pytester.path / "r.html").read_text(encoding="utf-8")
    assert keys(pytester.path / "b.json") == ["test_s.py::test_label [run(parse\udcff)]"]


def test_a_latin1_file_name_round_trips_through_the_baseline(
    run, pytester: pytest.Pytester
) -> None:
    name = os.fsencode(pytester.path) + b"/test_caf\xe9.py"
    with open(name, "wb") as handle:
        handle.write(GUARDED.encode())
    nodeid = "test_caf\udce9.py::test_a"
    saved = run(
        "--memguard-save-baseline=b.json", "--memguard-json=r.json", "--memguard-html=r.html"
    )
    clean(saved)
    saved.assert_outcomes(passed=2)
    assert keys(pytester.path / "b.json")[0] == nodeid
    assert json.loads((pytester.path / "r.json").read_text())["tests"][0]["nodeid"] == nodeid
    assert "test_caf\\udce9.py::test_a" in (pytester.path / "r.html").read_text()

    compared = run("--memguard-baseline=b.json", "--memguard-json=r.json", "--memguard-report")
    clean(compared)
    compared.assert_outcomes(passed=2)
    statuses = [
        t["baseline"]["status"] for t in json.loads((pytester.path / "r.json").read_text())["tests"]
    ]
    assert statuses == ["ok", "ok"]  # matched by node id, not "new"
    compared.stdout.fnmatch_lines(["2 guarded, 0 failed"])


def test_a_baseline_holding_lone_surrogates_is_compared_and_reported(
    run, pytester: pytest.Pytester
) -> None:
    (pytester.path / "b.json").write_text(
        '{"version": 1, "metadata": {"python": "3\\udcff", "platform": "lin\\udcffux",'
        ' "python_implementation": "Py\\ud800"}, "tests": {"t\\udcff": {"growth_kb": 1,'
        ' "types": [{"name": "st\\udcffr", "size_delta": 1, "count_delta": 1}]},'
        ' "test_g.py::test_a": {"growth_kb": 0}}}'
    )
    result = run(
        "--memguard-baseline=b.json",
        "--memguard-json=r.json",
        "--memguard-html=r.html",
        "--memguard-save-baseline=b.json",
        "--memguard-report",
        test_g=GUARDED,
    )
    clean(result)
    result.assert_outcomes(passed=2)
    report = json.loads((pytester.path / "r.json").read_text())
    assert "lin\udcffux" in report["tests"][0]["baseline"]["message"]
    assert "lin\\udcffux" in (pytester.path / "r.html").read_text()
    assert "t\udcff" in keys(pytester.path / "b.json")  # kept, and readable back


def test_xdist_workers_send_labels_with_lone_surrogates(sub, pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    result = sub("-n", "2", "--memguard-report", "--memguard-json=r.json", test_s=SURROGATE_LABEL)
    clean(result)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["1 guarded, 0 failed"])  # not "missing"
    assert json.loads((pytester.path / "r.json").read_text())["tests"][0]["label"] == (
        "run(parse\udcff)"
    )


# --- corrupt and hostile baselines ----------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            '{"version": 1, "tests": {"t": {"growth_kb": ' + "9" * 401 + "}}}",
            'tests?"t"?.growth_kb must be a finite number of KiB from -1,073,741,824 to*',
        ),
        ('{"version": 1, "tests": {"t": {"growth_kb": 1e400}}}', "*growth_kb must be a finite*"),
        ('{"version": 1, "tests": {"t": {"growth_kb": -1e300}}}', "*growth_kb must be a finite*"),
        ('{"version": 1, "tests": {"t": {"growth_kb": NaN}}}', "it is not JSON (NaN is not*"),
        ('{"version": 1, "tests": {"t": {"growth_kb": [1]}}}', "*growth_kb must be a finite*"),
        ('{"version": true, "tests": {}}', "it has format version true, this pytest-memguard*"),
        ('{"version": 1.0, "tests": {}}', "it has format version 1.0, this*"),
        (
            '{"version": {"a": {"b": 1}}, "tests": {}}',
            'it has format version {"a": {"b": 1}}, this*',
        ),
        (
            '{"version": 1, "tests": {"t": {"growth_kb": 1, "types": [{"name": "x",'
            ' "size_delta": ' + "9" * 30 + ', "count_delta": 1}]}}}',
            '*tests?"t"?.types?0? must be an object*(at most 64-bit)*',
        ),
        (
            '{"version": 1, "tests": {"t": {"growth_kb": 1, "types": [[{"name": 1}]]}}}',
            '*tests?"t"?.types?0? must be an object*',
        ),
        ('{"version": 1, "tests": {"t": {"growth_kb": 1, "types": "x"}}}', "*must be a list*"),
        ('{"version": 1, "metadata": "x", "tests": {}}', '"metadata" must be an object*'),
        ("\xff\xfe", "it is not JSON (not UTF-8 text at byte 0)*"),
    ],
    ids=[
        "401-digit-growth",
        "infinite-growth",
        "huge-negative-growth",
        "nan-growth",
        "list-growth",
        "version-true",
        "version-float",
        "version-nested",
        "huge-size-delta",
        "nested-type-junk",
        "types-string",
        "metadata-string",
        "not-utf8",
    ],
)
def test_corrupt_baselines_are_usage_errors(
    run, pytester: pytest.Pytester, content: str, problem: str
) -> None:
    (pytester.path / "b.json").write_bytes(content.encode("latin-1"))
    result = run("--memguard-baseline=b.json", test_g=GUARDED)
    clean(result)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: --memguard-baseline: memguard baseline *b.json: {problem}"]
    )


def test_baseline_metadata_junk_is_not_a_crash_and_not_echoed(
    run, pytester: pytest.Pytester
) -> None:
    junk = "x" * 5000
    (pytester.path / "b.json").write_text(
        json.dumps(
            {
                "version": 1,
                "metadata": {"python": junk, "platform": [[junk]], "python_implementation": 7},
                "tests": {"test_g.py::test_a": {"growth_kb": 0}},
            }
        )
    )
    result = run("--memguard-baseline=b.json", "--memguard-json=r.json", test_g=GUARDED)
    clean(result)
    result.assert_outcomes(passed=2)
    message = json.loads((pytester.path / "r.json").read_text())["tests"][0]["baseline"]["message"]
    assert "baseline: Python unknown, unknown platform" in message
    assert junk not in result.stdout.str()


@pytest.mark.parametrize("kind", ["fifo", "chardev", "directory", "loop"])
def test_a_baseline_path_that_is_not_a_regular_file_is_refused_without_hanging(
    sub, pytester: pytest.Pytester, kind: str
) -> None:
    path = pytester.path / "b.json"
    if kind == "fifo":
        os.mkfifo(path)  # open() for reading would block until a writer came
    elif kind == "chardev":
        path.symlink_to("/dev/zero")  # endless
    elif kind == "directory":
        path.mkdir()
    else:
        path.symlink_to(path)
    result = sub("--memguard-baseline=b.json", test_g=GUARDED)  # the fixture times out at 120 s
    clean(result)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    problem = {
        "fifo": "it is a FIFO (named pipe), not a regular file",
        "chardev": "it is a character device, not a regular file",
        "directory": "it is a directory, not a file",
        "loop": "it is a symbolic link that loops",
    }[kind]
    result.stderr.fnmatch_lines(
        [f"ERROR: --memguard-baseline: memguard baseline *b.json: {problem}*"]
    )


# --- numbers that overflow ------------------------------------------------------------------

LIMIT = "at most 1,073,741,824 (1 TiB)"


@pytest.mark.parametrize(
    ("where", "value"),
    [("cli", "1e308"), ("ini", "1e308"), ("cli", "9" * 401), ("ini", "inf")],
)
def test_an_overflowing_bound_from_the_cli_or_ini_is_a_usage_error(
    pytester: pytest.Pytester, where: str, value: str
) -> None:
    pytester.makepyfile(test_g=GUARDED)
    if where == "ini":
        pytester.makeini(f"[pytest]\nmemguard_max_growth_kb = {value}\n")
        result = pytester.runpytest("-p", "no:cacheprovider")
        source = "ini memguard_max_growth_kb"
    else:
        result = pytester.runpytest("-p", "no:cacheprovider", f"--memguard-max-growth-kb={value}")
        source = "--memguard-max-growth-kb"
    clean(result)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {source}: max_growth_kb=* is not valid; use *{LIMIT}*"])
    assert "9" * 100 not in result.stderr.str()  # the value is shown short


def test_overflowing_marker_and_fixture_values_fail_their_test_with_a_message(run) -> None:
    result = run(
        test_m="""
        import pytest

        @pytest.mark.memguard(max_growth_kb=1e308)
        def test_float():
            pass

        @pytest.mark.memguard(max_growth_kb=10**401)
        def test_int():
            pass

        @pytest.mark.memguard(iterations=10**5000)
        def test_iterations():
            pass

        def test_fixture(memguard):
            memguard.run(lambda: None, max_growth_kb=1e308)
        """
    )
    output = clean(result)
    result.assert_outcomes(errors=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            f"*@pytest.mark.memguard: max_growth_kb=1e+308 is not valid; use*{LIMIT}*",
            "*@pytest.mark.memguard: max_growth_kb=<an integer of about 402 digits> is not valid*",
            "*@pytest.mark.memguard: iterations=<an integer of about 5001 digits> is not valid*",
            f"*memguard.run(): max_growth_kb=1e+308 is not valid; use*{LIMIT}*",
        ]
    )
    assert "OverflowError" not in output


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("9" * 400 + "%", "the percentage is above 10,000% (100 times)"),
        ("1" + "0" * 30 + "MiB", "the size is above 1,073,741,824 KiB (1 TiB)"),
    ],
)
def test_an_overflowing_tolerance_is_a_usage_error(run, spec: str, problem: str) -> None:
    result = run(f"--memguard-tolerance={spec}", test_g=GUARDED)
    clean(result)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: --memguard-tolerance: invalid memguard tolerance *{problem}*"]
    )


# --- report paths ---------------------------------------------------------------------------

OUTPUTS = ["--memguard-json", "--memguard-html", "--memguard-save-baseline"]


@pytest.mark.parametrize("option", OUTPUTS)
@pytest.mark.parametrize("kind", ["devnull", "fifo", "socket", "link-to-devnull", "loop"])
def test_a_report_path_that_is_not_a_regular_file_is_a_usage_error(
    sub, pytester: pytest.Pytester, option: str, kind: str
) -> None:
    target = pytester.path / "out"
    if kind == "devnull":
        target = char_device(pytester.path)
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(target.name)  # relative (pytester's cwd): AF_UNIX paths max ~108 bytes
        server.close()
    elif kind == "link-to-devnull":
        target.symlink_to(char_device(pytester.path))
    else:
        target.symlink_to(target)
    before = os.lstat(target)
    result = sub(f"{option}={target}", test_g=GUARDED)
    clean(result)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    problem = {
        "devnull": "it is a character device, not a regular file",
        "fifo": "it is a FIFO (named pipe), not a regular file",
        "socket": "it is a socket, not a regular file",
        "link-to-devnull": "it is a character device, not a regular file",
        "loop": "it is a symbolic link that loops",
    }[kind]
    result.stderr.fnmatch_lines([f"ERROR: {option}: cannot write {target}: {problem}*"])
    after = os.lstat(target)
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)


def test_a_dangling_symlink_is_followed_and_the_link_kept(run, pytester: pytest.Pytester) -> None:
    (pytester.path / "out").mkdir()
    link = pytester.path / "r.json"
    link.symlink_to(pytester.path / "out" / "real.json")
    result = run("--memguard-json=r.json", test_g=GUARDED)
    clean(result)
    result.assert_outcomes(passed=2)
    assert link.is_symlink()
    assert len(json.loads((pytester.path / "out" / "real.json").read_text())["tests"]) == 2


def test_an_unwritable_directory_is_a_usage_error(
    run, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = pytester.path / "locked"
    locked.mkdir()
    real_access = os.access

    def access(path: object, mode: int, **kwargs: object) -> bool:  # root may write anywhere
        if Path(str(path)) == locked and mode & os.W_OK:
            return False
        return real_access(path, mode, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", access)
    result = run("--memguard-html=locked/r.html", test_g=GUARDED)
    clean(result)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --memguard-html: cannot write *r.html: the directory *locked is not writable*"]
    )


@pytest.mark.parametrize(
    ("args", "ini", "first", "second"),
    [
        (
            ["--memguard-json=b.json", "--memguard-baseline=b.json"],
            "",
            "--memguard-json",
            "--memguard-baseline",
        ),
        (["--memguard-json=r", "--memguard-html=./r"], "", "--memguard-json", "--memguard-html"),
        (
            ["--memguard-json=b.json", "--memguard-save-baseline=b.json"],
            "",
            "--memguard-json",
            "--memguard-save-baseline",
        ),
        (
            ["--memguard-html=b.json", "--memguard-baseline={abs}/b.json"],
            "",
            "--memguard-html",
            "--memguard-baseline",
        ),
        (
            ["--memguard-html=link.json", "--memguard-save-baseline=b.json"],
            "",
            "--memguard-html",
            "--memguard-save-baseline",
        ),
        (
            ["--memguard-html=hard.json", "--memguard-baseline=b.json"],
            "",
            "--memguard-html",
            "--memguard-baseline",
        ),
        (
            ["--memguard-html=b.json"],
            "memguard_baseline = b.json",
            "--memguard-html",
            "ini memguard_baseline",
        ),
        (
            ["--junitxml=b.json", "--memguard-save-baseline=b.json"],
            "",
            "--memguard-save-baseline",
            "--junitxml",
        ),
        (["--junitxml=r.xml", "--memguard-json=sub/../r.xml"], "", "--memguard-json", "--junitxml"),
    ],
    ids=[
        "json-baseline",
        "json-html",
        "json-save",
        "html-baseline-absolute",
        "symlink",
        "hard-link",
        "cli-and-ini",
        "junitxml-save",
        "junitxml-json",
    ],
)
def test_two_outputs_at_one_path_are_a_usage_error_and_nothing_is_written(
    run, pytester: pytest.Pytester, args: list[str], ini: str, first: str, second: str
) -> None:
    old = write_old(pytester.path / "b.json")
    (pytester.path / "link.json").symlink_to("b.json")
    os.link(pytester.path / "b.json", pytester.path / "hard.json")
    (pytester.path / "sub").mkdir()
    pytester.makepyfile(test_g=GUARDED)
    pytester.makeini(f"[pytest]\n{ini}\n")
    result = pytester.runpytest(
        "-p", "no:cacheprovider", *(a.format(abs=pytester.path) for a in args)
    )
    clean(result)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: {first} and {second} name the same file (*): writing one would destroy"
            " the other*"
        ]
    )
    assert (pytester.path / "b.json").read_text() == old


def test_comparing_and_saving_to_one_baseline_is_allowed(run, pytester: pytest.Pytester) -> None:
    write_old(pytester.path / "b.json")
    result = run("--memguard-baseline=b.json", "--memguard-save-baseline=b.json", test_g=GUARDED)
    clean(result)
    result.assert_outcomes(passed=2)
    assert keys(pytester.path / "b.json") == [
        "test_g.py::test_a",
        "test_g.py::test_b",
        "test_gone.py::test_old",
    ]


# --- saving never silently drops entries ----------------------------------------------------


@pytest.mark.parametrize(
    ("args", "ret"),
    [
        (["--memguard-disable"], pytest.ExitCode.OK),
        (["-k", "nothing_matches"], pytest.ExitCode.NO_TESTS_COLLECTED),
    ],
    ids=["disable", "k-matches-nothing"],
)
def test_a_run_that_measured_nothing_leaves_the_baseline_alone(
    run, pytester: pytest.Pytester, args: list[str], ret: pytest.ExitCode
) -> None:
    old = write_old(pytester.path / "b.json")
    result = run(*args, "--memguard-save-baseline=b.json", test_g=GUARDED)
    clean(result)
    assert result.ret == ret
    result.stdout.fnmatch_lines(
        [
            "memguard: --memguard-save-baseline: baseline not saved to *b.json: no guarded test"
            " was measured in this run*the previous file, if any, was left unchanged"
        ]
    )
    assert (pytester.path / "b.json").read_text() == old


def test_no_baseline_file_is_created_when_nothing_was_measured(
    run, pytester: pytest.Pytester
) -> None:
    result = run("--memguard-disable", "--memguard-save-baseline=b.json", test_g=GUARDED)
    clean(result)
    result.assert_outcomes(passed=2)
    assert not (pytester.path / "b.json").exists()


def test_a_subset_run_merges_and_says_what_it_kept(run, pytester: pytest.Pytester) -> None:
    write_old(pytester.path / "b.json")
    result = run("-k", "test_a", "--memguard-save-baseline=b.json", test_g=GUARDED)
    clean(result)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "memguard: kept 1 baseline entry for tests not measured in this run (*b.json*);"
            " delete the file and save again to drop them"
        ]
    )
    saved = json.loads((pytester.path / "b.json").read_text())
    assert list(saved["tests"]) == ["test_g.py::test_a", "test_gone.py::test_old"]
    assert saved["tests"]["test_gone.py::test_old"] == OLD["tests"]["test_gone.py::test_old"]


def test_a_crashed_xdist_worker_does_not_erase_its_tests_from_the_baseline(
    sub, pytester: pytest.Pytester
) -> None:
    pytest.importorskip("xdist")
    from test_xdist import CRASH

    base = pytester.path / "b.json"
    saved = sub(
        "--memguard-save-baseline=b.json",
        "-k",
        "not test_b_crash",
        test_crash=CRASH,
        test_g=GUARDED,
    )
    clean(saved)
    assert keys(base) == ["test_crash.py::test_a_guarded", "test_g.py::test_a", "test_g.py::test_b"]
    result = sub("-n", "2", "--dist", "loadfile", "--memguard-save-baseline=b.json")
    assert "INTERNALERROR" not in result.stdout.str()
    result.stdout.fnmatch_lines(
        ["memguard: kept 1 baseline entry for tests not measured in this run*"]
    )
    assert keys(base) == ["test_crash.py::test_a_guarded", "test_g.py::test_a", "test_g.py::test_b"]


@pytest.mark.parametrize(
    "content",
    ["{not json", '{"name": "my-package", "version": "1.0"}', '{"version": 2, "tests": {}}'],
)
def test_a_save_refuses_to_replace_a_file_it_cannot_merge(
    run, pytester: pytest.Pytester, content: str
) -> None:
    (pytester.path / "b.json").write_text(content)
    result = run("--memguard-save-baseline=b.json", test_g=GUARDED)
    clean(result)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: --memguard-save-baseline: memguard baseline *b.json:"
            " *move the file away or delete it*"
        ]
    )
    assert (pytester.path / "b.json").read_text() == content


def test_an_empty_file_becomes_a_new_baseline(run, pytester: pytest.Pytester) -> None:
    (pytester.path / "b.json").write_text("")
    result = run("--memguard-save-baseline=b.json", test_g=GUARDED)
    clean(result)
    result.assert_outcomes(passed=2)
    assert keys(pytester.path / "b.json") == ["test_g.py::test_a", "test_g.py::test_b"]


# --- failures at the end of the run ---------------------------------------------------------


@pytest.mark.parametrize("swap", ["fifo", "garbage"])
def test_a_baseline_swapped_during_the_run_is_an_error_line_and_stays(
    sub, pytester: pytest.Pytester, swap: str
) -> None:
    write_old(pytester.path / "b.json")
    action = "os.mkfifo('b.json')" if swap == "fifo" else "open('b.json', 'w').write('{oops')"
    result = sub(
        "--memguard-save-baseline=b.json",
        "--memguard-json=r.json",
        test_g=GUARDED,
        test_swap=f"import os\ndef test_swap():\n    os.remove('b.json')\n    {action}\n",
    )
    clean(result)
    result.assert_outcomes(passed=3)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["ERROR: memguard: --memguard-save-baseline: *b.json*"])
    assert (pytester.path / "r.json").exists()  # the other file was still written
    if swap == "garbage":
        assert (pytester.path / "b.json").read_text() == "{oops"
    else:
        assert not (pytester.path / "b.json").is_file()
