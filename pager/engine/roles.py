"""Incident roles: commander, comms, tech lead, scribe. Who holds each, and every change on the timeline.

A change is planned here (pure) and written under the incident's lock by the engine. The
API sets any role (`null` clears it); `own 1234` by SMS makes the sender commander;
acknowledging makes the acknowledger commander when there is none (that one is written by
the acknowledge itself, in its statement: pager/store/queries.sql `transition`).
"""

from __future__ import annotations

import typing

from pager import models, plan, timeline

LABELS = {"commander": "commander", "comms": "comms", "tech_lead": "tech lead", "scribe": "scribe"}

Names = typing.Callable[[str], str]
"""user id (or 'api') → how the timeline calls them"""


def message(role: str, user: str | None, was: str | None, by: str, via: str, name: Names) -> str:
    label = LABELS[role]
    who = f"by {name(by)} via {via}" if by != via else f"via {via}"  # a script acting as nobody: 'api'
    if user is None:
        return f"{label.capitalize()} cleared (was {name(was or '')}) {who}"
    if user == by:
        took = f"{name(user)} took {label}" if role != "commander" else f"{name(user)} took command"
        return took + (f" from {name(was)}" if was else "") + f" via {via}"
    return f"{name(user)} is {label}" + (f" in place of {name(was)}" if was else "") + f" (set {who})"


def change(
    incident: models.Incident, wanted: typing.Mapping[str, str | None], by: str, via: str, name: Names
) -> plan.Plan:
    """Set each role in `wanted` (None clears it); a role already so is left alone and not logged."""
    roles: list[tuple[int, str, str | None]] = []
    lines: list[plan.Line] = []
    for role in models.ROLES:
        if role not in wanted:
            continue
        user, was = wanted[role], incident.roles.get(role)
        if user == was:
            continue
        roles.append((incident.id, role, user))
        lines.append(
            plan.Line(
                incident.id,
                timeline.Kind.ROLE_CHANGED,
                message(role, user, was, by, via, name),
                actor=by,
                details={"role": role, "user": user, "was": was, "via": via},
            )
        )
    return plan.Plan(roles=tuple(roles), log=tuple(lines))
