"""Date functions: utcNow, newGuid, dateTimeAdd, dateTimeFromEpoch, dateTimeToEpoch.

Expected values come from Microsoft's ARM reference (template-functions-date) where it gives
them, and from .NET's invariant-culture format strings otherwise.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from bicep_assets.armlocal.engine.context import DeploymentContext
from bicep_assets.armlocal.engine.errors import ExpressionError
from bicep_assets.armlocal.engine.evaluator import EvalContext, TemplateScope, evaluate_expression

# The clock of the documented utcNow example: 2019-03-05T17:53:18Z (a Tuesday).
NOW = datetime(2019, 3, 5, 17, 53, 18, 123456, tzinfo=timezone.utc)


def default_value_context(now: datetime = NOW) -> EvalContext:
    """A context evaluating a parameter's defaultValue, with a fixed deployment clock."""
    scope = TemplateScope(deployment=DeploymentContext(now=now))
    return EvalContext(scope, in_parameter_default=True)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("[utcNow()]", "20190305T175318Z"),
        ("[utcNow('d')]", "03/05/2019"),
        ("[utcNow('M d')]", "3 5"),
        ("[utcNow('u')]", "2019-03-05 17:53:18Z"),
        ("[utcNow('D')]", "Tuesday, 05 March 2019"),
        ("[utcNow('t')]", "17:53"),
        ("[utcNow('T')]", "17:53:18"),
        ("[utcNow('s')]", "2019-03-05T17:53:18"),
        ("[utcNow('o')]", "2019-03-05T17:53:18.1234560Z"),
        ("[utcNow('r')]", "Tue, 05 Mar 2019 17:53:18 GMT"),
        ("[utcNow('g')]", "03/05/2019 17:53"),
        ("[utcNow('G')]", "03/05/2019 17:53:18"),
        ("[utcNow('f')]", "Tuesday, 05 March 2019 17:53"),
        ("[utcNow('U')]", "Tuesday, 05 March 2019 17:53:18"),
        ("[utcNow('m')]", "March 05"),
        ("[utcNow('y')]", "2019 March"),
        ("[utcNow('')]", "03/05/2019 17:53:18"),
        ("[utcNow('yyyy')]", "2019"),
        ("[utcNow('yyyy-MM-ddTHH:mm:ssZ')]", "2019-03-05T17:53:18Z"),
        ("[utcNow('yyMMdd-HHmm')]", "190305-1753"),
        ("[utcNow('ddd, d MMM yyyy')]", "Tue, 5 Mar 2019"),
        ("[utcNow('hh:mm tt')]", "05:53 PM"),
        ("[utcNow('h t')]", "5 P"),
        ("[utcNow('%d')]", "5"),
        ("[utcNow('%M')]", "3"),
        ("[utcNow('ss.fff')]", "18.123"),
        ("[utcNow('ss.FFFF')]", "18.1234"),
        ("[utcNow('HH\\h')]", "17h"),
        ("[utcNow('''day'' d')]", "day 5"),
        ("[utcNow('yyyy-MM-dd zzz K')]", "2019-03-05 +00:00 Z"),
        ("[utcNow('g yyyy')]", "A.D. 2019"),
    ],
    ids=str,
)
def test_utc_now_formats_the_deployment_clock(expression: str, expected: str) -> None:
    assert evaluate_expression(expression, default_value_context()) == expected


def test_utc_now_f_fraction_drops_the_dot_when_it_prints_nothing() -> None:
    ctx = default_value_context(NOW.replace(microsecond=0))
    assert evaluate_expression("[utcNow('HH:mm:ss.FFF')]", ctx) == "17:53:18"
    assert evaluate_expression("[utcNow('HH:mm:ss.fff')]", ctx) == "17:53:18.000"


