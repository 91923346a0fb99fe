from __future__ import annotations

import dataclasses
import typing

import pytest

from pager import models
from pager.notify import message, sms_text

TOKEN = "Xk3vQ9bN2mLp7RtY4wZc1A"  # 22 characters, like ack.new_token()
ACK = f"https://pager.example.com/a/{TOKEN}"
P0 = models.Priority.P0


def page(**changes: typing.Any) -> message.Message:
    base = message.Message(
        incident_id=1234,
        number=1234,
        priority=P0,
        service="checkout",
        summary="5xx above 5%",
        user_id="alice",
        user_name="Alice",
        channel="sms",
        address="+15551230001",
        ack_url=ACK,
    )
    return dataclasses.replace(base, **changes)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({}, f"[P0] checkout: 5xx above 5% #1234 ack: {ACK} or reply 1234", id="plain"),
        pytest.param(
            {"priority": models.Priority.P2, "number": 7, "service": "db"},
            f"[P2] db: 5xx above 5% #7 ack: {ACK} or reply 7",
            id="other-priority",
        ),
        pytest.param({"ack_url": None}, "[P0] checkout: 5xx above 5% #1234 reply 1234 to ack", id="no-link"),
        pytest.param(
            {"more": ((12, "disk full"), (13, "latency"), (14, "queue backlog"))},
            f"[P0] checkout: 5xx above 5% #1234 ack: {ACK} or reply 1234\n+3 more: #12 #13 #14",
            id="bundled",
        ),
        pytest.param(
            {"summary": "  5xx\tabove\n5%  "},
            f"[P0] checkout: 5xx above 5% #1234 ack: {ACK} or reply 1234",
            id="one-line",
        ),
        pytest.param(
            {"summary": "“checkout” – 5xx ≥ 5% … 🔥"},
            f'[P0] checkout: "checkout" - 5xx >= 5% ... #1234 ack: {ACK} or reply 1234',
            id="typography-folded",
        ),
        pytest.param(
            {"summary": "Zürich café: señal Ø"},
            f"[P0] checkout: Zürich café: señal Ø #1234 ack: {ACK} or reply 1234",
            id="gsm7-accents-kept",
        ),
        pytest.param(
            {"summary": "Kraków łódź naïve façade"},
            f"[P0] checkout: Krakow lodz naive facade #1234 ack: {ACK} or reply 1234",
            id="other-accents-dropped",
        ),
        pytest.param(
            {"summary": "Сервер упал"},
            f"[P0] checkout: ?????? ???? #1234 ack: {ACK} or reply 1234",
            id="unknown-script-marked",
        ),
        pytest.param({"summary": "🔥🔥"}, f"[P0] checkout: #1234 ack: {ACK} or reply 1234", id="nothing-left"),
    ],
)
def test_render(changes: dict[str, object], expected: str) -> None:
    text = sms_text.render(page(**changes))
    assert text == expected
    assert sms_text.is_gsm7(text)
    assert sms_text.segments(text) == 1


LONG = (
    "Checkout API p99 latency above 2s and 5xx ratio above 5% on every pod in eu-west-1"
    " since the 14:02 deploy of build 8812"
)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"summary": LONG}, id="long-summary"),
        pytest.param({"summary": LONG + " {json: [1, 2]} | ~x^€"}, id="extension-chars-count-double"),
        pytest.param({"summary": "“" * 200}, id="long-typography"),
        pytest.param({"summary": LONG, "more": tuple((n, "x") for n in range(100, 103))}, id="long-bundled"),
        pytest.param({"summary": LONG, "more": tuple((n, "x") for n in range(10000, 10040))}, id="many-bundled"),
        pytest.param({"summary": LONG, "number": 987654321}, id="big-number"),
    ],
)
def test_long_pages_stay_one_segment_with_link_intact(changes: dict[str, object]) -> None:
    msg = page(**changes)
    text = sms_text.render(msg)
    assert sms_text.is_gsm7(text)
    assert sms_text.length(text) <= 160
    assert sms_text.segments(text) == 1
    assert f" #{msg.number} ack: {ACK} or reply {msg.number}" in text
    assert "..." in text and "…" not in text
    if msg.more:
        assert f"\n+{len(msg.more)} more" in text
        assert f"#{msg.more[0][0]}" in text


