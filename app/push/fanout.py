"""Fan-out into push: one `pending` delivery per recipient of an alert, from the caller's SELECT.

The caller (alerts) owns *who* gets an alert and builds that as a SELECT; push owns the delivery
rows. One `INSERT … SELECT` per alert, no Python loop over recipients. What every row shares
(template, data, link) stays on the alert row; severity and expiry are copied from the alert
(the relay's lanes and the claim's expiry read them without a join).

Measured on 1,000,000 recipients (docs/alerts-ingest.md "Fan-out speed"), the statement is
a plain INSERT into a table with one index (the id primary key) and no foreign key:
- no `(alert_id, openid)` unique index: its second B-tree insert per row was a fifth of the
  time. One row per (alert, fan) is kept here instead: fan-outs into one alert run one at a
  time under its row lock, and a replay (the alert has rows already) anti-joins its fans
  against them;
- no `ON CONFLICT DO NOTHING`: its speculative insertion doubled the per-row cost;
- no `ORDER BY`: with one index on a sequence, rows go in as the join yields them (a sort of
  a million openids only paid off while the `(alert_id, openid)` index existed).
Per-alert reads find the rows through the id range the alert records (`of_alert`).

An alert `create_alert` added in the caller's current (sub)transaction, with no deliveries yet
(the ingest API's and the tick rules' case), needs no row lock and is no replay: no other
transaction can see it (`remember_new_alert`). Any other alert takes the locked path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast
from weakref import WeakKeyDictionary

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value

from app.core.db import (
    BigIntPk,
    UtcDateTime,
    dialect_name,
    execute_hot,
    in_values,
    last_allocated_id_sql,
)
from app.push.errors import AlertNotFoundError, AlertWithoutTemplateError
from app.push.models import Alert, Delivery

DELIVERY = cast(Table, Delivery.__table__)
COLUMNS = ["alert_id", "openid", "severity", "next_attempt_at", "expires_at"]


# Alerts created in a (sub)transaction that no delivery was added for yet, per transaction
# object: a later transaction of the same session (or a rolled back savepoint) never matches.
_NEW_ALERTS: WeakKeyDictionary[SessionTransaction, set[int]] = WeakKeyDictionary()


def _current_transaction(session: AsyncSession) -> SessionTransaction | None:
    sync = session.sync_session
    return sync.get_nested_transaction() or sync.get_transaction()


def remember_new_alert(session: AsyncSession, alert_id: int) -> None:
    """`create_alert` just inserted this alert in the session's current transaction."""
    transaction = _current_transaction(session)
    if transaction is not None:
        _NEW_ALERTS.setdefault(transaction, set()).add(alert_id)


def forget_new_alert(session: AsyncSession, alert_id: int) -> bool:
    """The alert gets deliveries now; returns whether it was new and untouched until then."""
    transaction = _current_transaction(session)
    if transaction is None or alert_id not in _NEW_ALERTS.get(transaction, ()):
        return False
    _NEW_ALERTS[transaction].discard(alert_id)
    return True


ALERT = cast(Table, Alert.__table__)
_WIDEN_RANGE = "push.fanout.widen_range"


def of_alert(alert_id: int) -> ColumnElement[bool]:
    """The deliveries of one alert: the slice of the primary key its id range names (the
    range's bounds are scalar subqueries on the alert row), then its own rows in it."""
    first, last = (
        select(ALERT.c[name]).where(ALERT.c.id == alert_id).scalar_subquery()
        for name in ("first_delivery_id", "last_delivery_id")
    )
    return _in_range(alert_id, first, last)


def _of_locked_alert(alert: Alert) -> ColumnElement[bool]:
    """`of_alert` with the bounds of a row this transaction holds (no subqueries)."""
    return _in_range(alert.id, alert.first_delivery_id, alert.last_delivery_id)


def _in_range(alert_id: int, first: Any, last: Any) -> ColumnElement[bool]:
    return and_(DELIVERY.c.id.between(first, last), DELIVERY.c.alert_id == alert_id)


def first_new_delivery_id(session: AsyncSession) -> ColumnElement[int]:
    """SQL: a bound below every delivery id handed out after it is evaluated (the sequence's
    last value + 1)."""
    return last_allocated_id_sql(dialect_name(session), DELIVERY) + 1


