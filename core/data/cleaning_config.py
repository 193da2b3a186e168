"""The parameters of the cleaning rules (:class:`CleaningConfig`), checked when built, and the
defaults each file layout (:data:`core.data.ingest.presets.PRESETS`) brings."""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime
from typing import Any

from core.data.ingest.presets import PRESETS
from core.errors import CleaningError


def _as_datetime(value: datetime | date | str | None, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as error:
            raise CleaningError(
                f"{name}={value!r} is not a date; write it as YYYY-MM-DD or YYYY-MM-DD HH:MM:SS"
            ) from error
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    raise CleaningError(f"{name} must be a date, a datetime or an ISO string, not {value!r}")


def _as_threshold(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise CleaningError(f"{name} must be a whole number >= 0 (0 or None turns it off)")
    return int(value)


@dataclass(frozen=True)
class CleaningConfig:
    """Parameters of the cleaning rules; ``None``, ``False`` or ``0`` turns a rule (part) off.

    Parameters
    ----------
    drop_missing_ids : bool
        Drop rows with no user id, or no item id on an event other than ``search``.
    drop_duplicates : bool
        Drop repeats of the same (user, item, event, ts), keeping the first row loaded.
    duplicate_window_seconds : float
        When > 0, an event also goes when the previous event of the same user, item and type
        came at most this many seconds before it, so a burst of repeats collapses into its
        first event. 0 keeps exact duplicates only.
    drop_missing_ts : bool
        Drop rows with no timestamp. Skipped when no row has one (the source has no time
        column, as in plain user-sequence files).
    min_ts, max_ts : datetime or str, optional
        Allowed range of timestamps (inclusive); no fixed bound by default.
    auto_min_ts : bool
        Also derive a lower bound from the data: when the rows before a gap of more than a
        year (:data:`core.data.rules.MIN_TS_GAP_DAYS`) are fewer than the rows after it, they
        are placeholder dates (epoch zero, 1900-01-01) and go. A log of any era keeps its rows.
    drop_future : bool
        Drop timestamps later than the clock plus one day (logs are often in local time).
    drop_returns : bool
        Drop rows flagged ``is_return`` (returns and cancellations).
    drop_returned_purchases : bool
        Also drop a purchase when the same user returned the same item at or after it.
    max_events_per_minute : int, optional
        A user with more browsing events (any but purchases and ratings) than this in one
        minute of one session is a bot: all of its events go. Off for position-only logs.
    max_events_per_session : int, optional
        Same, for the browsing events of one user in one session.
    max_events_per_user_day : int, optional
        Same, for the browsing events of one user on one calendar day (off by default: a busy
        shopper can browse all day; off for position-only logs).
    buyer_purchase_share : float
        A user whose purchases make up at least this share of their events (ratings aside) is
        a buyer, never a bot, however busy (wholesale customers). 0 turns the exception off.
    keep_users : tuple of str
        Users the bot and k-core rules never remove.
    normalise_ids : bool
        Trim surrounding spaces and upper-case item ids, merging ids that differ only so
        (stock codes "85123A" and " 85123a"), in the events and the catalogue.
    drop_unknown_items : bool
        Drop item events whose item is not in the catalogue. Applied only when a catalogue
        file was loaded; see :func:`catalog_was_given`.
    min_user_interactions : int, optional
        k-core: a user needs this many distinct items among non-search events.
    min_item_interactions : int, optional
        k-core: an item needs this many distinct users among non-search events.

    Notes
    -----
    The defaults suit e-commerce logs and keep cold-start material: a user needs two distinct
    items (one cannot be both learnt from and evaluated), and items have no minimum, because
    items that are new or rarely seen are what the cold-start models are for. Use 5 and 5 for
    the usual research "5-core" protocol.
    """

    drop_missing_ids: bool = True
    drop_duplicates: bool = True
    duplicate_window_seconds: float = 0.0
    drop_missing_ts: bool = True
    min_ts: datetime | None = None
    max_ts: datetime | None = None
    auto_min_ts: bool = True
    drop_future: bool = True
    drop_returns: bool = True
    drop_returned_purchases: bool = False
    max_events_per_minute: int | None = 30
    max_events_per_session: int | None = 500
    max_events_per_user_day: int | None = None
    buyer_purchase_share: float = 0.5
    keep_users: tuple[str, ...] = ()
    drop_unknown_items: bool = True
    min_user_interactions: int | None = 2
    min_item_interactions: int | None = None
    normalise_ids: bool = False

    def __post_init__(self) -> None:
        for name in ("min_ts", "max_ts"):
            object.__setattr__(self, name, _as_datetime(getattr(self, name), name))
        if self.min_ts is not None and self.max_ts is not None and self.min_ts > self.max_ts:
            raise CleaningError(
                f"min_ts {self.min_ts} is after max_ts {self.max_ts}; swap them or clear one"
            )
        window = self.duplicate_window_seconds
        if (
            isinstance(window, bool)
            or not isinstance(window, numbers.Real)
            or not math.isfinite(window)
            or window < 0
        ):
            raise CleaningError("duplicate_window_seconds must be a number of seconds >= 0")
        object.__setattr__(self, "duplicate_window_seconds", float(window))
        share = self.buyer_purchase_share
        if isinstance(share, bool) or not isinstance(share, numbers.Real) or not 0 <= share <= 1:
            raise CleaningError("buyer_purchase_share must be a fraction between 0 and 1")
        object.__setattr__(self, "buyer_purchase_share", float(share))
        keep = self.keep_users
        if isinstance(keep, str) or not all(isinstance(user, str) for user in keep):
            raise CleaningError("keep_users must be a list of user ids (strings)")
        object.__setattr__(self, "keep_users", tuple(dict.fromkeys(keep)))
        for name in (
            "max_events_per_minute",
            "max_events_per_user_day",
            "max_events_per_session",
            "min_user_interactions",
            "min_item_interactions",
        ):
            object.__setattr__(self, name, _as_threshold(getattr(self, name), name))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters (dates as ISO strings)."""
        out = asdict(self)
        for name in ("min_ts", "max_ts"):
            if out[name] is not None:
                out[name] = out[name].isoformat()
        out["keep_users"] = list(self.keep_users)
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> CleaningConfig:
        """Inverse of :meth:`to_dict`; unknown keys are ignored, missing ones take defaults."""
        known = {f.name for f in fields(cls)}
        chosen = {key: value for key, value in values.items() if key in known}
        if "keep_users" in chosen:
            chosen["keep_users"] = tuple(chosen["keep_users"])
        return cls(**chosen)

    @classmethod
    def for_preset(cls, preset: str | None) -> CleaningConfig:
        """The defaults of a file layout (:data:`PRESETS`): e.g. ``invoice`` merges id
        spellings. An unknown or missing preset gets the plain defaults."""
        found = PRESETS.get(preset or "")
        return cls(**found.cleaning) if found is not None else cls()