def test_utc_now_is_fixed_for_one_deployment() -> None:
    ctx = default_value_context()
    first = evaluate_expression("[utcNow('o')]", ctx)
    assert evaluate_expression("[utcNow('o')]", ctx) == first


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("[utcNow('Q')]", r"could not format .* 'Q' is not a standard date and time format"),
        ("[utcNow('ffffffff')]", r"'ffffffff' has more than 7 fraction digits"),
        ("[utcNow('''abc')]", r"unterminated quoted string"),
        ("[utcNow('yyyy\\')]", r"ends with an escape character"),
        ("[utcNow('yyyy%')]", r"'%' must be followed by a format specifier"),
        ("[utcNow(1)]", r"'utcNow' expects its parameter 1 to be a string.*'Integer'"),
        ("[utcNow('u', 'd')]", r"'utcNow' expects between 0 and 1 parameters, but 2 were"),
    ],
    ids=["unknown-standard", "too-many-f", "unterminated-quote", "trailing-escape",
         "trailing-percent", "not-a-string", "too-many-arguments"],
)  # fmt: skip
def test_utc_now_rejects_bad_formats(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        evaluate_expression(expression, default_value_context())


@pytest.mark.parametrize("function", ["utcNow", "newGuid"], ids=["utcNow", "newGuid"])
def test_only_allowed_in_a_parameter_default_value(function: str) -> None:
    scope = TemplateScope(deployment=DeploymentContext(now=NOW))
    with pytest.raises(
        ExpressionError,
        match=rf"The template function '{function}' is not expected at this location\. "
        r"The function can only be used with parameter default values\.",
    ):
        evaluate_expression(f"[{function}()]", EvalContext(scope))


def test_new_guid_returns_a_fresh_guid_per_call() -> None:
    ctx = default_value_context()
    first = evaluate_expression("[newGuid()]", ctx)
    second = evaluate_expression("[newGuid()]", ctx)
    pattern = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    assert re.fullmatch(pattern, first)
    assert re.fullmatch(pattern, second)
    assert first != second


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # Microsoft's remarks: a year is 365 days and a month 30 days, leap years or not
        ("[dateTimeAdd('2023-01-01 00:00:00Z', 'P1Y')]", "2024-01-01T00:00:00Z"),
        ("[dateTimeAdd('2024-01-01 00:00:00Z', 'P1Y')]", "2024-12-31T00:00:00Z"),
        ("[dateTimeAdd('2023-02-01 00:00:00Z', 'P1M')]", "2023-03-03T00:00:00Z"),
        ("[dateTimeAdd('2024-02-01 00:00:00Z', 'P1M')]", "2024-03-02T00:00:00Z"),
        # Microsoft's example with a base time of 2020-04-07 14:53:14Z
        ("[dateTimeAdd('2020-04-07 14:53:14Z', 'P3Y')]", "2023-04-07T14:53:14Z"),
        ("[dateTimeAdd('2020-04-07 14:53:14Z', '-P9D')]", "2020-03-29T14:53:14Z"),
        ("[dateTimeAdd('2020-04-07 14:53:14Z', 'PT1H')]", "2020-04-07T15:53:14Z"),
        # utcNow()'s default format as the base (Microsoft's epoch example does this)
        ("[dateTimeAdd('20200407T145314Z', 'PT1H')]", "2020-04-07T15:53:14Z"),
        ("[dateTimeAdd('2020-04-07', 'P1DT12H')]", "2020-04-08T12:00:00Z"),
        ("[dateTimeAdd('2020-04-07T14:53:14+02:00', 'PT0S')]", "2020-04-07T12:53:14Z"),
        ("[dateTimeAdd('2020-04-07T14:53:14', 'PT30M')]", "2020-04-07T15:23:14Z"),
        ("[dateTimeAdd('2020-04-07T14:53:14.5Z', 'PT1S')]", "2020-04-07T14:53:15.5Z"),
        ("[dateTimeAdd('2020-04-07T14:53:14Z', 'PT1.25S')]", "2020-04-07T14:53:15.25Z"),
        ("[dateTimeAdd('2020-04-07T14:53:14Z', 'P1W')]", "2020-04-14T14:53:14Z"),
        ("[dateTimeAdd('2020-04-07T14:53:14Z', '-P1Y2M')]", "2019-02-07T14:53:14Z"),
        ("[dateTimeAdd('2020-04-07 14:53:14Z', 'PT1H', 'u')]", "2020-04-07 15:53:14Z"),
        ("[dateTimeAdd('2020-04-07 14:53:14Z', 'P1D', 'yyyy-MM-dd')]", "2020-04-08"),
        ("[dateTimeAdd('2020-04-07 14:53:14Z', 'PT10H', 'yyyyMMdd_hhmmss')]",
         "20200408_125314"),
        ("[dateTimeAdd('04/07/2020 14:53:14', 'PT1M')]", "2020-04-07T14:54:14Z"),
    ],
    ids=str,
)  # fmt: skip
def test_date_time_add(expression: str, expected: str) -> None:
    assert evaluate_expression(expression) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("[dateTimeAdd('not a date', 'P1D')]",
         r"'dateTimeAdd' expects its parameter 1 to be a date/time in ISO 8601 format.*"
         r"'not a date' is not valid"),
        ("[dateTimeAdd('2020-02-30T00:00:00Z', 'P1D')]", r"'2020-02-30T00:00:00Z' is not valid"),
        ("[dateTimeAdd('2020-04-07T14:53:14Z', '1D')]",
         r"'dateTimeAdd' expects its parameter 2 to be a duration in ISO 8601 format.*"
         r"'1D' is not valid"),
        ("[dateTimeAdd('2020-04-07T14:53:14Z', 'PT')]", r"'PT' is not valid"),
        ("[dateTimeAdd('2020-04-07T14:53:14Z', 'P')]", r"'P' is not valid"),
        ("[dateTimeAdd('9999-12-31T00:00:00Z', 'P1D')]",
         r"cannot add 'P1D' to '9999-12-31T00:00:00Z': .* years 1 to 9999"),
        ("[dateTimeAdd(1, 'P1D')]", r"'dateTimeAdd' expects its parameter 1 to be a string"),
        ("[dateTimeAdd('2020-04-07T14:53:14Z', 1)]",
         r"'dateTimeAdd' expects its parameter 2 to be a string"),
        ("[dateTimeAdd('2020-04-07T14:53:14Z', 'P1D', 'Q')]",
         r"'dateTimeAdd' could not format .* 'Q'"),
        ("[dateTimeAdd('2020-04-07T14:53:14Z')]",
         r"'dateTimeAdd' expects between 2 and 3 parameters, but 1 was provided"),
    ],
    ids=["bad-base", "impossible-date", "bad-duration", "empty-time-part", "empty-duration",
         "overflow", "base-not-string", "duration-not-string", "bad-format", "one-argument"],
)  # fmt: skip
def test_date_time_add_errors(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        evaluate_expression(expression)


@pytest.mark.parametrize(
    ("epoch", "expected"),
    [
        (1683040573, "2023-05-02T15:16:13Z"),  # Microsoft's example
        (0, "1970-01-01T00:00:00Z"),
        (-1, "1969-12-31T23:59:59Z"),
        (253402300799, "9999-12-31T23:59:59Z"),
        (-62135596800, "0001-01-01T00:00:00Z"),
    ],
    ids=["documented", "epoch", "before-epoch", "max", "min"],
)
def test_date_time_from_epoch(epoch: int, expected: str) -> None:
    assert evaluate_expression(f"[dateTimeFromEpoch({epoch})]") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-05-02T15:16:13Z", 1683040573),  # Microsoft's example
        ("1970-01-01T00:00:00Z", 0),
        ("1970-01-01T00:00:00.9Z", 0),
        ("1969-12-31T23:59:59.5Z", -1),
        ("2023-05-02T17:16:13+02:00", 1683040573),
        ("20230502T151613Z", 1683040573),
        ("2023-05-02 15:16:13Z", 1683040573),
        ("9999-12-31T23:59:59.9999999Z", 253402300799),
    ],
    ids=["documented", "epoch", "fraction-rounds-down", "before-epoch-rounds-down",
         "offset", "basic-format", "u-format", "max"],
)  # fmt: skip
def test_date_time_to_epoch(text: str, expected: int) -> None:
    assert evaluate_expression(f"[dateTimeToEpoch('{text}')]") == expected