def _widened(first: ColumnElement[Any], last: ColumnElement[Any]) -> dict[str, Any]:
    """SET values of an alert's id range widened to cover [first, last] (last NULL: only
    first)."""
    a = ALERT.c
    return {
        "first_delivery_id": case(
            (or_(a.first_delivery_id.is_(None), a.first_delivery_id > first), first),
            else_=a.first_delivery_id,
        ),
        "last_delivery_id": case(
            (or_(a.last_delivery_id.is_(None), a.last_delivery_id < last), last),
            else_=a.last_delivery_id,
        ),
    }


def _hold_range(alert: Alert, first: int, last: int) -> None:
    """A Core UPDATE changed the alert's range: tell the identity map's row what it holds."""
    set_committed_value(alert, "first_delivery_id", int(first))
    set_committed_value(alert, "last_delivery_id", int(last))


@dataclass(slots=True)
class _Target:
    """An alert about to get deliveries: its row, whether it has some already (a replay: skip
    the fans that have a row), and an id no new delivery's id will be below."""

    alert: Alert
    replay: bool
    first_new_id: int


class FanOutRepository:
    """SQL of the fan-out (its own module: `repository.py` holds the queue transitions).

    The only writer of delivery rows. Each insert runs after `open` and widens the range:
    - `open` locks the alert row (fan-outs into one alert run one at a time) and reads the
      delivery id sequence's last value L in the same statement: every id handed out after
      that read is above L. A new alert of this transaction is invisible to others and needs
      no lock, and `create_alert` read L as it inserted the row (`first_new_delivery_id`);
    - each insert then widens the alert's [first, last] id range to cover (L, the sequence's
      last value now], which holds every row it added.
    So each alert's rows lie in its range, and a replay's anti-join over that slice sees every
    committed row of the alert: that, with the lock, keeps one row per (alert, fan).
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.dialect = dialect_name(session)

    async def lock_alert(self, alert_id: int) -> tuple[Alert, int] | None:
        """The alert row, locked until commit, and the delivery ids' last value (one statement:
        the sequence can be read before the lock is granted, any read before the insert will
        do)."""
        stmt = (
            select(Alert, last_allocated_id_sql(self.dialect, DELIVERY))
            .where(Alert.id == alert_id)
            .with_for_update(key_share=True, of=Alert)
        )
        row = (await self.session.execute(stmt.execution_options(populate_existing=True))).first()
        return None if row is None else (row[0], int(row[1]))

    async def open(self, alert_id: int) -> _Target:
        new = forget_new_alert(self.session, alert_id)
        if new:  # the identity map holds the row `create_alert` added: `get` sends no query
            alert = await self.session.get(Alert, alert_id)
            if alert is None:
                raise AlertNotFoundError(alert_id)
            # `create_alert` set the range's low end as it inserted the alert: no read here.
            return _Target(alert, False, alert.first_delivery_id or 1)
        locked = await self.lock_alert(alert_id)
        if locked is None:
            raise AlertNotFoundError(alert_id)
        alert, last_id = locked
        return _Target(alert, alert.last_delivery_id is not None, last_id + 1)

    async def _widen(self, target: _Target, added: int) -> int:
        """Widen the alert's id range over the rows just added (none added: nothing to do);
        returns `added`. One small statement per insert: run compiled once (`execute_hot`)."""
        if not added:
            return 0
        values = {"alert_id": target.alert.id, "first": target.first_new_id}
        rows = await execute_hot(self.session, _WIDEN_RANGE, self._widen_range, values)
        first, last = tuple(rows[0])
        _hold_range(target.alert, first, last)
        return added

    def _widen_range(self) -> Any:
        return (
            update(ALERT)
            .where(ALERT.c.id == bindparam("alert_id", type_=BigIntPk))
            .values(
                _widened(
                    bindparam("first", type_=BigIntPk),
                    last_allocated_id_sql(self.dialect, DELIVERY),
                )
            )
            .returning(ALERT.c.first_delivery_id, ALERT.c.last_delivery_id)
        )

    async def insert_from(
        self, target: _Target, recipients: Select[Any], *, few: bool = False
    ) -> int:
        """INSERT … SELECT of the recipients, less the fans that have a row on a replay; the
        alert's range widened over them.

        `few` (PostgreSQL): one statement inserts and widens the range, `WITH added AS (INSERT
        … RETURNING id) UPDATE alert …`: a round trip less, and the producers' lock (taken by
        the INSERT, held to commit) is held one round trip shorter. Only for short lists: the
        RETURNING tuplestore costs 0.1-0.3 s per million rows, more than the round trip."""
        alert = target.alert
        picked = recipients.subquery("recipient")
        next_attempt = picked.c.get("next_attempt_at")
        rows = select(
            literal(alert.id, BigIntPk),
            picked.c.openid,
            literal(alert.severity, DELIVERY.c.severity.type),
            next_attempt if next_attempt is not None else literal(None, UtcDateTime()),
            literal(alert.expires_at, UtcDateTime()),
        )
        if target.replay:
            has_row = exists().where(_of_locked_alert(alert), DELIVERY.c.openid == picked.c.openid)
            rows = rows.where(~has_row)
        stmt = insert(DELIVERY).from_select(COLUMNS, rows)
        if few and self.dialect == "postgresql":
            added = stmt.returning(DELIVERY.c.id).cte("added")
            count = select(func.count()).select_from(added).scalar_subquery()
            top = select(func.max(added.c.id)).scalar_subquery()  # NULL: none added
            first = literal(target.first_new_id, BigIntPk)
            widen = (
                update(ALERT)
                .where(ALERT.c.id == alert.id)
                .values(_widened(first, top))
                .returning(count, ALERT.c.first_delivery_id, ALERT.c.last_delivery_id)
                .add_cte(added)
            )
            inserted, first_id, last_id = (await self.session.execute(widen)).one()
            if inserted:
                _hold_range(alert, first_id, last_id)
            return int(inserted)
        result = await self.session.execute(stmt)
        return await self._widen(target, int(getattr(result, "rowcount", 0)))

    async def insert_rows(self, target: _Target, rows: Sequence[dict[str, Any]]) -> int:
        """INSERT of listed rows (one per fan: the first wins), less the fans that have a row on
        a replay; the alert's range widened over them."""
        by_fan = {str(row["openid"]): row for row in reversed(rows)}
        if target.replay and by_fan:
            listed = in_values(self.session, DELIVERY.c.openid, list(by_fan))
            stmt = select(DELIVERY.c.openid).where(_of_locked_alert(target.alert), listed)
            for openid in (await self.session.scalars(stmt)).all():
                by_fan.pop(str(openid), None)
        fresh = [row for row in rows if by_fan.get(str(row["openid"])) is row]
        if fresh:
            await self.session.execute(insert(DELIVERY), fresh)
        return await self._widen(target, len(fresh))