def test_summary_keeps_its_room_before_bundled_numbers() -> None:
    text = sms_text.render(page(summary=LONG, more=tuple((n, "x") for n in range(10000, 10040))))
    assert text.startswith("[P0] checkout: Checkout API p99 latency ")
    assert text.endswith("\n+40 more: #10000 #10001 #10002 ...")


def test_summary_is_cut_not_the_link_when_nothing_fits() -> None:
    long_link = "https://pager.example.com/" + "p" * 120 + "/a/" + TOKEN
    text = sms_text.render(page(summary=LONG, ack_url=long_link))
    assert long_link in text
    assert text.startswith("[P0] checkout: Checkout API p99 latency")
    assert sms_text.segments(text) == 2


def test_link_outside_gsm7_keeps_summary_and_uses_unicode_ellipsis() -> None:
    link = "https://пейджер.example/a/" + TOKEN
    text = sms_text.render(page(summary="Сервер упал: " + LONG, ack_url=link))
    assert link in text
    assert "Сервер упал" in text
    assert "…" in text and "..." not in text


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters take two septets
        ("€" * 81, 2),
        ("é" * 160, 1),  # in GSM-7
        ("ç" * 70, 1),  # not in GSM-7: the whole text goes UCS-2
        ("ç" + "a" * 70, 2),
        ("😀" * 35, 1),  # a surrogate pair each
        ("😀" * 36, 2),
    ],
)
def test_segments(text: str, segments: int) -> None:
    assert sms_text.segments(text) == segments


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("plain ASCII [ok] {x} ~ | ^ \\", "plain ASCII [ok] {x} ~ | ^ \\"),
        ("it’s “quoted” — really…", 'it\'s "quoted" - really...'),
        ("a → b ≤ c × d", "a -> b <= c x d"),
        ("CPU 95°C, 3µs", "CPU 95C, 3us"),
        ("ﬁle Ｗ ²", "file W 2"),
        ("tab\there\r\nnew line\x00", "tab here new line"),
        ("£5 ¥ § ¿¡ ÆØÅ ΔΣΩ", "£5 ¥ § ¿¡ ÆØÅ ΔΣΩ"),
        ("日本 ok 🚀", "?? ok"),
    ],
)
def test_to_gsm7(raw: str, folded: str) -> None:
    assert sms_text.to_gsm7(raw) == folded
    assert sms_text.is_gsm7(folded)


def test_the_change_an_incident_followed_is_named_when_there_is_room():
    text = sms_text.render(page(after_change="deploy checkout v1.4.2"))
    assert text == f"[P0] checkout: 5xx above 5% (after deploy deploy checkout v1.4.2) #1234 ack: {ACK} or reply 1234"
    assert sms_text.segments(text) == 1


def test_a_long_change_is_shortened_and_never_costs_the_summary_its_minimum_or_a_segment():
    summary = "checkout p99 latency above 2 s for 10 minutes on every node of the eu-west cluster"
    text = sms_text.render(
        page(summary=summary, after_change="Build Success: Increase snapshot create timeout to 30 s")
    )
    assert sms_text.segments(text) == 1
    assert "(after deploy Build" in text and "...)" in text
    assert text.startswith("[P0] checkout: checkout p99 latency above... (")  # SUMMARY_MIN, ellipsis included


def test_no_room_for_the_change_leaves_it_out():
    summary = "x" * 200
    text = sms_text.render(page(summary=summary, after_change="v2", more=tuple((n, "s") for n in range(1, 9))))
    assert "after deploy" not in text and sms_text.segments(text) == 1


def test_a_short_dashboard_link_goes_whole_after_the_ack_link():
    text = sms_text.render(page(dashboard_url="https://g.example/d/abc"))
    assert text.endswith("or reply 1234 dash: https://g.example/d/abc")
    assert sms_text.segments(text) == 1


def test_a_dashboard_link_too_long_for_one_segment_is_left_to_the_ack_page():
    url = "https://play.grafana.org/d/ece9fb32-7f71-4be9-bd94-2f23608ae5b9?orgId=1"
    text = sms_text.render(page(dashboard_url=url))
    assert url not in text and ACK in text and sms_text.segments(text) == 1
