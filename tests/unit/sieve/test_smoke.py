from kastell.sieve import FileInto, Keep, Vacation

from .helpers import run


def test_filing_and_vacation() -> None:
    result = run(
        'require ["fileinto", "vacation"];\n'
        'if header :contains "subject" "test" { fileinto "Tests"; }\n'
        'vacation :days 1 "Away";\n'
    )
    assert result.errors == []
    assert isinstance(result.actions[0], FileInto) and result.actions[0].mailbox == "Tests"
    assert isinstance(result.actions[1], Vacation) and result.actions[1].suppressed is None


def test_empty_script_keeps() -> None:
    assert run("").actions == [Keep(implicit=True)]
