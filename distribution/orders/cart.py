"""A portal user's cart: granules gathered from searches before they are ordered together.

Kept in Ardis's database (``cart_items``), by Ardis user id in lower case, so it
outlives a login and needs no Airflow. What a user may no longer see (a granule
made proprietary since) stays in the table but is never shown or ordered.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from distribution.config import Settings
from distribution.errors import UserError
from distribution.inventory.catalog import GranuleSummary, SearchQuery, matching_ids, summaries, visible_granule
from distribution.models import CartItem

__all__ = ["CART_LIMIT", "add_granules", "add_search", "cart_contents", "cart_ids", "cart_size",
           "remove_granules"]

#: The most granules a cart holds (and so "add every result" adds at most).
CART_LIMIT = 1000


def _owner(user_id: str) -> str:
    return user_id.strip().lower()


def cart_ids(session: Session, user_id: str) -> list[int]:
    """The granule ids in the cart, in the order they were added."""
    return list(session.scalars(select(CartItem.granule_id).where(CartItem.user_id == _owner(user_id))
                                .order_by(CartItem.id)))


def _add(session: Session, user_id: str, ids: Iterable[int]) -> int:
    have = set(cart_ids(session, user_id))
    new = [i for i in dict.fromkeys(ids) if i not in have]
    if len(have) + len(new) > CART_LIMIT:
        raise UserError(f"a cart holds at most {CART_LIMIT} granules; it has {len(have)}: order or remove some first")
    session.add_all(CartItem(user_id=_owner(user_id), granule_id=i) for i in new)
    session.flush()
    return len(new)


def add_granules(session: Session, user_id: str, references: Iterable[str], groups: set[str] | None) -> int:
    """Add the granules named by URs (each one visible to ``groups``, NotFound otherwise); how many were new."""
    return _add(session, user_id, [visible_granule(session, ref, groups).id for ref in references])


def add_search(session: Session, user_id: str, query: SearchQuery, groups: set[str] | None) -> int:
    """Add every granule a search finds, up to what the cart still holds; how many were new."""
    room = CART_LIMIT - len(cart_ids(session, user_id))
    if room <= 0:
        raise UserError(f"the cart is full ({CART_LIMIT} granules)")
    return _add(session, user_id, matching_ids(session, query, groups, room))


def remove_granules(session: Session, user_id: str, references: Iterable[str] | None) -> int:
    """Take granules out of the cart by UR (None: empty it); how many went."""
    stmt = delete(CartItem).where(CartItem.user_id == _owner(user_id))
    if references is not None:
        ids = []
        for ref in references:
            try:
                ids.append(visible_granule(session, ref, None).id)
            except UserError:
                continue
        stmt = stmt.where(CartItem.granule_id.in_(ids))
    return session.execute(stmt).rowcount or 0  # type: ignore[attr-defined]


def cart_contents(session: Session, settings: Settings, user_id: str,
                  groups: set[str] | None) -> list[GranuleSummary]:
    """The granules in the cart that ``groups`` may see, in the order they were added."""
    return summaries(session, settings, cart_ids(session, user_id), groups)


def cart_size(session: Session, user_id: str) -> int:
    return session.scalar(select(func.count()).where(CartItem.user_id == _owner(user_id))) or 0