def test_epoch_round_trip() -> None:
    assert evaluate_expression("[dateTimeToEpoch(dateTimeFromEpoch(1683040573))]") == 1683040573


def test_date_time_to_epoch_of_date_time_add_of_utc_now() -> None:
    """Microsoft's example: dateTimeToEpoch(dateTimeAdd(utcNow(), 'P1Y')) in a default value."""
    ctx = default_value_context(datetime(2022, 5, 2, 15, 16, 13, tzinfo=timezone.utc))
    assert evaluate_expression("[dateTimeToEpoch(dateTimeAdd(utcNow(), 'P1Y'))]", ctx) == (
        1683040573
    )


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("[dateTimeFromEpoch('1683040573')]",
         r"'dateTimeFromEpoch' expects its parameter 1 to be an integer.*'String'"),
        ("[dateTimeFromEpoch(253402300800)]",
         r"cannot convert '253402300800': .* between -62135596800 and 253402300799"),
        ("[dateTimeToEpoch(1683040573)]",
         r"'dateTimeToEpoch' expects its parameter 1 to be a string.*'Integer'"),
        ("[dateTimeToEpoch('yesterday')]",
         r"'dateTimeToEpoch' expects its parameter 1 to be a date/time in ISO 8601 format"),
    ],
    ids=["from-string", "from-out-of-range", "to-integer", "to-not-a-date"],
)  # fmt: skip
def test_epoch_errors(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        evaluate_expression(expression)


def test_date_time_from_epoch_rejects_a_boolean() -> None:
    scope = TemplateScope(parameters={"flag": True})
    with pytest.raises(ExpressionError, match=r"to be an integer.*'Boolean'"):
        evaluate_expression("[dateTimeFromEpoch(parameters('flag'))]", EvalContext(scope))
