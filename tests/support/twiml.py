"""Reading TwiML the daemon answered, as Twilio reads it: what is said, what is gathered, where it goes."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET


@dataclasses.dataclass(frozen=True)
class Gather:
    action: str
    num_digits: str | None
    said: tuple[str, ...]


def parse(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == "Response", f"TwiML must be a <Response>, got <{root.tag}>"
    return root


def said(text: str) -> list[str]:
    """Every <Say> in document order, inside a <Gather> or not."""
    return [(e.text or "").strip() for e in parse(text).iter("Say")]


def gather(text: str) -> Gather | None:
    found = parse(text).find("Gather")
    if found is None:
        return None
    return Gather(
        found.get("action", ""), found.get("numDigits"), tuple((e.text or "").strip() for e in found.iter("Say"))
    )


def verbs(text: str) -> list[str]:
    return [e.tag for e in parse(text)]