async def insert_deliveries_from_select(
    session: AsyncSession, *, alert_id: int, recipients: Select[Any], few: bool = False
) -> int:
    """Insert one `pending` delivery per recipient of an alert; returns how many were added.

    `recipients` selects a column `openid` (each fan at most once; the fans' own tables make
    it unique) and optionally `next_attempt_at` (when to send, for fans in quiet hours; NULL or
    absent: now). The rows take the alert's template, data, link, severity and expiry, so the
    alert must have been created with its rendered template (`create_alert(template_id=…)`).
    One row per (alert, fan): fanning out again into the same alert adds only missing fans.
    `few`: the recipients are a short list (listed fans, one customer's): one statement fewer
    on PostgreSQL (`FanOutRepository.insert_from`). Flushes nothing else and never commits.
    """
    repo = FanOutRepository(session)
    target = await repo.open(alert_id)
    if target.alert.template_id is None or target.alert.data is None:
        raise AlertWithoutTemplateError(alert_id)
    return await repo.insert_from(target, recipients, few=few)


async def insert_delivery_rows(
    session: AsyncSession, *, alert_id: int, rows: Sequence[dict[str, Any]]
) -> int:
    """Insert listed `pending` deliveries of an alert (each row: `openid` and its own columns);
    returns how many were added. One row per (alert, fan), as `insert_deliveries_from_select`.
    """
    repo = FanOutRepository(session)
    target = await repo.open(alert_id)
    return await repo.insert_rows(target, [{**row, "alert_id": alert_id} for row in rows])
